// `rcbench run`: expands a suite (harness/suites.h), or the named strategies
// and workloads, into cells at each thread count, estimates what they need
// (a --max-time below that is refused), and
// measures it in interleaved rounds until every benchmark's median is known
// to the asked precision or the time budget ends, then writes Google
// Benchmark's JSON schema with rcbench's context added (after every round,
// atomically, so a signal or a crash keeps what finished).
//
// The order of events, and why:
//   1. probe: the hardware floor, pinned as the run pins (engine/probe.h);
//   2. a counted pass per cell, just before its first repetition (so the
//      first figures come within seconds): S itself, untimed, for the
//      strategy counters and to size a repetition to --min-time
//      (engine/measure.h);
//   3. rounds: every unfinished cell runs one repetition of Uncounted<S>, in
//      a fresh random order each round, so slow drift of the machine hits
//      every strategy alike instead of biasing whichever ran last. A
//      disturbed repetition is kept in the file, marked, left out of the
//      statistics and made up for in a later round (within a bound). After
//      each round a cell with at least --repetitions clean samples stops
//      once its median's 95% interval (engine/stats.h) is within
//      +-precision.

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <random>
#include <regex>
#include <set>

#include "harness/build_info.h"
#include "harness/commands.h"
#include "harness/engine/frequency.h"
#include "harness/engine/probe.h"
#include "harness/engine/stats.h"
#include "harness/environment.h"
#include "harness/gb_json.h"
#include "harness/kernels.h"
#include "harness/cells.h"
#include "harness/results_file.h"
#include "harness/serve_child.h"
#include "harness/run_plan.h"
#include "harness/selection.h"
#include "harness/summary_format.h"

namespace rcb {

namespace {

using Clock = std::chrono::steady_clock;

// One repetition as it went into the file.
struct Sample {
  Repetition rep;
  Calibration before, after;
  std::vector<CpuSpeed> speeds;  // each CPU a multi-thread repetition used, after it (engine/disturbance.h)
  int planned_cpu = -1;  // a rotated 1-thread repetition's CPU, whether or not the binding held
  pid_t process_id = 0;  // the `_serve` child that ran it (--processes fresh); 0: this process
  bool counted = true;  // in the statistics (clean, or accepted past the rerun bound)

  // ns per item times the effective clock around the repetition; none where
  // either calibration was itself disturbed.
  [[nodiscard]] std::optional<double> cycles_per_item() const {
    if (before.disturbed || after.disturbed || before.ghz <= 0) return std::nullopt;
    return rep.ns_per_item() * 0.5 * (before.ghz + after.ghz);
  }
};

// Why a cell stopped short of its precision.
enum class Shortfall : std::uint8_t { none, budget, disturbed, bimodal };
const char* to_string(Shortfall s) {
  switch (s) {
    case Shortfall::budget: return "budget";
    case Shortfall::disturbed: return "disturbed";
    case Shortfall::bimodal: return "bimodal";
    case Shortfall::none: break;
  }
  return nullptr;
}

// Each CPU once, in the order first given.
[[nodiscard]] std::vector<int> distinct_cpus(const std::vector<int>& cpus) {
  std::vector<int> distinct;
  for (const int cpu : cpus)
    if (std::find(distinct.begin(), distinct.end(), cpu) == distinct.end()) distinct.push_back(cpu);
  return distinct;
}

struct CellRun {
  Cell cell;
  const CellKernels* kernels = nullptr;
  CountedPass counted;
  std::uint64_t iterations = 1;  // timed iterations per repetition
  std::vector<int> rotation;     // a 1-thread cell's CPUs, each repetition on the one with the fewest samples; empty: cell.cpus
  std::vector<Sample> samples;
  std::size_t clean = 0, disturbed = 0;
  bool done = false;
  std::string error;
  double repetition_wall = 0;  // seconds the last repetition took, calibrations and setup included

  [[nodiscard]] std::vector<double> ns_per_item() const {
    std::vector<double> v;
    for (const auto& s : samples)
      if (s.counted) v.push_back(s.rep.ns_per_item());
    return v;
  }
  // Only when every repetition in the statistics has the figure: a subset
  // would be another sample set.
  [[nodiscard]] std::vector<double> cycles_per_item() const {
    std::vector<double> v;
    for (const auto& s : samples) {
      if (!s.counted) continue;
      const auto cycles = s.cycles_per_item();
      if (!cycles) return {};
      v.push_back(*cycles);
    }
    return v;
  }
};

// A disturbed repetition is made up for at most this many times per cell
// (or --repetitions, if larger); after that disturbed samples count, and the
// cell says so.
constexpr std::size_t kMinRerunBound = 4;

struct Stats {
  std::size_t n = 0;
  double median_ns = 0, mean_ns = 0, stddev_ns = 0, cv = 0;
  std::optional<MedianInterval> ci;
  std::optional<MedianInterval> repeat;  // where a repeat run's median falls, for as many samples
  [[nodiscard]] double half_width() const {
    if (!ci || median_ns <= 0) return INFINITY;
    return std::max(median_ns - ci->low, ci->high - median_ns) / median_ns;
  }
};

// Mean, standard deviation and cv only: what the mean, stddev and cv
// aggregates of every counter need, without the order statistics.
Stats moments_of(const std::vector<double>& v) {
  Stats s;
  s.n = v.size();
  if (v.empty()) return s;
  for (double x : v) s.mean_ns += x;
  s.mean_ns /= static_cast<double>(v.size());
  for (double x : v) s.stddev_ns += (x - s.mean_ns) * (x - s.mean_ns);
  s.stddev_ns = v.size() > 1 ? std::sqrt(s.stddev_ns / static_cast<double>(v.size() - 1)) : 0;
  s.cv = s.mean_ns > 0 ? s.stddev_ns / s.mean_ns : 0;
  return s;
}

Stats stats_of(const std::vector<double>& v) {
  Stats s = moments_of(v);
  if (v.empty()) return s;
  s.median_ns = median(v);
  s.ci = median_ci95(v);
  s.repeat = repeat_median_pi95(v, v.size());
  return s;
}

std::string fmt_ns(double ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, ns < 10 ? "%.2f" : ns < 100 ? "%.1f" : "%.0f", ns);
  return buf;
}

class Runner {
 public:
  Runner(const RunOptions& opt, WorkShare share, const Topology& topo, const Placement& placement,
         std::vector<CellRun> cells, nlohmann::json context, const ResultsOutput& out)
      : opt_(opt), share_(share), topo_(topo), placement_(placement), cells_(std::move(cells)),
        context_(std::move(context)), out_(out), start_(Clock::now()), tty_(isatty(STDERR_FILENO) != 0) {
    if (opt_.one_thread_cpus == "rotate") one_thread_rotation();
  }

