#pragma once
// What one `rcbench run` knows while it runs: the options, the machine, the
// cells of the matrix, and per-benchmark facts that Google Benchmark's own
// run records have no room for (where threads ran, checksums, calibration).

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/engine/topology.h"
#include "workloads/workload.h"

namespace rcb {

// What `rcbench run` measures: wall time through Google Benchmark, or the
// instructions of the timed region counted by callgrind (harness/instructions.cpp).
enum class Metric : std::uint8_t { time, instructions };

struct RunOptions {
  Metric metric = Metric::time;
  std::vector<std::string> strategies;  // empty: all
  std::vector<std::string> workloads;   // empty: all
  std::vector<std::uint32_t> threads;   // empty: 1 and every allowed PU
  Size size = Size::quick;
  // Wall time is measured in interleaved rounds until each benchmark's median
  // has a 95% confidence interval within +-precision, or max_time runs out.
  int repetitions = 6;           // the least per benchmark (6: the fewest with a distribution-free 95% CI)
  int max_repetitions = 60;      // the most per benchmark
  double precision = 0.02;       // --precision: wanted CI half-width, relative to the median
  double max_time = 0.0;         // --max-time: seconds for the whole run; 0: the size's default
  double min_time = 0.0;  // seconds per repetition; 0: the size's default
  std::string out = "rcbench.json";  // "-": the JSON goes to stdout, everything else to stderr
  std::string filter;            // --filter: ECMAScript regex searched in <workload>/<strategy>/threads:<n>
  bool list_only = false;        // --list: print the names that would run, run nothing
  std::string format = "console";  // --format: console, json, csv or md, printed when the run ends
  double wait_quiet = 0.0;       // --wait-quiet: seconds to wait for the load average to fall
  std::string placement = "compact";
  bool oversubscribe = false;
  bool interleave = true;
  bool freq_control = true;
  double drift_threshold = 0.05;  // |after/before - 1| that flags a benchmark
  double cv_threshold = 0.05;     // coefficient of variation that flags one
  // --metric instructions only:
  int iterations = 0;              // counted iterations per cell; 0: the size's default
  std::string valgrind = "valgrind";
};

// Defaults, each with its reason.
// 0.05 s a repetition at quick size keeps the 2-core quick matrix near a
// minute while every repetition still runs tens of iterations; full size
// uses 0.5 s so slower, larger iterations still repeat enough.
[[nodiscard]] constexpr double default_min_time(Size s) { return s == Size::quick ? 0.05 : 0.5; }
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

class Session {
 public:
  Session(const Topology& topo, RunOptions opt, Placement placement)
      : topo_(topo), opt_(std::move(opt)), placement_(std::move(placement)) {}

  [[nodiscard]] const Topology& topology() const { return topo_; }
  [[nodiscard]] const RunOptions& options() const { return opt_; }
  [[nodiscard]] const Placement& placement() const { return placement_; }

  static std::atomic<bool>& interrupt_flag() {
    static std::atomic<bool> flag{false};
    return flag;
  }
  [[nodiscard]] static bool interrupted() { return interrupt_flag().load(std::memory_order_relaxed); }

  // SIGINT and SIGTERM set interrupted(), so a run stops between
  // benchmarks and keeps what finished; a second Ctrl-C ends the process
  // the ordinary way.
  static void catch_interrupts() {
    (void)interrupt_flag();  // constructed here, never first inside the handler
    struct sigaction sa{};
    sa.sa_handler = [](int sig) {
      interrupt_flag().store(true, std::memory_order_relaxed);
      ::signal(sig, SIG_DFL);
    };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
  }
  static void release_interrupts() {
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
  }

  // Facts about one call of a benchmark function (a probe or a repetition).
  void record_call(const std::string& name, nlohmann::json call) {
    std::lock_guard lock(mu_);
    calls_[name].push_back(std::move(call));
  }
  // The last `n` calls: Google Benchmark's final call of each repetition
  // (probes that sized the iteration count come first).
  [[nodiscard]] std::vector<nlohmann::json> last_calls(const std::string& name, std::size_t n) const {
    std::lock_guard lock(mu_);
    auto it = calls_.find(name);
    if (it == calls_.end()) return {};
    const auto& v = it->second;
    return {v.end() - static_cast<std::ptrdiff_t>(std::min(n, v.size())), v.end()};
  }

