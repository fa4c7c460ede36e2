#include "harness/compare.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

#include "harness/commands.h"
#include "harness/selection.h"
#include "harness/engine/stats.h"

namespace rcb {

namespace {

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// Enough digits to see a 1% change at any magnitude.
std::string fmt_value(double v) {
  const double a = std::abs(v);
  if (a >= 1000) return fmt("%.0f", v);
  if (a >= 10) return fmt("%.2f", v);
  return fmt("%.3f", v);
}

double ns_per_unit(const std::string& unit) {
  if (unit == "ns") return 1;
  if (unit == "us") return 1e3;
  if (unit == "ms") return 1e6;
  if (unit == "s") return 1e9;
  return 0;
}

const char* per_item_counter(const std::string& metric) {
  return metric == "instructions" ? "instructions_per_item" : "ns_per_item";
}

// What a file measures, which both sides of a comparison, and every file of
// one side, must share.
struct Measure {
  std::string ResultsFile::*field;
  const char* suffix;  // after the value: "strong" + " scaling"
  const char* plural;
  const char* option;  // what to keep the same
};
constexpr Measure kMetric{&ResultsFile::metric, "", "metrics", "metric"};
constexpr Measure kScaling{&ResultsFile::scaling, " scaling", "scalings", "--scaling"};

void require_same(const Measure& m, const ResultsFile& base, const ResultsFile& next) {
  if (base.*m.field != next.*m.field)
    throw UsageError("BASE '" + base.path + "' measures " + base.*m.field + m.suffix + " but NEW '" + next.path +
                     "' measures " + next.*m.field + m.suffix + ": compare files of the same " + m.option);
}

void require_one(const Measure& m, const std::vector<ResultsFile>& files, const char* role) {
  for (const auto& f : files)
    if (f.*m.field != files.front().*m.field)
      throw UsageError(std::string(role) + " mixes " + m.plural + ": '" + files.front().path + "' measures " +
                       files.front().*m.field + m.suffix + ", '" + f.path + "' " + f.*m.field + m.suffix);
}

// Up to `most` names, then how many more: error messages stay one line.
std::string some(const std::vector<std::string>& names, std::size_t most = 5) {
  std::vector<std::string> head(names.begin(), names.begin() + static_cast<std::ptrdiff_t>(std::min(most, names.size())));
  std::string s = join(head);
  if (names.size() > most) s += " and " + std::to_string(names.size() - most) + " more";
  return s.empty() ? "none" : s;
}

// rcbench's names are <workload>/<strategy>/threads:<n>. Only a file rcbench
// wrote (context.rcbench) is read that way: in Google Benchmark's own files
// "BM_copy/64/threads:2" has no strategy or workload to name.
void fill_identity(BenchmarkSamples& b, const nlohmann::json& entry, bool rcbench_file) {
  if (const auto it = entry.find("rcbench"); it != entry.end() && it->is_object()) {
    b.strategy = it->value("strategy", "");
    b.workload = it->value("workload", "");
  }
  if (!b.strategy.empty() && !b.workload.empty()) return;
  if (!rcbench_file) {
    b.strategy.clear();
    b.workload.clear();
    return;
  }
  const auto a = b.name.find('/');
  const auto z = a == std::string::npos ? a : b.name.find('/', a + 1);
  if (z == std::string::npos || b.name.compare(z + 1, 8, "threads:") != 0 ||
      b.name.find('/', z + 1) != std::string::npos || a == 0 || z == a + 1) {
    b.strategy.clear();
    b.workload.clear();
    return;
  }
  b.workload = b.name.substr(0, a);
  b.strategy = b.name.substr(a + 1, z - a - 1);
}

bool is_number(const nlohmann::json& e, const char* key) {
  const auto it = e.find(key);
  return it != e.end() && it->is_number();
}

// The run's own 95% interval of the median ns_per_item: on the median
// aggregate, else in the entry's rcbench summary.
std::optional<Interval> interval_of(const nlohmann::json& e) {
  if (is_number(e, "ns_per_item_ci95_low") && is_number(e, "ns_per_item_ci95_high"))
    return Interval{e["ns_per_item_ci95_low"].get<double>(), e["ns_per_item_ci95_high"].get<double>()};
  using P = nlohmann::json::json_pointer;
  const P low("/rcbench/summary/ns_per_item_ci95_low"), high("/rcbench/summary/ns_per_item_ci95_high");
  if (e.contains(low) && e.contains(high) && e.at(low).is_number() && e.at(high).is_number())
    return Interval{e.at(low).get<double>(), e.at(high).get<double>()};
  return std::nullopt;
}

// Instructions per iteration of one repetition of an instruction-count file.
std::optional<double> instructions_per_iteration(const nlohmann::json& e) {
  if (is_number(e, "instructions_per_iteration")) return e["instructions_per_iteration"].get<double>();
  if (is_number(e, "instructions") && is_number(e, "iterations") && e["iterations"].get<double>() > 0)
    return e["instructions"].get<double>() / e["iterations"].get<double>();
  // Files written before the counters existed held the count in real_time,
  // with time_unit "s" so that nothing scaled it.
  if (e.value("time_unit", "") == "s" && is_number(e, "real_time")) return e["real_time"].get<double>();
  return std::nullopt;
}

// Opens a path that must be a readable regular file, or says why not.
std::string read_whole(const std::string& path, const std::string& who) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (st.type() == fs::file_type::not_found) throw UsageError(who + " does not exist");
  if (ec) throw UsageError(who + " cannot be read: " + ec.message());
  if (fs::is_directory(st))
    throw UsageError(who + " is a directory, not a results file (give the JSON file `rcbench run --out` wrote)");
  if (!fs::is_regular_file(st)) throw UsageError(who + " is not a regular file, so not a results file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError(who + " cannot be read: " + std::strerror(errno));
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) throw UsageError(who + " cannot be read: " + std::strerror(errno));
  return text;
}

}  // namespace