  int run() {
    auto deadline = start_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opt_.max_time));
    // 2 and 3: rounds; a cell's counted pass runs just before its first
    // repetition, so the first figures come seconds after the start instead
    // of after every cell's counted pass.
    std::mt19937_64 rng(seed_);
    for (std::size_t round = 1; !Interrupts::interrupted(); ++round) {
      std::vector<CellRun*> todo;
      for (auto& c : cells_)
        if (!c.done) todo.push_back(&c);
      if (todo.empty()) break;
      if (Clock::now() >= deadline) {
        budget_ran_out_ = true;
        break;
      }
      // --no-interleave: each cell runs to its end before the next starts
      // (one "round" per cell), which lets drift bias whole cells.
      if (opt_.interleave)
        std::shuffle(todo.begin(), todo.end(), rng);
      else
        todo.resize(1);
      if (opt_.interleave) fresh_child();
      for (CellRun* c : todo) {
        do {
          if (Interrupts::interrupted() || Clock::now() >= deadline) break;
          if (!counted_pass_done(*c)) break;
          status("round " + std::to_string(round) + ": " + c->cell.name);
          if (!opt_.interleave) fresh_child();
          one_repetition(*c);
          if (!opt_.interleave) judge(*c);
          checkpoint_every(std::chrono::seconds(5));
        } while (!opt_.interleave && !c->done);
      }
      for (CellRun* c : todo) judge(*c);
      rounds_ = round;
      if (round == 1 && opt_.interleave) deadline = replan(deadline);
      checkpoint();
    }
    clear_status();
    return Interrupts::interrupted() ? 128 + Interrupts::signal_number() : 0;
  }

  [[nodiscard]] nlohmann::json document() const;
  // After each round, and every few seconds within one: what finished so
  // far, atomically (nothing for a stream).
  void checkpoint() {
    out_.checkpoint(document());
    last_checkpoint_ = Clock::now();
  }
  [[nodiscard]] const std::vector<CellRun>& cells() const { return cells_; }
  [[nodiscard]] const std::vector<std::string>& failures() const { return failures_; }
  [[nodiscard]] const std::vector<std::string>& warnings() const { return warnings_; }
  [[nodiscard]] std::size_t rounds() const { return rounds_; }
  // The floor measured again at the end, against the start's.
  void probe_again(nlohmann::json end) {
    double plain_pair_moved = 0;
    if (context_.contains("probe")) {
      const double before = context_["probe"]["plain_pair_ns"].get<double>();
      const double after = end["plain_pair_ns"].get<double>();
      if (before > 0) plain_pair_moved = after / before - 1;
    }
    context_["probe_end"] = std::move(end);
    context_["probe_plain_pair_moved"] = plain_pair_moved;
    if (std::abs(plain_pair_moved) > 0.05)
      warn("the machine's plain incref+decref pair took " +
           std::to_string(static_cast<int>(std::lround(100 * std::abs(plain_pair_moved)))) +
           (plain_pair_moved > 0 ? "% longer" : "% less time") +
           " at the end of the run than at its start: something outside this VM's view (a busy "
           "neighbour on the same core) changed its speed; compare this run with others by its floor");
  }

 private:
  // The cell's counted pass (S itself, untimed): the strategy counters, and
  // how many iterations fill --min-time. Run once, before its first
  // repetition; false when it failed (the cell is then done, with the error).
  bool counted_pass_done(CellRun& c) {
    if (c.counted.iterations > 0) return true;
    if (!c.error.empty()) return false;
    status("counted pass " + c.cell.name);
    c.counted = c.kernels->counted(c.cell.threads, opt_.size, opt_.min_time, binder(c.cell), share_);
    if (!c.counted.error.empty()) {
      fail(c, c.counted.error);
      return false;
    }
    c.iterations = iterations_per_repetition(opt_.min_time, c.counted.seconds_per_iteration);
    return true;
  }

  void checkpoint_every(Clock::duration period) {
    if (Clock::now() - last_checkpoint_ >= period) checkpoint();
  }

  // A 1-thread cell pinned to the placement's first CPU measures that CPU
  // alone, while its N-thread cells run on whatever state the others are in:
  // on these VMs one vCPU ran a lone process 1.5x slower than the other for
  // minutes, which a 1-thread interval on CPU 0 cannot show. Rotating its
  // repetitions over the CPUs the run's widest cells use puts each CPU's
  // state into its samples, so its interval covers what a run on another
  // CPU would see. The counted pass stays on the first CPU (it sizes the
  // repetitions and counts, and neither depends on the CPU).
  void one_thread_rotation() {
    std::vector<int> widest;
    for (const auto& c : cells_)
      if (std::vector<int> distinct = distinct_cpus(c.cell.cpus); distinct.size() > widest.size())
        widest = std::move(distinct);
    // A run of 1-thread cells alone rotates over every CPU its placement
    // allows: the CPUs a wider run would use.
    if (widest.size() < 2)
      widest = distinct_cpus(topo_.assign(placement_, static_cast<std::uint32_t>(topo_.pu_count())));
    std::erase_if(widest, [](int cpu) { return cpu < 0; });
    if (widest.size() < 2) return;
    for (auto& c : cells_)
      if (c.cell.threads == 1) c.rotation = widest;
  }

  // The next repetition goes to the rotation's CPU with the fewest counted
  // samples (the first such, in order): clean runs alternate, and a CPU
  // whose repetitions were disturbed and left out gets its turn again, so
  // the statistics hold each CPU equally.
  [[nodiscard]] static Cell repetition_cell(const CellRun& c) {
    Cell cell = c.cell;
    if (c.rotation.empty()) return cell;
    const auto counted_on = [&](int cpu) {
      return std::count_if(c.samples.begin(), c.samples.end(),
                           [cpu](const Sample& s) { return s.counted && s.planned_cpu == cpu; });
    };
    int best = c.rotation.front();
    auto fewest = counted_on(best);
    for (const int cpu : c.rotation)
      if (const auto n = counted_on(cpu); n < fewest) best = cpu, fewest = n;
    cell.cpus = {best};
    return cell;
  }

  std::function<int(std::uint32_t)> binder(const Cell& cell) {
    return cpu_binder(topo_, cell.cpus, [this](int cpu, const std::string& why) {
      warn("could not bind a thread to CPU " + std::to_string(cpu) + ": " + why + " (threads run unpinned)");
    });
  }

  // The effective clock drifts over seconds, not milliseconds: one
  // calibration serves every repetition on the same CPU for a second, as
  // "before" of the next and "after" of the last. That keeps ~15 ms of
  // calibration from doubling the cost of a 50 ms repetition, and drift is
  // still bracketed at one-second resolution.
  Calibration calibrate(int cpu) {
    const auto now = Clock::now();
    auto& [at, cal] = calibrations_[cpu];
    if (cal.ghz > 0 && now - at < std::chrono::seconds(1)) return cal;
    // Two tries; a disturbed calibration is retried once inside calibrate_on.
    cal = calibrate_on(topo_, cpu, 2);
    at = Clock::now();
    return cal;
  }

  // The effective speed of each distinct CPU a repetition used, from the
  // calibrations (cached for a second per CPU); none for one CPU, and none
  // from a calibration that was itself disturbed.
  std::vector<CpuSpeed> cpu_speeds(const std::vector<int>& cpus) {
    const std::vector<int> distinct = distinct_cpus(cpus);
    std::vector<CpuSpeed> speeds;
    if (distinct.size() < 2 || std::any_of(distinct.begin(), distinct.end(), [](int cpu) { return cpu < 0; }))
      return speeds;
    for (const int cpu : distinct) {
      const Calibration cal = calibrate(cpu);
      if (!cal.disturbed && cal.ghz > 0) speeds.push_back({cpu, cal.ghz});
    }
    return speeds;
  }

  // After the first round every cell has run once, so the rest can be
  // timed, not guessed: many threads make repetitions longer than
  // --min-time (one iteration alone can exceed it) and disturbed more often.
  // Each cell still needs --repetitions clean samples; a disturbed one is
  // made up for (within the rerun bound) at the rate round 1 saw at its
  // thread count. A budget that was only the estimate's grows to fit; one
  // the user gave stays, with a warning naming the shortfall.
  Clock::time_point replan(Clock::time_point deadline) {
    std::map<std::uint32_t, std::pair<double, double>> seen;  // threads -> (disturbed, repetitions)
    for (const auto& c : cells_) {
      auto& [dist, reps] = seen[c.cell.threads];
      dist += static_cast<double>(c.disturbed);
      reps += static_cast<double>(c.samples.size());
    }
    const std::size_t bound = std::max<std::size_t>(kMinRerunBound, static_cast<std::size_t>(opt_.repetitions));
    double need = 0;
    std::size_t short_cells = 0;
    for (const auto& c : cells_) {
      if (c.done || c.samples.empty()) continue;
      const auto [dist, reps] = seen[c.cell.threads];
      const double p = std::min(0.9, reps > 0 ? dist / reps : 0.0);
      const double clean_wanted = static_cast<double>(opt_.repetitions) - static_cast<double>(c.clean);
      const double runs = std::min(clean_wanted / (1 - p), clean_wanted + static_cast<double>(bound));
      need += std::max(0.0, runs) * c.repetition_wall;
      ++short_cells;
    }
    const double left = std::chrono::duration<double>(deadline - Clock::now()).count();
    if (need <= left) return deadline;
    const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
    char line[320];
    if (opt_.budget_is_estimate) {
      constexpr double kPrecisionRoom = 1.5;  // as choose_budget() leaves
      const double total = elapsed + kPrecisionRoom * need;
      std::snprintf(line, sizeof line,
                    "note: at round 1's pace the %zu cells need about %.0f s more for %d clean repetitions each; "
                    "budget raised from %.0f s to %.0f s\n",
                    short_cells, need, opt_.repetitions, opt_.max_time, total);
      opt_.max_time = total;
      deadline = start_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(total));
    } else {
      std::snprintf(line, sizeof line,
                    "warning: at round 1's pace the %zu cells need about %.0f s more for %d clean repetitions each, "
                    "but --max-time leaves %.0f s: some will end without an interval (raise --max-time to %.0f)\n",
                    short_cells, need, opt_.repetitions, left, elapsed + need);
    }
    clear_status();
    std::fputs(line, stderr);
    return deadline;
  }

  void one_repetition(CellRun& c) {
    const auto began = Clock::now();
    struct Wall {  // whichever way the repetition ends
      CellRun& c;
      Clock::time_point began;
      ~Wall() { c.repetition_wall = std::chrono::duration<double>(Clock::now() - began).count(); }
    } wall{c, began};
    const Cell cell = repetition_cell(c);
    const int first_cpu = cell.cpus.empty() ? -1 : cell.cpus.front();
    Sample s;
    s.before = calibrate(first_cpu);
    if (opt_.processes == "fresh") {
      if (!child_) fresh_child();  // the last one failed
      s.process_id = child_->pid();
      s.rep = child_repetition(c, cell);
    } else {
      RepetitionPlan plan =
          repetition_plan(cell, opt_.size, share_, c.iterations, c.counted.helper_threads, binder(cell));
      plan.stop = &Interrupts::interrupt_flag();
      s.rep = opt_.time_counted ? c.kernels->repetition_counted(plan) : c.kernels->repetition(plan);
    }
    if (s.rep.interrupted) return;  // a partial repetition is not a sample
    if (!s.rep.error.empty()) {
      fail(c, s.rep.error);
      return;
    }
    s.after = calibrate(first_cpu);
    s.speeds = cpu_speeds(cell.cpus);
    if (!c.rotation.empty()) s.planned_cpu = cell.cpus.front();
    judge_cpu_speeds(s.speeds, s.rep.disturbance);
    for (std::size_t t = 0; t < s.rep.bound_cpu.size(); ++t)
      if (s.rep.bound_cpu[t] >= 0 && s.rep.last_cpu[t] != s.rep.bound_cpu[t])
        warn("thread " + std::to_string(t) + " of " + c.cell.name + " was bound to CPU " +
             std::to_string(s.rep.bound_cpu[t]) + " but found on CPU " + std::to_string(s.rep.last_cpu[t]));
    const std::size_t bound = std::max<std::size_t>(kMinRerunBound, static_cast<std::size_t>(opt_.repetitions));
    if (s.rep.disturbance.disturbed) {
      ++c.disturbed;
      s.counted = c.disturbed > bound;  // past the bound: accept, and say so
    }
    if (s.counted) ++c.clean;
    ++repetitions_done_;
    latest_ = c.cell.name + " " + fmt_ns(s.rep.ns_per_item()) + " ns/item";
    c.samples.push_back(std::move(s));
  }

  void judge(CellRun& c) {
    if (c.done) return;
    const Stats st = stats_of(c.ns_per_item());
    if (st.n >= static_cast<std::size_t>(opt_.repetitions) && st.half_width() <= opt_.precision) c.done = true;
    if (c.samples.size() >= static_cast<std::size_t>(opt_.max_repetitions)) c.done = true;
  }

  [[nodiscard]] Shortfall shortfall(const CellRun& c, const Stats& st) const {
    if (!c.error.empty()) return Shortfall::none;
    if (st.n >= static_cast<std::size_t>(opt_.repetitions) && st.half_width() <= opt_.precision) return Shortfall::none;
    if (bimodal(c.ns_per_item(), 2 * opt_.precision)) return Shortfall::bimodal;
    const std::size_t bound = std::max<std::size_t>(kMinRerunBound, static_cast<std::size_t>(opt_.repetitions));
    if (c.disturbed > bound) return Shortfall::disturbed;
    return Shortfall::budget;
  }

  void fail(CellRun& c, const std::string& what) {
    c.error = what;
    c.done = true;
    failures_.push_back(c.cell.name + ": " + what);
  }
  void warn(const std::string& w) {
    if (std::find(warnings_.begin(), warnings_.end(), w) == warnings_.end()) warnings_.push_back(w);
  }

  void status(const std::string& what) {
    const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
    std::size_t done = 0;
    for (const auto& c : cells_) done += c.done;
    char buf[384];
    std::snprintf(buf, sizeof buf, "[%zu/%zu done, %zu reps, %.0fs of %.0fs] %s%s%s", done, cells_.size(),
                  repetitions_done_, elapsed, opt_.max_time, what.c_str(), latest_.empty() ? "" : " | last: ",
                  latest_.c_str());
    if (tty_) {
      std::fprintf(stderr, "\r\033[K%s", buf);
      std::fflush(stderr);
    } else if (what.rfind("round", 0) == 0 && what.find(": ") != std::string::npos && last_round_line_ != what.substr(0, what.find(':'))) {
      last_round_line_ = what.substr(0, what.find(':'));
      std::fprintf(stderr, "%s\n", buf);
    }
  }
  void clear_status() const {
    if (tty_) std::fprintf(stderr, "\r\033[K");
  }

  nlohmann::json summary_json(const CellRun& c) const;

  RunOptions opt_;  // a copy: replan() may raise max_time
  const WorkShare share_;
  const Topology& topo_;
  const Placement& placement_;
  std::vector<CellRun> cells_;
  nlohmann::json context_;
  const ResultsOutput& out_;
  Clock::time_point start_;
  bool tty_;
  std::uint64_t seed_ = opt_.seed ? *opt_.seed : std::random_device{}();
  std::size_t rounds_ = 0, repetitions_done_ = 0;
  bool budget_ran_out_ = false;
  std::vector<std::string> failures_, warnings_;
  std::string last_round_line_;
  std::string latest_;  // the last repetition's figure, for the status line
  Clock::time_point last_checkpoint_ = Clock::now();
  std::map<int, std::pair<Clock::time_point, Calibration>> calibrations_;  // per CPU: when, what
  std::unique_ptr<ServeChild> child_;  // --processes fresh: this round's (or repetition's) process

  // --processes fresh: the previous child ends after its last repetition,
  // and a new process, with its own layout, serves what follows.
  void fresh_child() {
    if (opt_.processes != "fresh") return;
    child_.reset();
    child_ = std::make_unique<ServeChild>("the repetitions' process", self_binary(), opt_.forwarded);
  }

  // One timed repetition in the child, as one_repetition would run it here:
  // the same cell, CPUs, iterations and helper threads; the parent keeps the
  // counted pass, the calibrations and the judgement.
  Repetition child_repetition(const CellRun& c, const Cell& cell) {
    std::string cpus;
    for (const int cpu : cell.cpus) cpus += (cpus.empty() ? "" : ",") + std::to_string(cpu);
    Repetition failed;
    try {
      const nlohmann::json reply = child_->request("full " + c.cell.name + " " + std::to_string(c.iterations) + " " +
                                                   (c.counted.helper_threads ? "1" : "0") + " " + cpus);
      if (reply.contains("unbound"))
        for (const auto& why : reply["unbound"])
          warn("could not bind a thread to " + why.get<std::string>() + " (threads run unpinned)");
      if (reply.contains("error")) {
        failed.error = reply["error"].get<std::string>();
        return failed;
      }
      return repetition_from_json(reply.at("repetition"), share_);
    } catch (const ServeError& e) {
      failed.error = e.what();
    } catch (const nlohmann::json::exception& e) {
      failed.error = std::string("the repetitions' process answered an incomplete record: ") + e.what();
    }
    child_.reset();  // it is gone or unreadable: the next round starts another
    return failed;
  }
};

