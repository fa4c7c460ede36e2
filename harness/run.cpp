// `rcbench run`: expands the strategy x workload x threads matrix, runs it
// through Google Benchmark, and writes Google Benchmark's JSON schema with
// rcbench's context added, after every benchmark, atomically.

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <set>
#include <sstream>

#include "harness/build_info.h"
#include "harness/commands.h"
#include "harness/environment.h"
#include "harness/gb_json.h"
#include "harness/matrix.h"
#include "harness/engine/measure.h"
#include "harness/results_file.h"
#include "harness/selection.h"
#include "harness/engine/stats.h"

namespace rcb {

namespace {

// Per-benchmark statistics over repetitions: median, spread, flags.
struct Summary {
  std::size_t repetitions = 0;
  double median_ms = 0, cv = 0, median_ns_per_item = 0, median_cycles_per_item = 0, median_items_per_second = 0;
  double worst_drift = 0;
  bool unstable = false, drifted = false;
};

double counter(const benchmark::BenchmarkReporter::Run& r, const char* name) {
  auto it = r.counters.find(name);
  return it == r.counters.end() ? 0.0 : it->second.value;
}

Summary summarise(const std::vector<benchmark::BenchmarkReporter::Run>& runs, const RunOptions& opt) {
  Summary s;
  std::vector<double> ms, ns, cyc, ips;
  for (const auto& r : runs) {
    if (r.run_type != benchmark::BenchmarkReporter::Run::RT_Iteration || r.error_occurred) continue;
    ms.push_back(r.GetAdjustedRealTime());
    ns.push_back(counter(r, "ns_per_item"));
    cyc.push_back(counter(r, "cycles_per_item"));
    ips.push_back(counter(r, "items_per_second"));
    const double before = counter(r, "ghz_before"), after = counter(r, "ghz_after");
    if (before > 0) s.worst_drift = std::max(s.worst_drift, std::abs(after / before - 1.0));
  }
  s.repetitions = ms.size();
  if (ms.empty()) return s;
  s.median_ms = median(ms);
  s.median_ns_per_item = median(ns);
  s.median_cycles_per_item = median(cyc);
  s.median_items_per_second = median(ips);
  double mean = 0;
  for (double x : ms) mean += x;
  mean /= static_cast<double>(ms.size());
  double var = 0;
  for (double x : ms) var += (x - mean) * (x - mean);
  if (ms.size() > 1) var /= static_cast<double>(ms.size() - 1);
  s.cv = mean > 0 ? std::sqrt(var) / mean : 0;
  s.unstable = ms.size() > 1 && s.cv > opt.cv_threshold;
  s.drifted = s.worst_drift > opt.drift_threshold;
  return s;
}

nlohmann::json to_json(const Summary& s, const RunOptions& opt) {
  nlohmann::json j{{"repetitions", s.repetitions},
                   {"median_ns_per_item", s.median_ns_per_item},
                   {"median_cycles_per_item", s.median_cycles_per_item},
                   {"median_items_per_second", s.median_items_per_second},
                   {"cv", s.cv},
                   {"unstable", s.unstable},
                   {"worst_frequency_drift", s.worst_drift},
                   {"frequency_drift", s.drifted}};
  if (s.unstable)
    j["advice"] = "coefficient of variation above " + std::to_string(opt.cv_threshold) +
                  ": rerun with more --repetitions (e.g. " + std::to_string(std::max(15, 3 * opt.repetitions)) +
                  ") or a longer --min-time, on a quieter machine";
  return j;
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// Reports every finished benchmark: one line on the terminal (with progress)
// and a rewrite of the results file holding everything finished so far.
class Reporter final : public benchmark::BenchmarkReporter {
 public:
  Reporter(Session& session, std::vector<Cell> cells, nlohmann::json context)
      : session_(session), context_(std::move(context)) {
    for (auto& c : cells) cells_.emplace(c.name, std::move(c));
  }

  bool ReportContext(const Context& ctx) override { return json_.context(ctx); }

  // Google Benchmark reports a benchmark's repetitions in one call and its
  // aggregates (mean, median, stddev, cv) in a second.
  void ReportRuns(const std::vector<Run>& runs) override {
    if (runs.empty()) return;
    const std::string name = strip_manual_time(runs.front().run_name.str());
    std::vector<Run> kept;
    for (const auto& r : runs)
      if (!(r.error_occurred && r.error_message == "interrupted")) kept.push_back(r);
    if (kept.empty()) return;  // interrupted before it finished: not a result
    json_.runs(kept);
    if (kept.front().run_type == Run::RT_Iteration) {
      ++done_;
      const Summary s = summarise(kept, session_.options());
      summaries_[name] = to_json(s, session_.options());
      print_line(name, kept, s);
    }
    write();
  }

  void Finalize() override { write(); }

  void write() {
    nlohmann::json j = snapshot();
    write_json_atomically(session_.options().out, j);
  }

  [[nodiscard]] std::size_t written() const { return summaries_.size(); }

 private:
  // Google Benchmark's JSON so far, closed, with names restored to the
  // <workload>/<strategy>/threads:<n> contract and rcbench's facts added.
  nlohmann::json snapshot() {
    nlohmann::json j = json_.document();
    j["context"]["rcbench"] = context_;
    j["context"]["rcbench"]["warnings"] = session_.warnings();
    j["context"]["rcbench"]["failures"] = session_.failures();
    for (auto& b : j["benchmarks"]) {
      const std::string run_name = strip_manual_time(b.value("run_name", b["name"].get<std::string>()));
      b["name"] = strip_manual_time(b["name"].get<std::string>());
      b["run_name"] = run_name;
      auto it = cells_.find(run_name);
      if (it == cells_.end()) continue;
      const Cell& c = it->second;
      // Google Benchmark ran one thread that drove our team; the team's size
      // is what the number means.
      b["threads"] = c.threads;
      nlohmann::json r{{"strategy", c.strategy},
                       {"workload", c.workload},
                       {"threads", c.threads},
                       {"size", std::string(to_string(session_.options().size))},
                       {"placement", session_.placement().describe()},
                       {"bound_cpus", c.cpus},
                       {"oversubscribed", c.oversubscribed}};
      if (auto s = summaries_.find(run_name); s != summaries_.end()) r["summary"] = s->second;
      if (b.value("run_type", "") == "iteration" && b.contains("repetition_index")) {
        const auto calls = session_.last_calls(run_name, static_cast<std::size_t>(session_.options().repetitions));
        const auto idx = b["repetition_index"].get<std::size_t>();
        if (idx < calls.size()) r["repetition"] = calls[idx];
      }
      b["rcbench"] = r;
    }
    return j;
  }

  void print_line(const std::string& name, const std::vector<Run>& runs, const Summary& s) {
    std::string line = "[" + std::to_string(done_) + "/" + std::to_string(cells_.size()) + "] ";
    std::string padded = name;
    padded.resize(std::max<std::size_t>(padded.size(), 40), ' ');
    line += padded;
    const bool failed = std::any_of(runs.begin(), runs.end(), [](const Run& r) { return r.error_occurred; });
    if (failed) {
      for (const auto& r : runs)
        if (r.error_occurred) {
          line += "FAILED: " + r.error_message;
          break;
        }
    } else {
      line += fmt("%9.2f ns/item", s.median_ns_per_item) + fmt("  %8.1f cyc/item", s.median_cycles_per_item) +
              fmt("  %9.3g items/s", s.median_items_per_second) + fmt("  cv %5.1f%%", 100 * s.cv);
      if (s.unstable) line += "  UNSTABLE";
      if (s.drifted) line += fmt("  DRIFT %.1f%%", 100 * s.worst_drift);
    }
    line += "   (" + session_.progress() + ")";
    session_.clear_status();
    std::cout << line << std::endl;
  }

  Session& session_;
  std::map<std::string, Cell> cells_;
  nlohmann::json context_;
  std::map<std::string, nlohmann::json> summaries_;
  GbJson json_;
  std::size_t done_ = 0;
};

}  // namespace

std::vector<std::string> strategy_names() {
  std::vector<std::string> v;
  []<class... Ss>(TypeList<Ss...>, std::vector<std::string>& out) {
    (out.emplace_back(Ss::info.name), ...);
  }(AllStrategies{}, v);
  return v;
}

std::vector<std::string> workload_names() {
  std::vector<std::string> v;
  for_each_workload_info([&](const WorkloadInfo& w) { v.emplace_back(w.name); });
  return v;
}

int cmd_run(const RunOptions& opt_in) {
  RunOptions opt = opt_in;
  Topology topo;
  const Placement placement = parse_placement(opt.placement);
  const auto strategies = resolve(opt.strategies, strategy_names(), "strategy");
  const auto workloads = resolve(opt.workloads, workload_names(), "workload");
  if (opt.repetitions < 1) throw UsageError("--repetitions must be at least 1");
  if (opt.min_time < 0) throw UsageError("--min-time must not be negative");
  if (opt.min_time == 0) opt.min_time = default_min_time(opt.size);

  const auto pus = static_cast<std::uint32_t>(topo.pu_count());
  if (opt.threads.empty()) {
    opt.threads = {1};
    if (pus > 1) opt.threads.push_back(pus);
  }
  std::uint32_t max_threads = 0;
  for (const auto t : opt.threads) {
    if (t == 0) throw UsageError("bad thread count 0 (valid: positive integers such as 1,2,4)");
    max_threads = std::max(max_threads, t);
  }
  const std::size_t places = placement.kind == Placement::Kind::list ? placement.cpus.size() : pus;
  if (placement.kind == Placement::Kind::list) {
    for (int c : placement.cpus)
      if (std::find(topo.allowed_pus().begin(), topo.allowed_pus().end(), c) == topo.allowed_pus().end())
        throw UsageError("--placement names CPU " + std::to_string(c) + ", which this process may not use (allowed: " +
                         topo.summary()["allowed_cpuset"].get<std::string>() + ")");
  }
  if (max_threads > places && !opt.oversubscribe)
    throw UsageError("--threads " + std::to_string(max_threads) + " exceeds the " + std::to_string(places) +
                     " CPU(s) available to the placement (allowed cpuset " +
                     topo.summary()["allowed_cpuset"].get<std::string>() +
                     "); pass --oversubscribe to run more threads than CPUs");

  // The cells, in registry order; combinations that cannot run are noted.
  std::vector<Cell> cells;
  std::vector<std::string> notes;
  std::vector<std::pair<std::string, std::function<void(benchmark::State&, const Cell&)>>> bodies;
  Session* session_ptr = nullptr;
  for_each_type(AllCombos{}, [&]<class C>() {
    using S = typename C::Strategy;
    const WorkloadInfo& wi = C::workload_info();
    if (!contains(strategies, S::info.name) || !contains(workloads, wi.name)) return;
    for (const auto t : opt.threads) {
      if (!S::info.multi_threaded && t > 1) {
        notes.push_back("skipped " + cell_name(wi.name, S::info.name, t) + ": " + std::string(S::info.name) +
                        " is single-threaded (it runs at 1 thread only)");
        continue;
      }
      if (const ThreadSupport ts = workload_supports<C::template Workload, S>(t); !ts.ok) {
        notes.push_back("skipped " + cell_name(wi.name, S::info.name, t) + ": " + std::string(ts.why));
        continue;
      }
      Cell c{cell_name(wi.name, S::info.name, t), std::string(S::info.name), std::string(wi.name), t,
             topo.assign(placement, t), t > places};
      bodies.emplace_back(c.name, [&session_ptr](benchmark::State& st, const Cell& cell) {
        measure<S, C::template Workload>(st, cell, *session_ptr);
      });
      cells.push_back(std::move(c));
    }
  });
  if (cells.empty()) throw UsageError("nothing to run: " + (notes.empty() ? std::string("empty selection") : join(notes, "; ")));

  if (const std::string err = check_writable(opt.out); !err.empty()) throw UsageError(err);

  // Frequency: take control where we may, and always give it back.
  std::set<int> used_cpus;
  for (const auto& c : cells) used_cpus.insert(c.cpus.begin(), c.cpus.end());
  FrequencyControl freq;
  freq.inspect({used_cpus.begin(), used_cpus.end()});
  if (opt.freq_control) freq.apply();

  Session session(topo, opt, placement);
  session_ptr = &session;
  for (const auto& n : notes) session.warn_once(n);

  nlohmann::json context = environment_json(topo, freq);
  context["schema"] = "rcbench/1";
  context["build"] = build_info();
  context["options"] = {{"strategies", strategies},
                        {"workloads", workloads},
                        {"threads", opt.threads},
                        {"size", std::string(to_string(opt.size))},
                        {"repetitions", opt.repetitions},
                        {"min_time_s", opt.min_time},
                        {"placement", placement.describe()},
                        {"oversubscribe", opt.oversubscribe},
                        {"interleaved_repetitions", opt.interleave},
                        {"drift_threshold", opt.drift_threshold},
                        {"cv_threshold", opt.cv_threshold}};
  context["formulas"] = {
      {"items_per_second", "iterations * threads * items_per_thread / sum(iteration seconds)"},
      {"ns_per_item", "sum(iteration seconds) / (iterations * items_per_thread): per-thread time per item"},
      {"cycles_per_item", "ns_per_item * mean(ghz_before, ghz_after)"},
      {"iteration_seconds", "first thread leaving the start barrier to last thread finishing"},
      {"speedup", "weak scaling: T1 * N / TN (CPython Tools/ftscalingbench)"},
      {"strategy_counters", "sums: total over all threads / (iterations * threads * items_per_thread); peaks: raw"}};
  // Which numbers on a benchmark are strategy counters, and how they were
  // aggregated, so readers need not guess; any other number that is not a
  // timing figure is one the workload measured itself (W::report()).
  nlohmann::json counters = nlohmann::json::object();
  for (const CounterInfo& ci : kCounterInfo)
    counters[std::string(ci.name)] = {{"unit", ci.aggregate == Aggregate::sum ? "per_item" : "peak"},
                                      {"meaning", std::string(ci.meaning)}};
  context["strategy_counters"] = counters;
  context["notes"] = notes;

  // Google Benchmark reads its own flags. Repetitions and min time go as
  // flags, not per-benchmark settings, which would add "/repeats:N" to the
  // names. Interleaving repetitions across benchmarks makes a slow drift hit
  // every strategy alike.
  std::vector<std::string> gb_args{
      "rcbench", "--benchmark_enable_random_interleaving=" + std::string(opt.interleave ? "true" : "false"),
      "--benchmark_repetitions=" + std::to_string(opt.repetitions),
      "--benchmark_min_time=" + std::to_string(opt.min_time)};
  std::vector<char*> gb_argv;
  for (auto& a : gb_args) gb_argv.push_back(a.data());
  gb_argv.push_back(nullptr);
  int gb_argc = static_cast<int>(gb_args.size());
  benchmark::Initialize(&gb_argc, gb_argv.data());

  std::map<std::string, const Cell*> by_name;
  for (const auto& c : cells) by_name[c.name] = &c;
  for (auto& [name, body] : bodies) {
    const Cell* cell = by_name.at(name);
    benchmark::RegisterBenchmark(name.c_str(), [cell, &body](benchmark::State& st) { body(st, *cell); })
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  }

  std::cout << "rcbench run: " << cells.size() << " benchmark(s), size " << to_string(opt.size) << ", "
            << opt.repetitions << " repetition(s) of >= " << opt.min_time << " s, placement "
            << placement.describe() << " -> " << opt.out << "\n";
  for (const auto& w : freq.warnings()) std::cout << "note: " << w << "\n";
  for (const auto& n : notes) std::cout << "note: " << n << "\n";
  if (auto load = load_average_1min(); load && *load > 0.5)
    std::cout << "warning: load average " << *load << ": other work on this machine will add noise\n";
  std::cout << std::flush;

  Session::catch_interrupts();

  session.start_progress(cells.size() * static_cast<std::size_t>(opt.repetitions));
  Reporter reporter(session, cells, context);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::ClearRegisteredBenchmarks();
  benchmark::Shutdown();
  session.clear_status();
  freq.restore();
  reporter.write();  // the frequency state now says "restored"

  Session::release_interrupts();

  for (const auto& w : session.warnings())
    if (!contains(notes, w)) std::cout << "warning: " << w << "\n";
  const auto failures = session.failures();
  for (const auto& f : failures) std::cerr << "rcbench: FAILED " << f << "\n";
  if (Session::interrupted()) {
    std::cerr << "rcbench: interrupted; " << reporter.written() << " finished benchmark(s) kept in " << opt.out << "\n";
    return kExitInterrupted;
  }
  std::cout << "wrote " << opt.out << " (" << reporter.written() << " benchmarks)\n";
  return failures.empty() ? kExitOk : kExitFailed;
}

}  // namespace rcb