bool in_statistics(const nlohmann::json& e) {
  using P = nlohmann::json::json_pointer;
  static const P mark("/rcbench/repetition/in_statistics");
  return !(e.contains(mark) && e.at(mark).is_boolean() && !e.at(mark).get<bool>());
}

const char* to_string(Verdict v) {
  switch (v) {
    case Verdict::regression: return "regression";
    case Verdict::improvement: return "improvement";
    case Verdict::same: return "same";
    case Verdict::noise: return "noise";
    case Verdict::insufficient: return "insufficient data";
    case Verdict::failed: return "failed";
    case Verdict::base_failed: return "failed in BASE";
  }
  return "?";
}

ResultsFile load_results(const std::string& path, const char* role, const std::string& figure) {
  const std::string who = std::string(role) + " '" + path + "'";
  const std::string text = read_whole(path, who);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw UsageError(who + " is not a results file: not JSON (" + e.what() + ")");
  }
  return parse_results(j, path, role, figure);
}

ResultsFile parse_results(const nlohmann::json& j, const std::string& path, const char* role,
                          const std::string& figure) {
  const std::string who = std::string(role) + " '" + path + "'";
  if (!j.is_object() || !j.contains("benchmarks") || !j["benchmarks"].is_array())
    throw UsageError(who + " is not a results file: no \"benchmarks\" array (expected the JSON that `rcbench run` writes)");

  ResultsFile f;
  f.path = path;
  const nlohmann::json context = j.value("context", nlohmann::json::object());
  f.contexts = {context};
  f.metric = "time";
  const bool rcbench_file = context.contains("rcbench") && context["rcbench"].is_object();
  if (rcbench_file) f.metric = context["rcbench"].value("metric", "time");
  f.scaling = rcbench_file ? context["rcbench"].value("scaling", "weak") : "weak";
  const bool instructions = f.metric == "instructions";
  if (instructions && figure != "ns_per_item")
    throw UsageError(who + " counts instructions: --figure " + figure + " is for wall-time files");
  const bool own_interval = !instructions && figure != "ns_per_item";
  const std::string counter = instructions ? per_item_counter(f.metric) : figure;
  f.unit = instructions ? "instructions" : figure == "cycles_per_item" ? "cycles" : "ns";
  f.figure_required = own_interval;

  std::map<std::string, std::size_t> index;
  std::map<std::string, bool> all_have_counter;
  std::map<std::string, Interval> intervals;
  for (const auto& e : j["benchmarks"]) {
    if (!e.is_object() || !e.contains("name") || !e["name"].is_string()) continue;
    const std::string name = e.value("run_name", e["name"].get<std::string>());
    // Aggregates (mean, median, stddev, cv) are summaries, not samples; the
    // median's interval is the one thing taken from them.
    if (e.value("run_type", "iteration") != "iteration") {
      if (e.value("aggregate_name", "") == "median")
        if (const auto ci = interval_of(e)) intervals[name] = *ci;
      continue;
    }
    auto [it, fresh] = index.emplace(name, f.benchmarks.size());
    if (fresh) {
      f.benchmarks.push_back({});
      f.benchmarks.back().name = name;
      fill_identity(f.benchmarks.back(), e, rcbench_file);
      all_have_counter[name] = true;
      if (const auto ci = interval_of(e); ci && !intervals.count(name)) intervals[name] = *ci;
    }
    BenchmarkSamples& b = f.benchmarks[it->second];
    if (e.value("error_occurred", false)) {
      if (b.error.empty()) b.error = e.value("error_message", std::string("error"));
      continue;
    }
    // The samples compare reads are the ones the run's own statistics read:
    // a repetition the run left out (disturbed) is no sample here either.
    if (!in_statistics(e)) {
      ++b.left_out;
      continue;
    }
    double per_iteration = 0;
    if (instructions) {
      const auto n = instructions_per_iteration(e);
      if (!n)
        throw UsageError(who + ": benchmark '" + name +
                         "' has no instruction count (no instructions_per_iteration or instructions counter)");
      per_iteration = *n;
    } else {
      if (!is_number(e, "real_time"))
        throw UsageError(who + " is not a results file: benchmark '" + name + "' has no numeric real_time");
      const double scale = ns_per_unit(e.value("time_unit", "ns"));
      if (scale == 0)
        throw UsageError(who + ": benchmark '" + name + "' has unknown time_unit '" + e.value("time_unit", "") + "'");
      per_iteration = e["real_time"].get<double>() * scale;
    }
    b.per_iteration.push_back(per_iteration);
    ++b.repetitions;
    if (is_number(e, counter.c_str()))
      b.per_item.push_back(e[counter].get<double>());
    else
      all_have_counter[name] = false;
  }
  for (auto& b : f.benchmarks) {
    if (!all_have_counter[b.name]) b.per_item.clear();
    // The interval describes the median of the per-item counter; without
    // that counter it describes nothing compare judges. The file holds
    // ns_per_item's; another figure's is computed from its repetitions the
    // same way (harness/engine/stats.h).
    if (own_interval) {
      if (const auto ci = median_ci95(b.per_item)) b.ci95 = Interval{ci->low, ci->high};
    } else if (const auto it = intervals.find(b.name); it != intervals.end() && !b.per_item.empty() && !instructions) {
      b.ci95 = it->second;
    }
  }
  return f;
}