// name_low and name_high: the interval's ends, or null where it has none.
void put_interval(nlohmann::json& j, const std::string& name, const std::optional<MedianInterval>& interval) {
  j[name + "_low"] = interval ? nlohmann::json(interval->low) : nlohmann::json(nullptr);
  j[name + "_high"] = interval ? nlohmann::json(interval->high) : nlohmann::json(nullptr);
}

nlohmann::json Runner::summary_json(const CellRun& c) const {
  const Stats st = stats_of(c.ns_per_item());
  const Shortfall why = shortfall(c, st);
  // repetitions: every one the cell got, disturbed ones included (each is
  // an iteration entry in the file); the statistics use the clean ones.
  nlohmann::json j{{"repetitions", c.samples.size()},
                   {"repetitions_in_statistics", st.n},
                   {"disturbed_repetitions", c.disturbed},
                   {"minimum_repetitions", opt_.repetitions},
                   {"incomplete", c.samples.size() < static_cast<std::size_t>(opt_.repetitions)},
                   {"precision", opt_.precision},
                   {"precision_reached", why == Shortfall::none && c.error.empty() && st.ci.has_value()},
                   {"not_reached_why", to_string(why) ? nlohmann::json(to_string(why)) : nlohmann::json(nullptr)},
                   {"iterations_per_repetition", c.iterations}};
  if (st.n > 0) {
    j["median_ns_per_item"] = st.median_ns;
    j["cv"] = st.n > 1 ? nlohmann::json(st.cv) : nlohmann::json(nullptr);
    j["unstable"] = st.n > 1 && st.cv > opt_.cv_threshold;
  }
  put_interval(j, "ns_per_item_ci95", st.ci);
  if (st.ci) j["ci_coverage"] = st.ci->coverage;
  j["ci_half_width"] = st.ci ? nlohmann::json(st.half_width()) : nlohmann::json(nullptr);
  put_interval(j, "ns_per_item_pi95", st.repeat);
  j["pi_coverage"] = st.repeat ? nlohmann::json(st.repeat->coverage) : nlohmann::json(nullptr);
  const std::vector<double> cycles = c.cycles_per_item();
  put_interval(j, "cycles_per_item_pi95", cycles.empty() ? std::nullopt : repeat_median_pi95(cycles, cycles.size()));
  // Drift only where both calibrations of a repetition were clean.
  double worst = 0;
  std::size_t judged = 0;
  for (const auto& s : c.samples) {
    if (s.before.disturbed || s.after.disturbed || s.before.ghz <= 0) continue;
    ++judged;
    worst = std::max(worst, std::abs(s.after.ghz / s.before.ghz - 1));
  }
  j["worst_frequency_drift"] = judged ? nlohmann::json(worst) : nlohmann::json(nullptr);
  j["frequency_drift"] = judged > 0 && worst > opt_.drift_threshold;
  if (why != Shortfall::none && c.error.empty()) {
    std::string advice;
    if (why == Shortfall::budget) advice = "the time budget ended first: raise --max-time, or run fewer cells";
    if (why == Shortfall::disturbed)
      advice = "repetitions kept being disturbed (see rcbench.repetition.reasons): run on a quieter machine";
    if (why == Shortfall::bimodal)
      advice = "the samples form two clusters: the cell has two steady states (placement, allocator, "
               "scheduling); more repetitions will not narrow it";
    j["advice"] = advice;
  }
  return j;
}

