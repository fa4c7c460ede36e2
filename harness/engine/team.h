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
// so what the tests check is exactly what the benchmarks time. The threads,
// the command hand-off and the bookkeeping are TeamBase's (team_base.h),
// compiled once; this class holds what sees S and W, the timed region among it.

#include <sched.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "harness/engine/scaling.h"
#include "harness/engine/team_base.h"
#include "harness/engine/usage.h"
#include "strategies/object.h"
#include "strategies/strategy.h"
#include "workloads/census.h"
#include "workloads/workload.h"

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

// Whether this build can count instructions under callgrind (see
// TeamBase::count_instructions).
inline constexpr bool kHaveCallgrind = RCBENCH_HAVE_CALLGRIND;

template <RefCountStrategy S, template <class> class W>
  requires Workload<W, S>
class Team final : public TeamBase {
 public:
  using Ctx = typename S::Context;

  explicit Team(TeamConfig cfg)
      : TeamBase(std::move(cfg)), runtime_(std::make_unique<typename S::Runtime>()), ctxs_(cfg_.threads, nullptr) {
    launch();
  }

  ~Team() override { finish_quietly(); }

  // A factory for the measuring code (measure.h), which runs any cell
  // through TeamBase.
  [[nodiscard]] static TeamFactory factory() {
    return [](const TeamConfig& cfg) -> std::unique_ptr<TeamBase> { return std::make_unique<Team>(cfg); };
  }

 private:
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

  void worker_main(std::uint32_t tid) override {
    Slot& slot = slots_[tid];
    std::optional<Ctx> made;
    try {
      made.emplace(*runtime_, ThreadIndex{tid});  // may throw at a strategy's limit (sharded's 256 threads)
    } catch (...) {
      record_current_error();
      serve_without_context();
      return;
    }
    Ctx& ctx = *made;
    ctxs_[tid] = &ctx;
    ctx.attach();
    ctx.enter_blocking();
    std::uint64_t seen = 0;
    for (;;) {
      seen = wait_for_command(seen);
      const Command c = current_command();
      if (c == Command::exit) break;
      try {
        run_command(c, tid, ctx, slot);
      } catch (...) {
        record_current_error();
      }
      done();
    }
    ctx.leave_blocking();
    ctx.detach();
    slot.allocated = ctx.allocated;
    slot.freed = ctx.freed;
    ctxs_[tid] = nullptr;
    done();
  }

  void run_command(Command c, std::uint32_t tid, Ctx& ctx, Slot& slot) {
    switch (c) {
      case Command::setup:
        if (tid == 0) {
          Running running(ctx);
          workload_.emplace(ctx, cfg_.size, units_);
          // The eval-breaker check a building thread reaches: a collection
          // the setup's allocations asked for runs here, in setup, as
          // CPython's would during the build, not in the first iteration.
          // The other workers are blocked, so a stop-the-world waits for none.
          ctx.safepoint();
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
  [[nodiscard]] Counters collect_counters() const override {
    Counters c = runtime_->counters();
    for (const Ctx* ctx : ctxs_)
      if (ctx) c.merge(ctx->counters);
    return c;
  }

  void report_workload(std::vector<std::pair<std::string, double>>& figures) override {
    if constexpr (requires(const W<S>& w) { w.report([](std::string_view, double) {}); }) {
      if (workload_)
        workload_->report([&](std::string_view name, double value) { figures.emplace_back(std::string(name), value); });
    }
  }

  std::uint64_t close_runtime() override {
    runtime_->shutdown();
    std::uint64_t freed = 0;
    if constexpr (requires { runtime_->objects_freed(); }) freed = runtime_->objects_freed();
    runtime_.reset();
    return freed;
  }

  // The workload's iteration in a function of its own, so its loop gets
  // registers of its own: inlined into worker_main, the code the timed loop
  // compiled to changed with every change to the harness around it (a
  // spilled list pointer cost plain's shared_list one load per item).
  [[gnu::noinline]] static std::uint64_t run_unit(W<S>& workload, Ctx& ctx, ThreadIndex unit) {
    return workload.run(ctx, unit);
  }

  std::unique_ptr<typename S::Runtime> runtime_;
  std::optional<W<S>> workload_;
  std::vector<Ctx*> ctxs_;  // per worker while it is attached
};

}  // namespace rcb