std::string Row::label() const {
  if (strategy.empty() || workload.empty()) return name;
  return "strategy " + strategy + ", workload " + workload + " (" + name + ")";
}

std::size_t Comparison::count(Verdict v) const {
  return static_cast<std::size_t>(std::count_if(rows.begin(), rows.end(), [v](const Row& r) { return r.verdict == v; }));
}

int Comparison::exit_status() const {
  return count(Verdict::regression) + count(Verdict::failed) > 0 ? kExitFailed : kExitOk;
}

namespace {

bool all_equal(const std::vector<double>& v) {
  return std::all_of(v.begin(), v.end(), [&](double x) { return x == v.front(); });
}

// (largest - smallest) / median: how far one side's counts vary.
double relative_range(const std::vector<double>& v) {
  const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  const double m = median(v);
  return m > 0 ? (*hi - *lo) / m : INFINITY;
}

// Instruction counts that repeat to within a quarter of the threshold on
// both sides: a few hundred instructions of a lock's retry or a hash
// probe's luck in a run of millions. A change past the threshold then
// cannot be that jitter, and one within it cannot hide a change past it
// by more than the jitter, so the medians decide without a rank test,
// which could not reach alpha on a gate's two and one repetitions.
constexpr double kRepeatableShare = 0.25;
bool nearly_repeatable(const std::vector<double>& v, double threshold) {
  return all_equal(v) || relative_range(v) <= kRepeatableShare * threshold;
}

SideCount count_of(const BenchmarkSamples& b, std::size_t samples) {
  return {samples, b.files, b.repetitions, b.left_out, b.per_run};
}

// "3 repetitions", or "2 runs (20 repetitions)" when each file counts once.
std::string describe(const SideCount& s) {
  if (!s.per_run) return std::to_string(s.samples) + (s.samples == 1 ? " repetition" : " repetitions");
  return std::to_string(s.samples) + (s.samples == 1 ? " run" : " runs") + " (" + std::to_string(s.repetitions) +
         " repetitions)";
}

std::string interval_text(const Interval& i) { return "[" + fmt_value(i.low) + ", " + fmt_value(i.high) + "]"; }

// What made a row's change real, in a few words.
std::string evidence(const Row& r) {
  std::string s = r.p ? "p = " + fmt("%.4f", *r.p) : r.test == "direct" ? "exact counts" : "";
  if (r.base_ci && r.new_ci && !r.base_ci->overlaps(*r.new_ci)) s += (s.empty() ? "" : ", ") + std::string("95% intervals disjoint");
  return s;
}

std::string intervals_text(const Row& r) {
  if (!r.base_ci || !r.new_ci) return "-";
  return interval_text(*r.base_ci) + "; " + interval_text(*r.new_ci);
}

Row judge(const BenchmarkSamples& a, const BenchmarkSamples& b, const std::string& metric, const std::string& unit,
          bool figure_required, double alpha, double threshold) {
  Row r;
  r.name = a.name;
  r.strategy = b.strategy.empty() ? a.strategy : b.strategy;
  r.workload = b.workload.empty() ? a.workload : b.workload;
  const bool per_item = !a.per_item.empty() && !b.per_item.empty();
  r.unit = (per_item ? unit : std::string(metric == "instructions" ? "instructions" : "ns")) +
           (per_item ? "/item" : "/iteration");
  r.base = per_item ? a.per_item : a.per_iteration;
  r.next = per_item ? b.per_item : b.per_iteration;
  r.base_count = count_of(a, r.base.size());
  r.new_count = count_of(b, r.next.size());
  if (per_item && a.ci95 && b.ci95) {
    r.base_ci = a.ci95;
    r.new_ci = b.ci95;
  }
  r.test = "none";

  if (!b.error.empty()) {
    r.verdict = Verdict::failed;
    r.why = "NEW's run reported: " + b.error;
    return r;
  }
  if (figure_required && !per_item && !a.per_iteration.empty() && !b.per_iteration.empty()) {
    r.verdict = Verdict::insufficient;
    r.why = std::string(a.per_item.empty() ? "BASE" : "NEW") + " lacks " + unit +
            "/item in some repetition (no canary calibration around it), and no other figure stands in for it";
    r.unit = unit + "/item";
    r.base.clear();  // nothing in this unit to show, and no sample count to advise on
    r.next.clear();
    return r;
  }
  if (r.base.empty()) {
    r.verdict = Verdict::base_failed;
    r.why = a.error.empty() ? "no repetitions in BASE" : "BASE's run reported: " + a.error;
    return r;
  }
  if (r.next.empty()) {
    r.verdict = Verdict::insufficient;
    r.why = "no repetitions in NEW";
    return r;
  }
  r.base_median = median(r.base);
  r.new_median = median(r.next);
  if (r.base_median <= 0) {
    r.verdict = Verdict::insufficient;
    r.why = "BASE's median is zero";
    return r;
  }
  r.change = r.new_median / r.base_median - 1;
  const bool beyond = std::abs(r.change) > threshold;
  const Verdict moved = r.change > 0 ? Verdict::regression : Verdict::improvement;

  if (metric == "instructions" && nearly_repeatable(r.base, threshold) && nearly_repeatable(r.next, threshold)) {
    // Repeatable counts: a difference is a difference, no test needed.
    r.test = "direct";
    if (!all_equal(r.base) || !all_equal(r.next))
      r.why = "counts vary by up to " + fmt("%.2g", 100 * std::max(relative_range(r.base), relative_range(r.next))) +
              "% within a side, under a quarter of the threshold";
    r.verdict = beyond ? moved : Verdict::same;
    return r;
  }
  const bool intervals = r.base_ci.has_value();
  const double floor = min_attainable_p(r.base.size(), r.next.size());
  const bool rank_possible = floor < alpha;
  if (!rank_possible && !intervals) {
    r.verdict = Verdict::insufficient;
    const bool runs = r.base_count.per_run || r.new_count.per_run;
    r.why = describe(r.base_count) + " vs " + describe(r.new_count) + ": the smallest p-value possible is " +
            fmt("%.3g", floor) +
            (runs ? "; each file counts once, so more repetitions per file cannot help: give more files per side"
                  : "");
    return r;
  }
  // Evidence that the change is real: every test that can speak must agree.
  // The rank test where the sample sizes let it reach alpha; the runs' own
  // 95% intervals of the median where both files carry them (disjoint
  // intervals: both cannot hold one common median).
  bool real = true;
  std::vector<std::string> against;
  if (rank_possible) {
    const RankTest t = mann_whitney(r.base, r.next);
    r.p = t.p;
    r.test = t.exact ? "exact" : "normal";
    if (!(t.p < alpha)) {
      real = false;
      against.push_back("p = " + fmt("%.3g", t.p) + " >= alpha " + fmt("%g", alpha));
    }
  } else {
    r.test = "intervals";
  }
  if (intervals && r.base_ci->overlaps(*r.new_ci)) {
    real = false;
    against.push_back("the 95% intervals overlap (BASE " + interval_text(*r.base_ci) + ", NEW " +
                      interval_text(*r.new_ci) + ")");
  }
  if (!beyond)
    r.verdict = Verdict::same;
  else if (real)
    r.verdict = moved;
  else {
    r.verdict = Verdict::noise;
    r.why = join(against, "; ");
  }
  return r;
}

// Context facts that make two runs' numbers incomparable if they differ.
void note_differences(const ResultsFile& a, const ResultsFile& b, std::vector<std::string>& notes) {
  const auto get = [](const nlohmann::json& ctx, const nlohmann::json::json_pointer& p) -> std::string {
    if (!ctx.contains(p)) return "";
    const auto& v = ctx.at(p);
    return v.is_string() ? v.get<std::string>() : v.dump();
  };
  using P = nlohmann::json::json_pointer;
  // Instruction counts follow the code (compiler, libraries, valgrind's
  // idea of the CPU), not the machine's speed, so the host only matters
  // for wall time.
  std::vector<std::pair<const char*, P>> facts{
      {"size", P("/rcbench/options/size")},
      {"compiler", P("/rcbench/build/compiler")},
      {"build type", P("/rcbench/build/build_type")},
      {"allocator", P("/rcbench/build/allocator")},
      {"allocator decommit", P("/rcbench/build/allocator_policy/allow_decommit")},
      {"strong-scaling units", P("/rcbench/strong_units")},
      {"counted iterations", P("/rcbench/options/iterations")},
      {"valgrind", P("/rcbench/valgrind")},
  };
  if (a.metric != "instructions") facts.emplace_back("host", P("/host_name"));
  const nlohmann::json none = nlohmann::json::object();
  const auto& ca = a.contexts.empty() ? none : a.contexts.front();
  const auto& cb = b.contexts.empty() ? none : b.contexts.front();
  for (const auto& [what, ptr] : facts) {
    const std::string x = get(ca, ptr), y = get(cb, ptr);
    if (x != y && !x.empty() && !y.empty())
      notes.push_back(std::string("BASE and NEW differ in ") + what + " (" + x + " vs " + y +
                      "): their numbers may differ for that reason alone");
  }
  if (a.metric == "instructions") return;
  // The same bar `rcbench run` warns at: other work competing for the CPUs.
  for (const auto* side : {&a, &b}) {
    std::string loads;
    for (const auto& ctx : side->contexts) {
      const P load("/rcbench/load_average_1min");
      if (ctx.contains(load) && ctx.at(load).is_number() && ctx.at(load).get<double>() > 0.5)
        loads += (loads.empty() ? "" : ", ") + fmt("%.2f", ctx.at(load).get<double>());
    }
    if (!loads.empty())
      notes.push_back(std::string(side == &a ? "BASE" : "NEW") + " started at load average " + loads +
                      ": other work was competing for the CPUs, so wall-time verdicts are less reliable");
  }
  // Time judged where no run could hold the clock still: say which figure
  // would have cancelled the clock (docs/measurement.md, section 4).
  const auto clock_free = [](const ResultsFile& f) {
    const P state("/rcbench/frequency_control/state");
    return !f.contexts.empty() && std::all_of(f.contexts.begin(), f.contexts.end(), [&](const nlohmann::json& ctx) {
      return ctx.contains(state) && ctx.at(state).is_string() &&
             (ctx.at(state) == "unavailable" || ctx.at(state) == "not-controlled");
    });
  };
  if (a.unit == "ns" && clock_free(a) && clock_free(b))
    notes.push_back("neither run could fix the CPU frequency (frequency_control), so a change in the machine's "
                    "clock between them moves ns per item: --figure cycles_per_item judges the figure the "
                    "calibrated clock cancels, which is what holds across runs on such a machine");
}

// Everything moving together, the untouched cells included, is more often
// the machine than the code: say so, without changing any verdict.
void note_shift(const Comparison& c, std::vector<std::string>& notes) {
  std::vector<double> changes;
  for (const auto& r : c.rows)
    if (!r.base.empty() && !r.next.empty() && r.base_median > 0) changes.push_back(r.change);
  if (changes.size() < 3) return;
  // Beyond the threshold everywhere: a real change in one strategy leaves
  // the others inside it.
  const double t = c.threshold;
  const bool all_up = std::all_of(changes.begin(), changes.end(), [t](double x) { return x > t; });
  const bool all_down = std::all_of(changes.begin(), changes.end(), [t](double x) { return x < -t; });
  const double typical = median(changes);
  if (all_up || all_down)
    notes.push_back("every benchmark moved the same way, beyond the threshold (median " + fmt("%+.1f%%", 100 * typical) +
                    "): that is more often the machine (load, frequency) than the code; rerun BASE and NEW "
                    "alternately and pool the files (see docs/regressions.md)");
}

}  // namespace