  // Progress, counted in repetitions because interleaved repetitions make
  // whole benchmarks finish only near the end. Google Benchmark's first
  // repetition of a benchmark is preceded by probe calls that size the
  // iteration count; a call counts once it ran at least min_time, and every
  // call after that is a repetition.
  void start_progress(std::size_t total_repetitions) {
    total_reps_ = total_repetitions;
    start_ = std::chrono::steady_clock::now();
    tty_ = isatty(STDERR_FILENO) != 0;
  }
  void call_finished(const std::string& name, double seconds, double min_time) {
    std::lock_guard lock(mu_);
    bool& sized = sized_[name];
    if (!sized && seconds < min_time) return;  // a probe
    sized = true;
    ++reps_done_;
    if (tty_) {
      std::fprintf(stderr, "\r\033[K%s", progress_locked().c_str());
      std::fflush(stderr);
    }
  }
  [[nodiscard]] std::string progress() const {
    std::lock_guard lock(mu_);
    return progress_locked();
  }
  // Clears the status line before ordinary output is printed.
  void clear_status() const {
    if (tty_) std::fprintf(stderr, "\r\033[K");
  }

  // The effective clock of `cpu` now. Benchmark calls run back to back, so
  // one call's "after" calibration serves as the next call's "before" when
  // it was taken on the same CPU moments ago; that halves the cost of
  // calibrating every call.
  template <class Measure>
  double calibrated_ghz(int cpu, bool reuse_recent, Measure&& measure) {
    const auto now = std::chrono::steady_clock::now();
    if (reuse_recent && last_cal_cpu_ == cpu && now - last_cal_at_ < std::chrono::milliseconds(50))
      return last_cal_ghz_;
    const double ghz = measure();
    last_cal_cpu_ = cpu;
    last_cal_at_ = std::chrono::steady_clock::now();
    last_cal_ghz_ = ghz;
    return ghz;
  }

  void fail(const std::string& what) {
    std::lock_guard lock(mu_);
    failures_.push_back(what);
  }
  [[nodiscard]] std::vector<std::string> failures() const {
    std::lock_guard lock(mu_);
    return failures_;
  }
  void warn_once(const std::string& what) {
    std::lock_guard lock(mu_);
    for (const auto& w : warnings_)
      if (w == what) return;
    warnings_.push_back(what);
  }
  [[nodiscard]] std::vector<std::string> warnings() const {
    std::lock_guard lock(mu_);
    return warnings_;
  }

 private:
  const Topology& topo_;
  RunOptions opt_;
  Placement placement_;
  [[nodiscard]] std::string progress_locked() const {
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    char buf[160];
    if (reps_done_ == 0) {
      std::snprintf(buf, sizeof buf, "%zu/%zu repetitions, %.0fs elapsed", reps_done_, total_reps_, elapsed);
    } else {
      const double left = elapsed / static_cast<double>(reps_done_) * static_cast<double>(total_reps_ - reps_done_);
      std::snprintf(buf, sizeof buf, "%zu/%zu repetitions, %.0fs elapsed, ~%.0fs left", reps_done_, total_reps_,
                    elapsed, left);
    }
    return buf;
  }

  mutable std::mutex mu_;
  std::size_t total_reps_ = 0, reps_done_ = 0;
  std::map<std::string, bool> sized_;
  std::chrono::steady_clock::time_point start_;
  bool tty_ = false;
  int last_cal_cpu_ = -2;
  std::chrono::steady_clock::time_point last_cal_at_;
  double last_cal_ghz_ = 0.0;
  std::map<std::string, std::vector<nlohmann::json>> calls_;
  std::vector<std::string> failures_;
  std::vector<std::string> warnings_;
};

}  // namespace rcb