nlohmann::json speeds_json(const std::vector<CpuSpeed>& speeds) {
  nlohmann::json j = nlohmann::json::object();
  for (const CpuSpeed& c : speeds) j[std::to_string(c.cpu)] = c.ghz;
  return j;
}

using Run = benchmark::BenchmarkReporter::Run;

// The four aggregates Google Benchmark writes, computed as it computes them
// (benchmark's ComputeStats): each statistic over the repetitions in the
// statistics, for real time and CPU time per iteration and for every
// counter; iterations is the number of those repetitions. The median's
// ns_per_item is the median the summary reports, with its interval.
std::vector<Run> aggregate_runs(const std::vector<Run>& clean, const Stats& st, const Run& base) {
  using Statistic = double (*)(const std::vector<double>&);
  struct Aggregate {
    const char* name;
    Statistic of;
    benchmark::StatisticUnit unit;
  };
  static constexpr Aggregate kAggregates[] = {
      {"mean", [](const std::vector<double>& v) { return moments_of(v).mean_ns; }, benchmark::kTime},
      {"median", [](const std::vector<double>& v) { return median(v); }, benchmark::kTime},
      {"stddev", [](const std::vector<double>& v) { return moments_of(v).stddev_ns; }, benchmark::kTime},
      {"cv", [](const std::vector<double>& v) { return moments_of(v).cv; }, benchmark::kPercentage},
  };
  std::vector<double> real, cpu;
  std::map<std::string, std::vector<double>> counters;
  for (const Run& r : clean) {
    const double iterations = static_cast<double>(std::max<benchmark::IterationCount>(r.iterations, 1));
    real.push_back(r.real_accumulated_time / iterations);
    cpu.push_back(r.cpu_accumulated_time / iterations);
    for (const auto& [name, counter] : r.counters) counters[name].push_back(counter.value);
  }
  const auto n = static_cast<benchmark::IterationCount>(clean.size());
  std::vector<Run> out;
  for (const Aggregate& a : kAggregates) {
    Run r = base;
    r.run_type = Run::RT_Aggregate;
    r.aggregate_name = a.name;
    r.aggregate_unit = a.unit;
    // A time aggregate is written divided by iterations, a percentage as is.
    r.iterations = n;
    const double scale = a.unit == benchmark::kTime ? static_cast<double>(n) : 1.0;
    r.real_accumulated_time = a.of(real) * scale;
    r.cpu_accumulated_time = a.of(cpu) * scale;
    for (const auto& [name, values] : counters)
      if (values.size() == clean.size()) r.counters[name] = a.of(values);
    out.push_back(std::move(r));
  }
  Run& med = out[1];
  med.counters["ns_per_item"] = st.median_ns;
  if (st.ci) {
    med.counters["ns_per_item_ci95_low"] = st.ci->low;
    med.counters["ns_per_item_ci95_high"] = st.ci->high;
  }
  if (st.repeat) {
    med.counters["ns_per_item_pi95_low"] = st.repeat->low;
    med.counters["ns_per_item_pi95_high"] = st.repeat->high;
  }
  return out;
}