Comparison compare(const ResultsFile& base, const ResultsFile& next, const CompareOptions& opt) {
  require_same(kMetric, base, next);
  require_same(kScaling, base, next);
  Comparison c;
  c.base_path = base.path;
  c.new_path = next.path;
  c.metric = base.metric;
  c.alpha = opt.alpha;
  c.threshold = opt.threshold.value_or(base.metric == "instructions" ? kInstructionsThreshold : kTimeThreshold);

  std::map<std::string, const BenchmarkSamples*> in_new;
  for (const auto& b : next.benchmarks) in_new[b.name] = &b;
  std::map<std::string, bool> in_base;
  for (const auto& a : base.benchmarks) {
    in_base[a.name] = true;
    if (const auto it = in_new.find(a.name); it != in_new.end())
      c.rows.push_back(judge(a, *it->second, c.metric, base.unit, base.figure_required, c.alpha, c.threshold));
    else
      c.removed.push_back(a.name);
  }
  for (const auto& b : next.benchmarks)
    if (!in_base.count(b.name)) c.added.push_back(b.name);

  if (c.rows.empty()) {
    std::vector<std::string> a_names, b_names;
    for (const auto& a : base.benchmarks) a_names.push_back(a.name);
    for (const auto& b : next.benchmarks) b_names.push_back(b.name);
    throw UsageError("no benchmarks in common: BASE '" + base.path + "' has " + some(a_names) + "; NEW '" +
                     next.path + "' has " + some(b_names));
  }
  note_differences(base, next, c.notes);
  if (c.metric != "instructions") note_shift(c, c.notes);
  return c;
}

