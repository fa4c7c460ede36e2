#pragma once
// TeamBase: what a Team (harness/engine/team.h) does that does not depend on
// the strategy or the workload: starting and joining the worker threads, the
// command hand-off between the main thread and the workers, collecting an
// iteration's timings, and the bookkeeping of finish(). It is compiled once
// (team_base.cpp) instead of once per cell: a strategy's unit instantiates
// 34 teams, and before this split the machinery around the timed loop was
// most of each unit's code and compile time.
//
// What stays in Team<S, W> is what must see S and W: the worker's Context,
// the workload, and the timed region itself (Team::run_command), so the code
// that is timed and counted is still compiled with the cell.

#include <sched.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "harness/engine/scaling.h"
#include "harness/engine/usage.h"
#include "strategies/strategy.h"
#include "workloads/workload.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace rcb {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

inline std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(v));
  return buf;
}

struct TeamConfig {
  std::uint32_t threads = 1;
  Size size = Size::quick;
  WorkShare share;  // weak scaling unless told otherwise
  // Called on each worker as it starts (pinning); returns the logical CPU it
  // was bound to, or -1 when unbound. Not on any timed path.
  std::function<int(std::uint32_t tid)> on_thread_start;
  // Called after setup, on thread 0 (freeze passes hook in here).
  std::function<void()> after_setup;
  // Hands the workload a Census (workloads/census.h) if it takes one: set
  // for the counted pass only, so timed repetitions do no sampling.
  bool census = false;
};

struct IterationResult {
  double seconds;           // first start to last finish
  std::uint64_t checksum;   // sum of the threads' checksums, mod 2^64
  std::uint32_t units;      // run() calls made, over all threads
  std::vector<ThreadUsage> usage;  // per worker, from just before its start barrier to just after t1
};

struct RunTotals {
  Counters counters;              // timed iterations only, threads + runtime
  std::uint64_t allocated = 0;    // whole run, setup and teardown included
  std::uint64_t freed = 0;
  std::vector<int> bound_cpu;     // per thread, -1 if unbound
  std::vector<int> last_cpu;      // per thread, where it was when its last iteration ended
  std::vector<std::pair<std::string, double>> workload_figures;  // from W::report()
  [[nodiscard]] std::int64_t live() const {
    return static_cast<std::int64_t>(allocated) - static_cast<std::int64_t>(freed);
  }
};

class TeamBase {
 public:
  TeamBase(const TeamBase&) = delete;
  TeamBase& operator=(const TeamBase&) = delete;
  virtual ~TeamBase();

  // One timed iteration on every thread.
  IterationResult iterate();

  // Under callgrind started with --collect-atstart=no, makes every worker
  // count the instructions of exactly its timed region in later iterations
  // (callgrind's collection state is per thread, so the main thread's
  // waiting and any helper thread stay out). Call between iterations only:
  // the command hand-off publishes it to the workers.
  void count_instructions(bool on) { count_instructions_ = on; }

  [[nodiscard]] std::uint64_t expected_checksum() const { return expected_; }
  [[nodiscard]] std::uint64_t items_per_thread() const { return items_per_thread_; }
  // run() calls per iteration, over all threads: N, or U under strong scaling.
  [[nodiscard]] std::uint32_t units() const { return units_; }

  // Tears down, detaches every thread, joins, shuts the runtime down and
  // returns what happened. Counters cover the timed iterations only.
  RunTotals finish();

  // What is wrong with one iteration, or "": its checksum must be the
  // workload's expected one, which holds for exactly units() run() calls.
  [[nodiscard]] std::string iteration_error(const IterationResult& r) const;

 protected:
  enum class Command : std::uint8_t { none, setup, iterate, teardown, exit };

  // Per worker; written by that worker, read by the main thread only while
  // every worker is parked (the remaining_ hand-off orders them).
  struct alignas(64) Slot {
    std::int64_t t0 = 0, t1 = 0;
    std::uint64_t checksum = 0;
    std::uint32_t units = 0;  // run() calls in the last iteration
    std::uint64_t allocated = 0, freed = 0;
    int bound_cpu = -1, last_cpu = -1;
    ThreadUsage usage;
  };

  explicit TeamBase(TeamConfig cfg);

  // Starts the workers (each runs worker_main), sets the workload up and
  // takes the counters' baseline; rethrows a setup failure after stopping
  // the workers. Called at the end of the derived constructor, when the
  // hooks below are the derived class's.
  void launch();
  // For the derived destructor: finish() unless done, swallowing errors.
  void finish_quietly() noexcept;

  // The hooks a Team<S, W> provides.
  virtual void worker_main(std::uint32_t tid) = 0;
  [[nodiscard]] virtual Counters collect_counters() const = 0;
  virtual void report_workload(std::vector<std::pair<std::string, double>>& figures) = 0;
  // Shuts the runtime down and destroys it; returns the objects it freed
  // itself (a runtime that frees on its own threads), else 0.
  virtual std::uint64_t close_runtime() = 0;

  // For worker_main.
  [[nodiscard]] std::uint64_t wait_for_command(std::uint64_t seen) const;
  [[nodiscard]] Command current_command() const { return current_; }
  void done();
  // Call inside a catch block: keeps the first error of the team.
  void record_current_error() noexcept;
  // A worker whose Context could not be made answers every command without
  // work, so command() returns and the error surfaces as the team's.
  void serve_without_context();

  void start_barrier() {
    arrived_.fetch_add(1, std::memory_order_acq_rel);
    for (int spin = 0; arrived_.load(std::memory_order_acquire) < cfg_.threads; ++spin) {
      if (spin < 4096)
        cpu_relax();
      else
        std::this_thread::yield();  // oversubscribed: let the others arrive
    }
  }

  static std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  TeamConfig cfg_;
  std::uint32_t units_;
  std::vector<Slot> slots_;
  std::uint64_t expected_ = 0;
  std::uint64_t items_per_thread_ = 0;
  bool count_instructions_ = false;

 private:
  // Posts a command and blocks until every worker has done it.
  void command(Command c);
  void rethrow_worker_error();
  void stop_workers();

  std::vector<std::thread> workers_;
  Counters baseline_;
  bool finished_ = false;

  Command current_ = Command::none;
  alignas(64) std::atomic<std::uint64_t> generation_{0};
  alignas(64) std::atomic<std::uint32_t> arrived_{0};
  alignas(64) std::atomic<std::uint32_t> remaining_{0};
  std::atomic<bool> has_error_{false};
  std::exception_ptr error_;
};

// Builds the Team of one cell: how the non-template measuring code
// (measure.h) is handed a cell.
using TeamFactory = std::function<std::unique_ptr<TeamBase>(const TeamConfig&)>;

}  // namespace rcb