nlohmann::json Runner::document() const {
  GbJson json;
  benchmark::BenchmarkReporter::Context gb_context;
  std::size_t width = 10;
  for (const auto& c : cells_) width = std::max(width, c.cell.name.size());
  gb_context.name_field_width = width;
  json.context(gb_context);

  std::vector<nlohmann::json> notes;  // one per Run reported, in order
  for (std::size_t ci = 0; ci < cells_.size(); ++ci) {
    const CellRun& c = cells_[ci];
    if (c.samples.empty() && c.error.empty()) continue;
    const nlohmann::json identity{{"strategy", c.cell.strategy},
                                  {"workload", c.cell.workload},
                                  {"threads", c.cell.threads},
                                  {"scaling", std::string(to_string(share_.scaling))},
                                  {"units", share_.units(c.cell.threads)},
                                  {"size", std::string(to_string(opt_.size))},
                                  {"placement", placement_.describe()},
                                  {"bound_cpus", c.rotation.empty() ? c.cell.cpus : c.rotation},
                                  {"cpus_rotated", !c.rotation.empty()},
                                  {"oversubscribed", c.cell.oversubscribed}};
    nlohmann::json summary = summary_json(c);
    const auto base_run = [&] {
      Run r;
      r.run_name.function_name = c.cell.name;
      r.family_index = static_cast<std::int64_t>(ci);
      r.per_family_instance_index = 0;
      r.threads = c.cell.threads;
      r.time_unit = benchmark::kNanosecond;
      r.repetitions = static_cast<std::int64_t>(c.samples.size());
      return r;
    };
    // Strategy counters from the counted pass: sums per item processed by
    // all threads (every unit of every iteration), peaks raw.
    std::vector<std::pair<std::string, double>> counters;
    const double counted_items = static_cast<double>(c.counted.iterations) *
                                 static_cast<double>(c.counted.items_per_thread) * c.counted.units;
    for (const Counter k : c.kernels->reported) {
      const CounterInfo& info_k = info(k);
      const double v = static_cast<double>(c.counted.counters[k]);
      counters.emplace_back(std::string(info_k.name),
                            info_k.aggregate == Aggregate::sum ? (counted_items > 0 ? v / counted_items : 0) : v);
    }
    std::vector<Run> runs;
    for (std::size_t i = 0; i < c.samples.size(); ++i) {
      const Sample& s = c.samples[i];
      Run r = base_run();
      r.run_type = Run::RT_Iteration;
      r.repetition_index = static_cast<std::int64_t>(i);
      r.iterations = static_cast<benchmark::IterationCount>(s.rep.iterations);
      r.real_accumulated_time = s.rep.seconds;
      r.cpu_accumulated_time = s.rep.cpu_seconds;
      r.counters["ns_per_item"] = s.rep.ns_per_item();
      r.counters["items_per_second"] = s.rep.items_per_second();
      if (const auto cycles = s.cycles_per_item()) r.counters["cycles_per_item"] = *cycles;
      r.counters["ghz_before"] = s.before.ghz;
      r.counters["ghz_after"] = s.after.ghz;
      r.counters["items_per_thread"] = static_cast<double>(s.rep.items_per_thread);
      r.counters["checksum_ok"] = 1.0;
      for (const auto& [name, v] : counters) r.counters[name] = v;
      // Sampled figures come from the counted pass; a timed repetition's own
      // (fork_cow's, measured without sampling) take precedence. They are
      // named again in the note, so a summary can tell them from counters.
      nlohmann::json figures = nlohmann::json::object();
      for (const auto& [name, v] : c.counted.workload_figures) figures[name] = v;
      for (const auto& [name, v] : s.rep.workload_figures) figures[name] = v;
      for (const auto& [name, v] : figures.items()) r.counters[name] = v.get<double>();
      runs.push_back(std::move(r));
      const Disturbance& d = s.rep.disturbance;
      nlohmann::json cpu_share = nlohmann::json::array();
      for (const auto& u : s.rep.usage) cpu_share.push_back(u.cpu_over_wall());
      nlohmann::json note = identity;
      note["summary"] = summary;
      if (!figures.empty()) note["workload_figures"] = std::move(figures);
      note["repetition"] = {{"disturbed", d.disturbed},
                            {"reasons", d.reasons},
                            {"in_statistics", s.counted},
                            {"involuntary_switches", d.involuntary_switches},
                            {"voluntary_switches", d.voluntary_switches},
                            {"cpu_over_wall", cpu_share},
                            {"steal_s", d.steal_s},
                            {"calibration_disturbed", s.before.disturbed || s.after.disturbed},
                            {"cpu_ghz", speeds_json(s.speeds)},
                            {"checksum", hex(s.rep.checksum)},
                            {"planned_cpus", s.planned_cpu >= 0 ? nlohmann::json::array({s.planned_cpu}) : nlohmann::json(c.cell.cpus)},
                            {"process_id", s.process_id},
                            {"bound_cpus", s.rep.bound_cpu},
                            {"ran_on_cpus", s.rep.last_cpu}};
      notes.push_back(std::move(note));
    }
    if (!c.error.empty()) {
      Run r = base_run();
      r.run_type = Run::RT_Iteration;
      r.error_occurred = true;
      r.error_message = c.error;
      r.repetition_index = static_cast<std::int64_t>(c.samples.size());
      runs.push_back(std::move(r));
      nlohmann::json note = identity;
      note["summary"] = summary;
      notes.push_back(std::move(note));
    }
    json.runs(runs);
    // Aggregates over the samples in the statistics, as Google Benchmark
    // writes them (aggregate_runs).
    const Stats st = stats_of(c.ns_per_item());
    if (st.n > 0 && c.error.empty()) {
      std::vector<Run> clean;
      for (std::size_t i = 0; i < c.samples.size(); ++i)
        if (c.samples[i].counted) clean.push_back(runs[i]);
      const std::vector<Run> aggs = aggregate_runs(clean, st, base_run());
      json.runs(aggs);
      for (std::size_t i = 0; i < aggs.size(); ++i) {
        nlohmann::json note = identity;
        note["summary"] = summary;
        notes.push_back(std::move(note));
      }
    }
  }
  nlohmann::json j = json.document();
  j["context"]["rcbench"] = context_;
  j["context"]["rcbench"]["warnings"] = warnings_;
  j["context"]["rcbench"]["failures"] = failures_;
  j["context"]["rcbench"]["interrupted"] = Interrupts::interrupted();
  if (Interrupts::interrupted()) j["context"]["rcbench"]["signal"] = Interrupts::signal_number();
  std::size_t disturbed = 0, reps = 0, uneven = 0;
  for (const auto& c : cells_) {
    disturbed += c.disturbed;
    reps += c.samples.size();
    for (const Sample& s : c.samples)
      if (!uneven_cpu_speeds(s.speeds).empty()) ++uneven;
  }
  j["context"]["rcbench"]["measurement"] = {{"rounds", rounds_},
                                            {"repetitions", reps},
                                            {"disturbed_repetitions", disturbed},
                                            {"uneven_cpu_speed_repetitions", uneven},
                                            {"cpu_speed_bound", kMaxCpuSpeedSpread},
                                            {"budget_ran_out", budget_ran_out_},
                                            {"budget_s", opt_.max_time},
                                            {"round_order_seed", seed_}};
  auto& benches = j["benchmarks"];
  for (std::size_t i = 0; i < benches.size() && i < notes.size(); ++i) {
    benches[i]["name"] = strip_manual_time(benches[i]["name"].get<std::string>());
    benches[i]["rcbench"] = notes[i];
  }
  return j;
}

}  // namespace

