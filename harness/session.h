#pragma once
// What one `rcbench run` is asked for (its options, each default with its
// reason), the cells it expands to, and how it is stopped by a signal.

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/engine/scaling.h"
#include "harness/engine/topology.h"
#include "workloads/workload.h"

namespace rcb {

// What `rcbench run` measures: wall time through Google Benchmark, or the
// instructions of the timed region counted by callgrind (harness/instructions.cpp).
enum class Metric : std::uint8_t { time, instructions };

struct RunOptions {
  Metric metric = Metric::time;
  std::string suite;                    // --suite: empty = headline, unless strategies or workloads are named
  std::vector<std::string> strategies;  // with a suite: narrows it; without: exactly these (empty: all)
  std::vector<std::string> workloads;   // likewise
  std::vector<std::uint32_t> threads;   // empty: 1 and every allowed PU
  Size size = Size::quick;
  // Weak: each thread does the full per-thread work, as CPython's
  // ftscalingbench measures (and every results file before this option).
  // Strong: a fixed total divided among the threads (engine/scaling.h).
  Scaling scaling = Scaling::weak;
  // Wall time is measured in interleaved rounds until each benchmark's median
  // has a 95% confidence interval within +-precision, or max_time runs out.
  int repetitions = 9;           // the least per benchmark (9: the fewest with a 95% interval for a repeat run's median)
  int max_repetitions = 60;      // the most per benchmark
  double precision = 0.02;       // --precision: wanted CI half-width, relative to the median
  double max_time = 0.0;         // --max-time: seconds for the whole run; 0: what the selection needs
  bool budget_is_estimate = false;  // max_time came from the estimate, not the user: the run may raise it
  double min_time = 0.0;  // seconds per repetition; 0: the size's default
  std::string out = "rcbench.json";  // "-": the JSON goes to stdout, everything else to stderr
  std::string filter;            // --filter: ECMAScript regex searched in <workload>/<strategy>/threads:<n>
  bool list_only = false;        // --list: print the names that would run, run nothing
  std::string format = "console";  // --format: console, json, csv or md, printed when the run ends
  double wait_quiet = 0.0;       // --wait-quiet: seconds to wait for the load average to fall
  bool time_counted = false;     // --time-counted: time the counting instantiation (shows what counters cost)
  std::string placement = "compact";
  bool oversubscribe = false;
  bool interleave = true;
  // --one-thread-cpus: rotate (a 1-thread cell's repetitions take the CPUs
  // of the run's widest cells in turn) or first (always the placement's
  // first CPU). See Runner::one_thread_rotation in harness/run.cpp.
  std::string one_thread_cpus = "rotate";
  std::optional<std::uint64_t> seed;  // --seed: the rounds' order; empty: a fresh random seed
  // --processes: one (every repetition in this process) or fresh (each
  // round's repetitions in a new `_serve` child, so a cell's repetitions
  // see as many address-space layouts as rounds; harness/serve_child.h).
  std::string processes = "fresh";
  std::vector<std::string> forwarded;  // the selection options as given, for the children
  bool freq_control = true;
  double drift_threshold = 0.05;  // |after/before - 1| that flags a benchmark
  double cv_threshold = 0.05;     // coefficient of variation that flags one
  // --metric instructions only:
  int iterations = 0;              // counted iterations per cell; 0: the size's default
  int jobs = 1;                    // cells counted at once, each in its own valgrind
  std::string valgrind = "valgrind";
};

// Defaults, each with its reason.
// 0.05 s a repetition at quick size keeps the 2-core quick matrix near a
// minute while every repetition still runs tens of iterations; full size
// uses 0.5 s so slower, larger iterations still repeat enough.
[[nodiscard]] constexpr double default_min_time(Size s) { return s == Size::quick ? 0.05 : 0.5; }
// The whole default quick matrix (about 120 cells on 2 CPUs) must finish
// within two minutes: its minimum of 6 repetitions takes about a minute, so
// 100 s leaves the rest for cells still short of their precision. Full size
// repetitions are ten times longer, and so is its budget.
[[nodiscard]] constexpr double default_max_time(Size s) { return s == Size::quick ? 100.0 : 1000.0; }
// Instruction counts repeat exactly, so a few iterations say as much as
// many; 3 at quick size keep a cell near a second under callgrind (most of
// it valgrind's start-up and the workload's setup), the whole quick matrix
// within the CI gate's minutes. Full size's iterations are long already.
[[nodiscard]] constexpr int default_counted_iterations(Size s) { return s == Size::quick ? 3 : 1; }

// One cell of the matrix as run: a strategy, a workload, a thread count.
struct Cell {
  std::string name;  // <workload>/<strategy>/threads:<n>
  std::string strategy;
  std::string workload;
  std::uint32_t threads = 1;
  std::vector<int> cpus;  // OS CPU per thread
  bool oversubscribed = false;
};

// Signals. SIGINT, SIGTERM and SIGHUP set interrupted(), so a run stops
// between repetitions, writes every finished benchmark and exits 128 + the
// signal; a second signal ends the process the ordinary way.
class Interrupts {
 public:
  static std::atomic<int>& signal_slot() {
    static std::atomic<int> sig{0};
    return sig;
  }
  static std::atomic<bool>& interrupt_flag() {
    static std::atomic<bool> flag{false};
    return flag;
  }
  [[nodiscard]] static bool interrupted() { return interrupt_flag().load(std::memory_order_relaxed); }
  // The signal that interrupted the run, 0 if none.
  [[nodiscard]] static int signal_number() { return signal_slot().load(std::memory_order_relaxed); }

  static void catch_interrupts() {
    (void)interrupt_flag();  // constructed here, never first inside the handler
    (void)signal_slot();
    struct sigaction sa{};
    sa.sa_handler = [](int sig) {
      int none = 0;
      signal_slot().compare_exchange_strong(none, sig, std::memory_order_relaxed);
      interrupt_flag().store(true, std::memory_order_relaxed);
      ::signal(sig, SIG_DFL);
    };
    sigemptyset(&sa.sa_mask);
    for (int sig : kCaught) sigaction(sig, &sa, nullptr);
  }
  static void release_interrupts() {
    for (int sig : kCaught) ::signal(sig, SIG_DFL);
  }

 private:
  static constexpr int kCaught[] = {SIGINT, SIGTERM, SIGHUP};
};

}  // namespace rcb
