#pragma once
// The cells a `rcbench run` selection expands to, for the commands that run
// cells without the run's rounds: `rcbench ab`'s serving child
// (harness/ab.cpp) expands its options exactly as `run` does, so both
// sides of an A/B see the cells a run would.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "harness/engine/topology.h"
#include "harness/kernels.h"
#include "harness/session.h"

namespace rcb {

struct PlannedCell {
  Cell cell;
  const CellKernels* kernels = nullptr;
};

struct CellPlan {
  RunOptions opt;  // checked, with the thread counts chosen
  Placement placement;
  WorkShare share;
  std::vector<PlannedCell> cells;
  std::vector<std::string> notes;  // the combinations that cannot run, and why
};

// Timed iterations per repetition: --min-time over the counted pass's
// median iteration, rounded to the nearest power of two (in ratio), so two
// runs whose estimates differ by a few percent time the same number of
// iterations; a repetition then lasts 0.7-1.4 times --min-time.
[[nodiscard]] inline std::uint64_t iterations_per_repetition(double min_time, double seconds_per_iteration) {
  const double wanted = min_time / std::max(seconds_per_iteration, 1e-7);
  if (wanted <= 1) return 1;
  return std::uint64_t{1} << static_cast<int>(std::min(std::round(std::log2(wanted)), 40.0));
}

// Pins worker `tid` to the cell's CPU `tid`. A CPU it cannot bind is passed
// to `unbound` with the reason, and that thread runs unpinned (-1). Every
// worker calls this as it starts, so `unbound` is called under a lock.
[[nodiscard]] inline std::function<int(std::uint32_t)> cpu_binder(
    const Topology& topo, std::vector<int> cpus, std::function<void(int cpu, const std::string& why)> unbound) {
  return [&topo, cpus = std::move(cpus), unbound = std::move(unbound),
          lock = std::make_shared<std::mutex>()](std::uint32_t tid) -> int {
    const int cpu = cpus[tid];
    std::string why;
    if (topo.bind_current_thread(cpu, &why)) return cpu;
    const std::lock_guard<std::mutex> held(*lock);
    unbound(cpu, why);
    return -1;
  };
}

// One timed repetition of `cell`: `iterations` after a warm-up, which pays
// for itself only where a repetition holds several iterations (fork_cow's
// one iteration fills --min-time alone).
[[nodiscard]] inline RepetitionPlan repetition_plan(const Cell& cell, Size size, WorkShare share,
                                                    std::uint64_t iterations, bool helper_threads,
                                                    std::function<int(std::uint32_t)> bind) {
  RepetitionPlan plan;
  plan.threads = cell.threads;
  plan.size = size;
  plan.share = share;
  plan.iterations = iterations;
  plan.warmup = iterations > 1;
  plan.bind = std::move(bind);
  plan.cpus = cell.cpus;
  plan.own_helper_threads = helper_threads;
  return plan;
}

// Throws UsageError on bad options, as `rcbench run` would.
[[nodiscard]] CellPlan plan_cells(const RunOptions& opt, const Topology& topo);

}  // namespace rcb