// The first two CPUs a placement gives (one where only one is allowed).
static std::vector<int> probe_cpus(const Topology& topo, const Placement& placement) {
  const std::uint32_t want = topo.pu_count() >= 2 ? 2 : 1;
  std::vector<int> cpus = topo.assign(placement, want);
  if (cpus.size() > 1 && cpus[0] == cpus[1]) cpus.resize(1);
  return cpus;
}

int cmd_probe(const std::string& placement_text, bool as_json) {
  Topology topo;
  const Placement placement = parse_placement(placement_text);
  const ProbeResult p = run_probe(topo, probe_cpus(topo, placement));
  if (as_json) {
    std::cout << p.to_json().dump(2) << "\n";
    return kExitOk;
  }
  const auto line = [](const char* what, double ns, double plain) {
    std::printf("%-24s %8.2f ns  %7.1fx plain pair\n", what, ns, ns / plain);
  };
  std::printf("incref+decref pair, per thread, median of 7 loops; CPUs");
  for (int c : p.cpus) std::printf(" %d", c);
  std::printf("\n");
  line("plain", p.plain_pair_ns, p.plain_pair_ns);
  line("atomic (uncontended)", p.atomic_pair_ns, p.plain_pair_ns);
  if (p.contended_pair_ns > 0) {
    line("atomic, one line, 2 thr", p.contended_pair_ns, p.plain_pair_ns);
    line("atomic, own lines, 2 thr", p.separate_lines_pair_ns, p.plain_pair_ns);
  } else {
    std::printf("(one CPU: no two-thread figures)\n");
  }
  std::vector<CpuSpeed> speeds;
  std::printf("plain pair on each CPU alone:");
  for (const auto& [cpu, ns] : p.plain_pair_ns_per_cpu) {
    std::printf(" cpu%d %.2f ns", cpu, ns);
    if (ns > 0) speeds.push_back({cpu, 1 / ns});
  }
  std::printf("\n");
  if (const std::string uneven = uneven_cpu_speeds(speeds, "runs"); !uneven.empty())
    std::printf("warning: %s: a two-thread figure carries the slow CPU\n", uneven.c_str());
  return kExitOk;
}

// The run's work share: weak, or strong with U the least common multiple
// of its thread counts (engine/scaling.h says why).
static WorkShare work_share(const RunOptions& opt) {
  WorkShare share;
  share.scaling = opt.scaling;
  if (opt.scaling == Scaling::weak) return share;
  const std::optional<std::uint32_t> units = strong_units_for(opt.threads);
  if (!units) {
    std::vector<std::string> counts;
    for (const auto t : opt.threads) counts.push_back(std::to_string(t));
    throw UsageError("--scaling strong: the least common multiple of --threads " + join(counts, ",") +
                     " is above " + std::to_string(kMaxStrongUnits) +
                     ", the most units of work one iteration may hold; choose thread counts such as 1,2,4,8");
  }
  share.strong_units = *units;
  return share;
}

// Under strong scaling, the workloads whose threads depend on each other
// are refused when named and skipped with a note when they came with "all".
static std::vector<std::string> strong_scaling_workloads(const std::vector<std::string>& workloads,
                                                         const std::vector<CellKernels>& kernels,
                                                         bool named, std::vector<std::string>& notes) {
  std::vector<std::string> kept;
  for (const auto& wl : workloads) {
    const bool independent = std::all_of(kernels.begin(), kernels.end(), [&](const CellKernels& k) {
      return k.workload != wl || k.units_independent;
    });
    if (independent) {
      kept.push_back(wl);
      continue;
    }
    const std::string why = "workload '" + wl + "' cannot run under --scaling strong: its threads depend on each "
                            "other within an iteration (it runs only at thread counts it can pair up), so one "
                            "thread cannot run several threads' shares in turn; leave it out or use --scaling weak";
    if (named) throw UsageError(why);
    notes.push_back("skipped " + why);
  }
  return kept;
}

// --threads, or 1 and every allowed CPU; checked against the placement.
static void choose_threads(RunOptions& opt, const Topology& topo, const Placement& placement, std::size_t places) {
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
}

// Defaults filled in and every option checked, before anything runs.
static RunOptions checked_options(const RunOptions& opt_in) {
  RunOptions opt = opt_in;
  if (opt.repetitions < 1) throw UsageError("--repetitions must be at least 1");
  if (opt.one_thread_cpus != "rotate" && opt.one_thread_cpus != "first")
    throw UsageError("bad --one-thread-cpus '" + opt.one_thread_cpus + "' (valid: rotate, first)");
  if (!(opt.min_time >= 0) || !std::isfinite(opt.min_time)) throw UsageError("--min-time must be a positive number of seconds");
  if (opt.min_time == 0) opt.min_time = default_min_time(opt.size);
  if (!(opt.max_time >= 0) || !std::isfinite(opt.max_time)) throw UsageError("--max-time must be a positive number of seconds");
  if (!(opt.precision > 0 && opt.precision < 1)) throw UsageError("--precision must be between 0 and 100 percent");
  opt.max_repetitions = std::max(opt.max_repetitions, opt.repetitions);
  return opt;
}

// The cells of a selection, in registry order, each thread count; the
// combinations that cannot run are noted.
struct Expansion {
  std::vector<CellRun> cells;
  std::vector<std::string> notes;
};

static Expansion expand_cells(const Selection& sel, const RunOptions& opt, const WorkShare& share,
                              const std::vector<CellKernels>& kernels, const Topology& topo,
                              const Placement& placement, std::size_t places) {
  Expansion e;
  std::optional<std::regex> filter;
  if (!opt.filter.empty()) {
    try {
      filter.emplace(opt.filter, std::regex::ECMAScript);
    } catch (const std::regex_error& err) {
      throw UsageError("bad --filter '" + opt.filter + "': " + err.what());
    }
  }
  std::vector<std::string> workloads = sel.workloads;
  if (share.scaling == Scaling::strong)
    workloads = strong_scaling_workloads(workloads, kernels, !opt.workloads.empty(), e.notes);
  if constexpr (kReducedMatrix) {
    for (const auto& st : sel.strategies)
      for (const auto& wl : workloads)
        if (std::none_of(kernels.begin(), kernels.end(),
                         [&](const CellKernels& k) { return k.strategy == st && k.workload == wl; }))
          e.notes.push_back("skipped " + wl + "/" + st + ": this sanitizer build compiles a reduced strategy x "
                            "workload product (harness/cells.h); the release build has every cell");
  }
  std::map<std::string, std::vector<std::string>> single_threaded;  // strategy -> its skipped cells
  for (const CellKernels& k : kernels) {
    if (!contains(sel.strategies, k.strategy) || !contains(workloads, k.workload)) continue;
    for (const auto t : opt.threads) {
      const std::string name = cell_name(k.workload, k.strategy, t);
      if (filter && !std::regex_search(name, *filter)) continue;
      if (!k.multi_threaded && t > 1) {
        single_threaded[k.strategy].push_back(name);
        continue;
      }
      if (const ThreadSupport ts = k.supports(t); !ts.ok) {
        e.notes.push_back("skipped " + name + ": " + std::string(ts.why));
        continue;
      }
      CellRun c;
      c.cell = Cell{name, k.strategy, k.workload, t, topo.assign(placement, t), t > places};
      c.kernels = &k;
      e.cells.push_back(std::move(c));
    }
  }
  // One note per strategy: a suite at 1 and N threads skips every N-thread
  // cell of plain, and five lines saying so would bury the others.
  for (const auto& [strategy, names] : single_threaded)
    e.notes.push_back("skipped " + (names.size() == 1 ? names.front() : std::to_string(names.size()) + " cells (" +
                                                                          join(names) + ")") +
                      ": " + strategy + " is single-threaded (it runs at 1 thread only)");
  return e;
}