namespace {

std::string summary_line(const Comparison& c) {
  return std::to_string(c.rows.size()) + " compared: " + std::to_string(c.count(Verdict::regression)) +
         " regression(s), " + std::to_string(c.count(Verdict::improvement)) + " improvement(s), " +
         std::to_string(c.count(Verdict::same)) + " same, " + std::to_string(c.count(Verdict::noise)) + " noise, " +
         std::to_string(c.count(Verdict::insufficient)) + " insufficient data, " +
         std::to_string(c.count(Verdict::failed)) + " failed; " + std::to_string(c.added.size()) + " added, " +
         std::to_string(c.removed.size()) + " removed";
}

// The fewest samples per side at which the rank test can reach alpha.
std::size_t samples_needed(double alpha) {
  std::size_t n = 1;
  while (min_attainable_p(n, n) >= alpha && n < 1000) ++n;
  return n;
}

// Whether some row is insufficient for want of samples, not of its figure.
bool wants_more_samples(const Comparison& c) {
  return std::any_of(c.rows.begin(), c.rows.end(), [](const Row& r) {
    return r.verdict == Verdict::insufficient && !(r.base.empty() && r.next.empty());
  });
}

// What to do about rows with insufficient data, in the terms of what was
// given: repetitions of one run, or runs (files) pooled per side.
std::string insufficient_advice(const Comparison& c) {
  const std::size_t need = samples_needed(c.alpha);
  std::string s = "insufficient data never fails the comparison; at alpha " + fmt("%g", c.alpha) +
                  " a rank test needs at least " + std::to_string(need) + " samples per side";
  const Row* row = nullptr;
  for (const auto& r : c.rows)
    if (r.verdict == Verdict::insufficient && !r.base.empty() && !r.next.empty()) {
      row = &r;
      break;
    }
  if (!row) return s;
  const auto side = [&](const char* who, const SideCount& n) -> std::string {
    if (n.per_run)
      return std::string(who) + " had " + std::to_string(n.samples) + " file(s) (" + std::to_string(n.repetitions) +
             " repetitions, each file counting once by its median)" +
             (n.samples < need ? ": give it at least " + std::to_string(need) + " files, runs taken alternately" : "");
    return std::string(who) + " had " + std::to_string(n.samples) + " repetition(s)" +
           (n.samples < need ? ": run it with -r " + std::to_string(std::max<std::size_t>(need, 10)) : "");
  };
  return s + "; " + side("BASE", row->base_count) + "; " + side("NEW", row->new_count);
}

}  // namespace

