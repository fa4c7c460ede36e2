#pragma once
// Team: runs one workload under one strategy on N persistent worker threads.
//
// The threads are started, pinned and attached once per run; setup (building
// the workload's shared structures) and teardown happen on thread 0 outside
// the timed region. Each timed iteration releases all workers together
// through a spinning start barrier, so thread creation, wake-up latency and
// setup never count. An iteration's time is the span from the first thread
// leaving the barrier to the last thread finishing (wall time of the whole
// team). The main thread blocks (futex) while workers run, so on a 2-core
// machine it does not steal a core from them.
//
// Under strong scaling (harness/engine/scaling.h) the workload is built for
// U units instead of N threads, and each worker runs its range of units one
// after another in every iteration; its Context stays that of the real
// thread, so a strategy only ever sees the N threads that exist.
//
// Both the benchmark harness and the tests run workloads through this class,
// so what the tests check is exactly what the benchmarks time.

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "harness/engine/scaling.h"
#include "harness/engine/usage.h"
#include "strategies/object.h"
#include "strategies/strategy.h"
#include "workloads/census.h"
#include "workloads/workload.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

// Callgrind's client requests are a few no-op instructions natively; without
// the valgrind headers, `rcbench run --metric instructions` cannot work, but
// everything else must still build.
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define RCBENCH_HAVE_CALLGRIND 1
#else
#define CALLGRIND_TOGGLE_COLLECT do { } while (0)
#define RCBENCH_HAVE_CALLGRIND 0
#endif

namespace rcb {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
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

// Whether this build can count instructions under callgrind (see
// Team::count_instructions).
inline constexpr bool kHaveCallgrind = RCBENCH_HAVE_CALLGRIND;

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

template <RefCountStrategy S, template <class> class W>
  requires Workload<W, S>
class Team {
 public:
  using Ctx = typename S::Context;

  explicit Team(TeamConfig cfg)
      : cfg_(std::move(cfg)), units_(cfg_.share.units(cfg_.threads)), slots_(cfg_.threads) {
    if (cfg_.threads == 0) throw std::invalid_argument("a team needs at least one thread");
    if (units_ < cfg_.threads)
      throw std::invalid_argument("strong scaling needs at least one unit of work per thread");
    runtime_ = std::make_unique<typename S::Runtime>();
    workers_.reserve(cfg_.threads);
    for (std::uint32_t t = 0; t < cfg_.threads; ++t)
      workers_.emplace_back([this, t] { worker_main(t); });
    command(Command::setup);
    if (has_error_.load(std::memory_order_acquire)) {
      // Setup failed: stop the workers before the error leaves, or their
      // std::thread destructors would terminate the program. A workload
      // that was built (another thread failed) is torn down first, so its
      // objects are freed.
      command(Command::teardown);
      command(Command::exit);
      for (auto& w : workers_) w.join();
      runtime_->shutdown();
      finished_ = true;
      rethrow_worker_error();
    }
    baseline_ = collect_counters();
  }

  Team(const Team&) = delete;
  Team& operator=(const Team&) = delete;

  ~Team() {
    if (!finished_) {
      try {
        (void)finish();
      } catch (...) {
      }
    }
  }

  // One timed iteration on every thread.
  IterationResult iterate() {
    command(Command::iterate);
    rethrow_worker_error();
    std::int64_t first = INT64_MAX, last = INT64_MIN;
    std::uint64_t sum = 0;
    std::uint32_t units = 0;
    std::vector<ThreadUsage> usage;
    usage.reserve(slots_.size());
    for (auto& s : slots_) {
      first = std::min(first, s.t0);
      last = std::max(last, s.t1);
      sum += s.checksum;
      units += s.units;
      usage.push_back(s.usage);
    }
    return {static_cast<double>(last - first) * 1e-9, sum, units, std::move(usage)};
  }

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
  RunTotals finish() {
    finished_ = true;
    RunTotals totals;
    totals.counters = collect_counters().since(baseline_);
    if constexpr (requires(const W<S>& w) { w.report([](std::string_view, double) {}); }) {
      if (workload_)
        workload_->report([&](std::string_view name, double value) {
          totals.workload_figures.emplace_back(std::string(name), value);
        });
    }
    command(Command::teardown);
    command(Command::exit);
    for (auto& w : workers_) w.join();
    runtime_->shutdown();
    for (auto& s : slots_) {
      totals.allocated += s.allocated;
      totals.freed += s.freed;
      totals.bound_cpu.push_back(s.bound_cpu);
      totals.last_cpu.push_back(s.last_cpu);
    }
    if constexpr (requires { runtime_->objects_freed(); }) totals.freed += runtime_->objects_freed();
    runtime_.reset();
    rethrow_worker_error();
    return totals;
  }