// What a selection needs, before it starts: every cell's counted pass and
// --repetitions clean repetitions. A repetition runs at least --min-time of
// timed iterations, plus one untimed warm-up iteration, the workload's setup
// and teardown, and its share of the clock calibrations; kRepetitionWall
// says how long that is per second of --min-time, as measured on 2-core
// VMs (docs/measurement.md). fork_cow's repetitions are whole child
// processes and cost several times that.
static double estimate_seconds(const std::vector<CellRun>& cells, const RunOptions& opt) {
  constexpr double kRepetitionWall = 2.0;   // wall s per --min-time s of one repetition
  constexpr double kCountedPassWall = 1.5;  // the counted pass: at least two iterations, then --min-time
  constexpr double kForkWall = 4.0;         // a forked child per thread and iteration
  constexpr double kProbes = 4.0;           // the hardware floor, at the start and the end
  double total = kProbes;
  for (const CellRun& c : cells) {
    const double forks = c.kernels->forks_processes ? kForkWall : 1.0;
    total += forks * opt.min_time * (kCountedPassWall + kRepetitionWall * opt.repetitions);
  }
  return total;
}

static std::string seconds_text(double s) {
  return s < 120 ? std::to_string(static_cast<long>(std::ceil(s))) + " s"
                 : std::to_string(static_cast<long>(std::ceil(s / 60))) + " min";
}

// The suites that fit `budget` with the same options: named when the asked
// selection does not fit, so the user has something to run instead.
static std::string suites_that_fit(const RunOptions& opt, double budget, const WorkShare& share,
                                   const std::vector<CellKernels>& kernels, const Topology& topo,
                                   const Placement& placement, std::size_t places) {
  std::vector<std::string> fit;
  for (const Suite& suite : kSuites) {
    RunOptions as_suite = opt;
    as_suite.suite = std::string(suite.name);
    as_suite.strategies.clear();
    as_suite.workloads.clear();
    as_suite.filter.clear();
    const Selection sel = select_cells(as_suite, kDefaultSuite, strategy_names(), workload_names());
    const Expansion e = expand_cells(sel, as_suite, share, kernels, topo, placement, places);
    const double need = estimate_seconds(e.cells, as_suite);
    if (!e.cells.empty() && need <= budget) fit.push_back(std::string(suite.name) + " (" + seconds_text(need) + ")");
  }
  return fit.empty() ? "none at these options" : join(fit);
}

// --max-time: the estimate with room for cells still short of their
// precision, or the user's figure, which must cover the estimate: a budget
// that cannot give every cell --repetitions samples would quietly produce
// numbers without intervals.
static double choose_budget(const RunOptions& opt, double need, std::size_t cells,
                            const std::function<std::string(double)>& fitting) {
  constexpr double kPrecisionRoom = 1.5;  // what the rounds past the minimum get
  if (opt.max_time == 0) return std::max(30.0, kPrecisionRoom * need);
  if (opt.max_time >= need) return opt.max_time;
  throw UsageError("--max-time " + seconds_text(opt.max_time) + " is too short: these " + std::to_string(cells) +
                   " benchmarks need about " + seconds_text(need) + " for " + std::to_string(opt.repetitions) +
                   " clean repetitions each; give --max-time " + std::to_string(static_cast<long>(std::ceil(need))) +
                   " or more (or leave it out), narrow with --strategy/--workload/--filter, or run a suite "
                   "that fits: " + fitting(opt.max_time));
}

static nlohmann::json run_context(const Topology& topo, const FrequencyControl& freq, const RunOptions& opt,
                                  const WorkShare& share, const Selection& sel, const Placement& placement,
                                  double estimate, const std::vector<std::string>& notes) {
  nlohmann::json context = environment_json(topo, freq);
  context["schema"] = "rcbench/2";
  context["metric"] = "time";
  context["scaling"] = std::string(to_string(share.scaling));
  if (share.scaling == Scaling::strong) context["strong_units"] = share.strong_units;
  context["build"] = build_info();
  context["options"] = {{"suite", sel.suite},
                        {"strategies", sel.strategies},
                        {"workloads", sel.workloads},
                        {"threads", opt.threads},
                        {"size", std::string(to_string(opt.size))},
                        {"scaling", std::string(to_string(share.scaling))},
                        {"repetitions", opt.repetitions},
                        {"max_repetitions", opt.max_repetitions},
                        {"precision", opt.precision},
                        {"max_time_s", opt.max_time},
                        {"estimated_time_s", estimate},
                        {"min_time_s", opt.min_time},
                        {"filter", opt.filter},
                        {"time_counted", opt.time_counted},
                        {"placement", placement.describe()},
                        {"oversubscribe", opt.oversubscribe},
                        {"one_thread_cpus", opt.one_thread_cpus},
                        {"processes", opt.processes},
                        {"drift_threshold", opt.drift_threshold},
                        {"cv_threshold", opt.cv_threshold}};
  // The formulas of this file's scaling (harness/engine/measure.h has both).
  const bool strong = share.scaling == Scaling::strong;
  context["formulas"] = {
      {"real_time", "ns per iteration: sum(iteration seconds) / iterations"},
      {"cpu_time", "the worker threads' CPU time per iteration, summed over threads"},
      {"units", strong ? "units of work (run() calls, items_per_thread items each) per iteration: the fixed U = "
                         "strong_units = lcm of the run's thread counts, divided among the threads"
                       : "units of work (run() calls, items_per_thread items each) per iteration: one per thread"},
      {"items_per_second", strong ? "iterations * U * items_per_thread / sum(iteration seconds)"
                                  : "iterations * threads * items_per_thread / sum(iteration seconds)"},
      {"ns_per_item", strong ? "sum(iteration seconds) / (iterations * U * items_per_thread): wall time per item "
                               "of the fixed total work"
                             : "sum(iteration seconds) / (iterations * items_per_thread): per-thread time per item"},
      {"cycles_per_item", "ns_per_item * mean(ghz_before, ghz_after); absent when a calibration was disturbed"},
      {"iteration_seconds", "first thread leaving the start barrier to last thread finishing"},
      {"speedup", strong ? "strong scaling: T1 / TN = ns_per_item(1) / ns_per_item(N), the same U units at every "
                           "thread count"
                         : "weak scaling: T1 * N / TN = ns_per_item(1) * N / ns_per_item(N) (CPython "
                           "Tools/ftscalingbench)"},
      {"ns_per_item_ci95",
       "distribution-free 95% interval of the median of ns_per_item: order statistics x(k), x(n+1-k) with k "
       "the largest rank such that P(Binomial(n, 1/2) < k) <= 2.5%"},
      {"ns_per_item_pi95",
       "distribution-free 95% prediction interval for the median of a repeat run with as many repetitions in its "
       "statistics (summary; also cycles_per_item_pi95): order statistics x(k), x(n+1-k) with k the largest rank "
       "such that the repeat's middle order statistics fall outside them with probability <= 5% when all 2n "
       "values are exchangeable; from n = 9"},
      {"disturbed", "a worker that never blocked had the CPU < 99% of its wall time, or a worker was switched out "
                    "involuntarily (not judged when the strategy runs helper threads), or host steal > 1% of the "
                    "CPUs' time, or (several CPUs) the slowest CPU's calibrated speed was more than 10% below the fastest's; such "
                    "repetitions stay in the file and out of the statistics, within a bound"},
      {"strategy_counters",
       "from a separate counted pass of the counting instantiation (timed repetitions count nothing); sums: "
       "total over all threads / (iterations * units * items_per_thread); peaks: raw"},
      {"workload_figures",
       "measured by the workload itself, raw: fork_cow's in each timed repetition; those sampled while the "
       "workload runs (blocked_owner's peak_retained_objects and peak_retained_bytes, by its census) in the "
       "counted pass only, over all its iterations"}};
  nlohmann::json counters = nlohmann::json::object();
  for (const CounterInfo& ci : kCounterInfo)
    counters[std::string(ci.name)] = {{"unit", ci.aggregate == Aggregate::sum ? "per_item" : "peak"},
                                      {"meaning", std::string(ci.meaning)}};
  context["strategy_counters"] = counters;
  context["notes"] = notes;
  return context;
}