std::string format_table(const Comparison& c) {
  std::ostringstream out;
  const bool instr = c.metric == "instructions";
  out << "rcbench compare: " << (instr ? "instructions (callgrind)" : "wall time") << ", median of repetitions; "
      << "regression = more than " << fmt("%.1f", 100 * c.threshold) << "% "
      << (instr ? "more instructions" : "slower")
      << (instr ? " (counts that repeat exactly are compared directly; others need " : " and ")
      << "Mann-Whitney p < " << fmt("%g", c.alpha) << (instr ? ")" : "") << "\n";
  if (!instr) {
    std::size_t left_out = 0;
    for (const auto& r : c.rows) left_out += r.base_count.left_out + r.new_count.left_out;
    out << "samples: the repetitions each run counted in its own statistics";
    if (left_out > 0) out << " (" << left_out << " disturbed repetition(s) left out)";
    out << "; each of the " << c.rows.size() << " benchmarks is tested on its own at p < " << fmt("%g", c.alpha)
        << ", with no correction for multiple comparisons\n";
  }
  out << "BASE " << c.base_path << "\nNEW  " << c.new_path << "\n\n";

  std::size_t w = 9;
  for (const auto& r : c.rows) w = std::max(w, r.name.size());
  // The intervals column only when some file carries intervals, so tables
  // of older files read as before.
  const bool any_ci = std::any_of(c.rows.begin(), c.rows.end(), [](const Row& r) { return r.base_ci.has_value(); });
  char line[1024];
  // The verdict is padded for the intervals column; no trailing blanks without it.
  const auto trimmed = [](std::string text) { return text.erase(text.find_last_not_of(' ') + 1) + "\n"; };
  std::snprintf(line, sizeof line, "%-*s  %12s  %12s  %-18s  %8s  %8s  %7s  %-17s%s", static_cast<int>(w), "benchmark",
                "base", "new", "unit", "change", "p", "n", "verdict", any_ci ? "  95% intervals (base; new)" : "");
  out << trimmed(line);
  for (const auto& r : c.rows) {
    const bool has_values = !r.base.empty() && !r.next.empty() && r.base_median > 0;
    const std::string p = r.p ? fmt("%.4f", *r.p) : (r.test == "direct" ? "exact" : "-");
    const std::string n = std::to_string(r.base.size()) + "/" + std::to_string(r.next.size());
    std::string verdict = to_string(r.verdict);
    if (r.verdict == Verdict::regression || r.verdict == Verdict::failed)
      std::transform(verdict.begin(), verdict.end(), verdict.begin(), [](unsigned char ch) { return std::toupper(ch); });
    const std::string cis = !any_ci ? "" : "  " + intervals_text(r);
    std::snprintf(line, sizeof line, "%-*s  %12s  %12s  %-18s  %8s  %8s  %7s  %-17s%s", static_cast<int>(w),
                  r.name.c_str(), r.base.empty() ? "-" : fmt_value(r.base_median).c_str(),
                  r.next.empty() ? "-" : fmt_value(r.new_median).c_str(), r.unit.c_str(),
                  has_values ? fmt("%+.1f%%", 100 * r.change).c_str() : "-", p.c_str(), n.c_str(), verdict.c_str(),
                  cis.c_str());
    out << trimmed(line);
  }
  for (const auto& name : c.added) out << "added (only in NEW, not judged):    " << name << "\n";
  for (const auto& name : c.removed) out << "removed (only in BASE, not judged): " << name << "\n";

  out << "\n";
  for (const auto& r : c.rows) {
    if (r.verdict == Verdict::regression)
      out << "REGRESSION: " << r.label() << ": "
          << fmt_value(r.base_median) << " -> " << fmt_value(r.new_median) << " " << r.unit << ", "
          << fmt("%+.1f%%", 100 * r.change) << ", " << evidence(r)
          << "\n";
    else if (r.verdict == Verdict::failed)
      out << "FAILED: " << r.name << ": " << r.why << "\n";
    else if (!r.why.empty())
      out << "note: " << r.name << ": " << to_string(r.verdict) << ": " << r.why << "\n";
  }
  if (wants_more_samples(c)) out << "note: " << insufficient_advice(c) << "\n";
  if (c.count(Verdict::noise) > 0)
    out << "note: noise = a change beyond the threshold that the rank test cannot tell from the spread; "
           "rerun with more runs of each side, taken alternately (see docs/regressions.md)\n";
  for (const auto& n : c.notes) out << "note: " << n << "\n";
  out << summary_line(c) << "\n";
  return out.str();
}