 private:
  enum class Command : std::uint8_t { none, setup, iterate, teardown, exit };

  // Out of the blocking state for one command, and back in even when the
  // workload throws: a GIL holder leaving by exception would otherwise keep
  // the lock and stall every other thread at its next command.
  struct Running {
    explicit Running(Ctx& c) : ctx(c) { ctx.leave_blocking(); }
    ~Running() { ctx.enter_blocking(); }
    Running(const Running&) = delete;
    Running& operator=(const Running&) = delete;
    Ctx& ctx;
  };

  struct alignas(64) Slot {
    Ctx* ctx = nullptr;
    std::int64_t t0 = 0, t1 = 0;
    std::uint64_t checksum = 0;
    std::uint32_t units = 0;  // run() calls in the last iteration
    std::uint64_t allocated = 0, freed = 0;
    int bound_cpu = -1, last_cpu = -1;
    ThreadUsage usage;
  };

  static std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  // Posts a command and blocks until every worker has done it.
  void command(Command c) {
    current_ = c;
    arrived_.store(0, std::memory_order_relaxed);
    remaining_.store(cfg_.threads, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();
    for (std::uint32_t r; (r = remaining_.load(std::memory_order_acquire)) != 0;)
      remaining_.wait(r, std::memory_order_acquire);
  }

  std::uint64_t wait_for_command(std::uint64_t seen) {
    for (int spin = 0; spin < 4096; ++spin) {
      const auto g = generation_.load(std::memory_order_acquire);
      if (g != seen) return g;
      cpu_relax();
    }
    for (;;) {
      generation_.wait(seen, std::memory_order_acquire);
      const auto g = generation_.load(std::memory_order_acquire);
      if (g != seen) return g;
    }
  }

  void start_barrier() {
    arrived_.fetch_add(1, std::memory_order_acq_rel);
    for (int spin = 0; arrived_.load(std::memory_order_acquire) < cfg_.threads; ++spin) {
      if (spin < 4096)
        cpu_relax();
      else
        std::this_thread::yield();  // oversubscribed: let the others arrive
    }
  }

  void done() {
    if (remaining_.fetch_sub(1, std::memory_order_acq_rel) == 1) remaining_.notify_one();
  }

  void record_error(std::exception_ptr e) {
    bool expected = false;
    if (has_error_.compare_exchange_strong(expected, true)) error_ = e;
  }

  void rethrow_worker_error() {
    if (has_error_.load(std::memory_order_acquire)) std::rethrow_exception(error_);
  }

  void worker_main(std::uint32_t tid) {
    Slot& slot = slots_[tid];
    if (cfg_.on_thread_start) slot.bound_cpu = cfg_.on_thread_start(tid);
    std::optional<Ctx> made;
    try {
      made.emplace(*runtime_, ThreadIndex{tid});  // may throw at a strategy's limit (sharded's 256 threads)
    } catch (...) {
      // No context, so no work: answer every command, so command() returns
      // and the error surfaces as the team's, instead of std::terminate.
      record_error(std::current_exception());
      for (std::uint64_t seen = 0;;) {
        seen = wait_for_command(seen);
        const Command c = current_;
        done();
        if (c == Command::exit) return;
      }
    }
    Ctx& ctx = *made;
    slot.ctx = &ctx;
    ctx.attach();
    ctx.enter_blocking();
    std::uint64_t seen = 0;
    for (;;) {
      seen = wait_for_command(seen);
      const Command c = current_;
      if (c == Command::exit) break;
      try {
        run_command(c, tid, ctx, slot);
      } catch (...) {
        record_error(std::current_exception());
      }
      done();
    }
    ctx.leave_blocking();
    ctx.detach();
    slot.allocated = ctx.allocated;
    slot.freed = ctx.freed;
    slot.ctx = nullptr;
    done();
  }

  void run_command(Command c, std::uint32_t tid, Ctx& ctx, Slot& slot) {
    switch (c) {
      case Command::setup:
        if (tid == 0) {
          Running running(ctx);
          workload_.emplace(ctx, cfg_.size, units_);
          if constexpr (requires(Census c) { workload_->take_census(c); })
            if (cfg_.census) workload_->take_census(Census::of(*runtime_));
          expected_ = workload_->expected_checksum();
          items_per_thread_ = workload_->items_per_thread();
          if (cfg_.after_setup) cfg_.after_setup();
          if constexpr (requires { runtime_->freeze(*workload_); }) runtime_->freeze(*workload_);
        }
        break;
      case Command::iterate: {
        // Usage is read around, never inside, the timed span t0..t1.
        const ThreadUsage before = ThreadUsage::now();
        start_barrier();
        slot.t0 = now_ns();
        if (count_instructions_) [[unlikely]]
          CALLGRIND_TOGGLE_COLLECT;
        Running running(ctx);
        // Weak scaling: unit tid alone. The index names the unit's share of
        // the data, never the thread: ctx carries the thread.
        const UnitRange mine = units_of(tid, cfg_.threads, units_);
        std::uint64_t checksum = 0;
        for (std::uint32_t u = mine.begin; u < mine.end; ++u) checksum += run_unit(*workload_, ctx, ThreadIndex{u});
        slot.checksum = checksum;
        slot.units = mine.size();
        ctx.safepoint();
        if (count_instructions_) [[unlikely]]
          CALLGRIND_TOGGLE_COLLECT;
        slot.t1 = now_ns();
        slot.usage = ThreadUsage::now() - before;
        slot.last_cpu = sched_getcpu();
        break;
      }
      case Command::teardown:
        if (tid == 0 && workload_) {
          Running running(ctx);
          workload_->teardown(ctx);
        }
        break;
      case Command::none:
      case Command::exit:
        break;
    }
  }

  // Only called while every worker is parked: the remaining_ hand-off
  // orders their counter writes before these reads.
  Counters collect_counters() const {
    Counters c = runtime_->counters();
    for (const auto& s : slots_)
      if (s.ctx) c.merge(s.ctx->counters);
    return c;
  }

  // The workload's iteration in a function of its own, so its loop gets
  // registers of its own: inlined into worker_main, the code the timed loop
  // compiled to changed with every change to the harness around it (a
  // spilled list pointer cost plain's shared_list one load per item).
  [[gnu::noinline]] static std::uint64_t run_unit(W<S>& workload, Ctx& ctx, ThreadIndex unit) {
    return workload.run(ctx, unit);
  }

  TeamConfig cfg_;
  std::uint32_t units_;
  std::unique_ptr<typename S::Runtime> runtime_;
  std::optional<W<S>> workload_;
  std::vector<Slot> slots_;
  std::vector<std::thread> workers_;
  Counters baseline_;
  std::uint64_t expected_ = 0;
  std::uint64_t items_per_thread_ = 0;
  bool finished_ = false;
  bool count_instructions_ = false;

  Command current_ = Command::none;
  alignas(64) std::atomic<std::uint64_t> generation_{0};
  alignas(64) std::atomic<std::uint32_t> arrived_{0};
  alignas(64) std::atomic<std::uint32_t> remaining_{0};
  std::atomic<bool> has_error_{false};
  std::exception_ptr error_;
};

}  // namespace rcb