static void print_plan(std::ostream& msg, const RunOptions& opt, const WorkShare& share, const Selection& sel,
                       const Placement& placement, std::size_t cells, double estimate,
                       const FrequencyControl& freq, const std::vector<std::string>& notes) {
  msg << "rcbench run: " << (sel.suite == "custom" ? std::string("the named cells") : "suite " + sel.suite) << ", "
      << cells << " benchmark(s), size " << to_string(opt.size) << ", >= " << opt.repetitions << " repetitions of >= "
      << opt.min_time << " s until +-" << 100 * opt.precision << "% (95% CI); needs about " << seconds_text(estimate)
      << ", budget " << seconds_text(opt.max_time) << ", placement " << placement.describe();
  if (opt.processes == "fresh") msg << ", a fresh process per round";
  if (share.scaling == Scaling::strong)
    msg << ", strong scaling: " << share.strong_units << " units of work per iteration at every thread count";
  msg << " -> " << opt.out << "\n";
  for (const auto& w : freq.warnings()) msg << "note: " << w << "\n";
  for (const auto& n : notes) msg << "note: " << n << "\n";
  msg << std::flush;
}

// After the rounds: the floor again, the results file, the summary.
static int finish_run(std::ostream& msg, Runner& runner, const RunOptions& opt, const Topology& topo,
                      const Placement& placement, bool probed, FrequencyControl& freq, const ResultsOutput& out,
                      int status) {
  // A machine that got slower or faster during the run (a busy neighbour on
  // the same physical core changes the plain pair without changing the
  // clock) shows here, not in any repetition.
  if (!Interrupts::interrupted() && probed) runner.probe_again(run_probe(topo, probe_cpus(topo, placement)).to_json());
  freq.restore();
  // The frequency state now says "restored".
  nlohmann::json doc = runner.document();
  doc["context"]["rcbench"]["frequency_control"] = freq.to_json();
  out.finish(doc);
  Interrupts::release_interrupts();

  print_summary(msg, doc, opt.format);
  for (const auto& w : runner.warnings()) msg << "warning: " << w << "\n";
  for (const auto& f : runner.failures()) std::cerr << "rcbench: FAILED " << f << "\n";
  std::size_t written = 0;
  for (const auto& c : runner.cells()) written += !c.samples.empty();
  if (status != 0) {
    std::cerr << "rcbench: interrupted by signal " << Interrupts::signal_number() << "; " << written
              << " benchmark(s) with finished repetitions kept in " << opt.out << "\n";
    return status;
  }
  msg << "wrote " << out.describe() << " (" << written << " benchmarks, " << runner.rounds() << " rounds)\n";
  return runner.failures().empty() ? kExitOk : kExitFailed;
}

CellPlan plan_cells(const RunOptions& opt_in, const Topology& topo) {
  CellPlan plan;
  plan.opt = checked_options(opt_in);
  plan.placement = parse_placement(plan.opt.placement);
  const Selection sel = select_cells(plan.opt, kDefaultSuite, strategy_names(), workload_names());
  const std::size_t places =
      plan.placement.kind == Placement::Kind::list ? plan.placement.cpus.size() : topo.pu_count();
  choose_threads(plan.opt, topo, plan.placement, places);
  plan.share = work_share(plan.opt);
  static const std::vector<CellKernels> kernels = all_kernels();
  Expansion e = expand_cells(sel, plan.opt, plan.share, kernels, topo, plan.placement, places);
  for (CellRun& c : e.cells) plan.cells.push_back({std::move(c.cell), c.kernels});
  plan.notes = std::move(e.notes);
  return plan;
}

int cmd_run(const RunOptions& opt_in) {
  RunOptions opt = checked_options(opt_in);
  std::ostream& msg = messages_stream(opt.out);
  Topology topo;
  const Placement placement = parse_placement(opt.placement);
  const Selection sel = select_cells(opt, kDefaultSuite, strategy_names(), workload_names());
  const std::size_t places = placement.kind == Placement::Kind::list ? placement.cpus.size() : topo.pu_count();
  choose_threads(opt, topo, placement, places);
  const WorkShare share = work_share(opt);

  static const std::vector<CellKernels> kernels = all_kernels();
  Expansion plan = expand_cells(sel, opt, share, kernels, topo, placement, places);
  if (opt.list_only) {
    for (const auto& c : plan.cells) std::cout << c.cell.name << "\n";
    return kExitOk;
  }
  if (plan.cells.empty())
    throw UsageError("nothing to run: " + (plan.notes.empty() ? std::string("empty selection") : join(plan.notes, "; ")));
  const double estimate = estimate_seconds(plan.cells, opt);
  opt.budget_is_estimate = opt.max_time == 0;
  opt.max_time = choose_budget(opt, estimate, plan.cells.size(), [&](double budget) {
    return suites_that_fit(opt, budget, share, kernels, topo, placement, places);
  });

  if (const std::string err = check_writable(opt.out); !err.empty()) throw UsageError(err);

  // Frequency: take control where we may, and always give it back.
  std::set<int> used_cpus;
  for (const auto& c : plan.cells) used_cpus.insert(c.cell.cpus.begin(), c.cell.cpus.end());
  FrequencyControl freq;
  freq.inspect({used_cpus.begin(), used_cpus.end()});
  if (opt.freq_control) freq.apply();

  Interrupts::catch_interrupts();

  nlohmann::json context = run_context(topo, freq, opt, share, sel, placement, estimate, plan.notes);
  if (opt.wait_quiet > 0) (void)wait_for_quiet(opt.wait_quiet, msg);
  context["quiet"] = quietness_json();
  if (!context["quiet"].value("quiet", true))
    msg << "warning: the machine is not quiet (load average " << context["quiet"]["load_average_1min"]
        << " with " << context["quiet"]["cpus"] << " CPU(s)): other work will disturb repetitions\n";
  print_plan(msg, opt, share, sel, placement, plan.cells.size(), estimate, freq, plan.notes);

  // 1. the hardware floor, pinned as the run's threads are.
  const bool probed = !Interrupts::interrupted();
  if (probed) context["probe"] = run_probe(topo, probe_cpus(topo, placement)).to_json();

  const ResultsOutput out(opt.out);
  Runner runner(opt, share, topo, placement, std::move(plan.cells), context, out);
  const int status = runner.run();
  return finish_run(msg, runner, opt, topo, placement, probed, freq, out, status);
}

}  // namespace rcb