namespace {

nlohmann::json side_json(const std::vector<double>& values, double med, const SideCount& n,
                         const std::optional<Interval>& ci) {
  return {{"n", values.size()},
          {"samples_are", n.per_run ? "runs" : "repetitions"},
          {"files", n.files},
          {"repetitions", n.repetitions},
          {"left_out", n.left_out},
          {"median", med},
          {"ci95", ci ? nlohmann::json::array({ci->low, ci->high}) : nlohmann::json(nullptr)},
          {"values", values}};
}

// A table cell: pipes would end the cell, newlines the row.
std::string md_cell(std::string s) {
  std::string out;
  for (const char ch : s) {
    if (ch == '|')
      out += "\\|";
    else if (ch == '\n')
      out += ' ';
    else
      out += ch;
  }
  return out;
}


}  // namespace

std::string format_markdown(const Comparison& c) {
  std::ostringstream out;
  const bool instr = c.metric == "instructions";
  out << "| benchmark | base | new | change | 95% intervals (base; new) | verdict | why |\n"
      << "|---|---:|---:|---:|---|---|---|\n";
  for (const auto& r : c.rows) {
    const bool has_values = !r.base.empty() && !r.next.empty() && r.base_median > 0;
    std::string verdict = to_string(r.verdict);
    if (r.verdict == Verdict::regression || r.verdict == Verdict::failed) verdict = "**" + verdict + "**";
    const std::string why = r.why.empty() ? evidence(r) : r.why;
    const auto value = [&](bool present, double v) { return present ? fmt_value(v) + " " + r.unit : std::string("–"); };
    out << "| `" << md_cell(r.name) << "` | " << md_cell(value(!r.base.empty(), r.base_median)) << " | "
        << md_cell(value(!r.next.empty(), r.new_median)) << " | "
        << (has_values ? fmt("%+.1f%%", 100 * r.change) : std::string("–")) << " | "
        << md_cell(r.base_ci ? intervals_text(r) : std::string("–")) << " | " << verdict << " | "
        << md_cell(why.empty() ? "–" : why) << " |\n";
  }
  for (const auto& name : c.added) out << "| `" << md_cell(name) << "` | – | – | – | – | added | only in NEW, not judged |\n";
  for (const auto& name : c.removed)
    out << "| `" << md_cell(name) << "` | – | – | – | – | removed | only in BASE, not judged |\n";
  out << "\n**" << (c.exit_status() == kExitOk ? "PASS" : "FAIL") << "** (" << (instr ? "instructions" : "wall time")
      << ", threshold " << fmt("%g", 100 * c.threshold) << "%, alpha " << fmt("%g", c.alpha)
      << "): " << summary_line(c) << "\n";
  return out.str();
}

nlohmann::json to_json(const Comparison& c) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& r : c.rows) {
    nlohmann::json row{{"name", r.name},
                       {"strategy", r.strategy},
                       {"workload", r.workload},
                       {"unit", r.unit},
                       {"base", side_json(r.base, r.base_median, r.base_count, r.base_ci)},
                       {"new", side_json(r.next, r.new_median, r.new_count, r.new_ci)},
                       {"change", r.change},
                       {"p_value", r.p ? nlohmann::json(*r.p) : nlohmann::json(nullptr)},
                       {"test", r.test},
                       {"verdict", to_string(r.verdict)}};
    if (!r.why.empty()) row["why"] = r.why;
    rows.push_back(std::move(row));
  }
  nlohmann::json counts;
  for (const Verdict v : {Verdict::regression, Verdict::improvement, Verdict::same, Verdict::noise,
                          Verdict::insufficient, Verdict::failed, Verdict::base_failed})
    counts[to_string(v)] = c.count(v);
  return {{"schema", "rcbench-compare/1"},
          {"base", c.base_path},
          {"new", c.new_path},
          {"metric", c.metric},
          {"alpha", c.alpha},
          {"threshold", c.threshold},
          {"benchmarks", rows},
          {"added", c.added},
          {"removed", c.removed},
          {"counts", counts},
          {"notes", c.notes},
          {"exit_status", c.exit_status()}};
}

std::vector<ResultsFile> load_side(const std::string& paths, const char* role, const std::string& figure) {
  std::vector<ResultsFile> files;
  std::stringstream in(paths);
  for (std::string p; std::getline(in, p, ',');)
    if (!p.empty()) files.push_back(load_results(p, role, figure));
  if (files.empty()) throw UsageError(std::string(role) + ": no results file given");
  require_one(kMetric, files, role);
  require_one(kScaling, files, role);
  return files;
}

ResultsFile pool(const std::vector<ResultsFile>& files, bool one_value_per_file) {
  const auto collapse = [&](std::vector<double>& v) {
    if (one_value_per_file && !v.empty()) v = {median(v)};
  };
  ResultsFile side;
  side.metric = files.front().metric;
  side.scaling = files.front().scaling;
  side.unit = files.front().unit;
  side.figure_required = files.front().figure_required;
  std::map<std::string, std::size_t> index;
  for (const auto& f : files) {
    side.path += (side.path.empty() ? "" : ",") + f.path;
    side.contexts.insert(side.contexts.end(), f.contexts.begin(), f.contexts.end());
    for (BenchmarkSamples b : f.benchmarks) {
      collapse(b.per_item);
      collapse(b.per_iteration);
      b.per_run = one_value_per_file;
      auto [it, fresh] = index.emplace(b.name, side.benchmarks.size());
      if (fresh) {
        side.benchmarks.push_back(std::move(b));
        continue;
      }
      BenchmarkSamples& into = side.benchmarks[it->second];
      into.files += b.files;
      into.repetitions += b.repetitions;
      into.left_out += b.left_out;
      // One run's interval of its median says nothing about the median of
      // several runs' medians.
      into.ci95.reset();
      // The per-item counter serves only if every file had it.
      if (into.per_item.empty() || b.per_item.empty())
        into.per_item.clear();
      else
        into.per_item.insert(into.per_item.end(), b.per_item.begin(), b.per_item.end());
      into.per_iteration.insert(into.per_iteration.end(), b.per_iteration.begin(), b.per_iteration.end());
      if (into.error.empty()) into.error = b.error;
    }
  }
  return side;
}

int cmd_compare(const std::string& base_path, const std::string& new_path, const CompareOptions& opt) {
  if (!(opt.alpha > 0 && opt.alpha < 1)) throw UsageError("--alpha must lie between 0 and 1 (such as 0.05)");
  if (opt.threshold && !(*opt.threshold >= 0)) throw UsageError("--threshold must not be negative");
  if (opt.format != "console" && opt.format != "json" && opt.format != "md")
    throw UsageError("bad --format '" + opt.format + "' (valid: console, json, md)");
  if (opt.figure != "ns_per_item" && opt.figure != "cycles_per_item")
    throw UsageError("bad --figure '" + opt.figure + "' (valid: ns_per_item, cycles_per_item)");
  const std::vector<ResultsFile> base_files = load_side(base_path, "BASE", opt.figure),
                                 new_files = load_side(new_path, "NEW", opt.figure);
  // Several runs per side: the run is the unit (see compare.h).
  const bool per_run = base_files.size() > 1 || new_files.size() > 1;
  const ResultsFile base = pool(base_files, per_run);
  const ResultsFile next = pool(new_files, per_run);
  const Comparison c = compare(base, next, opt);
  if (opt.format == "json")
    std::printf("%s\n", to_json(c).dump(2).c_str());
  else if (opt.format == "md")
    std::fputs(format_markdown(c).c_str(), stdout);
  else
    std::fputs(format_table(c).c_str(), stdout);
  return c.exit_status();
}

}  // namespace rcb
