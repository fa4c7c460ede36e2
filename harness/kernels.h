#pragma once
// Every cell of the strategy x workload cross product, type-erased once, at
// start-up, so the runner's loop over rounds is ordinary code. The erasure
// sits outside the timed region on purpose: a repetition calls one
// std::function, which then runs a fully inlined Team<Uncounted<S>, W>.
//
// Each strategy's cells are compiled in a translation unit of their own
// (harness/strategy_kernels.h), so the units build in parallel and touching
// one strategy recompiles one unit.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "harness/engine/measure.h"

namespace rcb {

struct CellKernels {
  std::string strategy;
  std::string workload;
  bool multi_threaded = true;           // the strategy runs at more than one thread
  bool units_independent = true;        // the workload can run under strong scaling (engine/scaling.h)
  std::vector<Counter> reported;        // the strategy's counters
  std::function<ThreadSupport(std::uint32_t)> supports;
  std::function<Repetition(const RepetitionPlan&)> repetition;          // Uncounted<S>: what is measured
  // S: --time-counted only, and only where configured with RCBENCH_TIME_COUNTED=ON (empty otherwise).
  std::function<Repetition(const RepetitionPlan&)> repetition_counted;
  bool forks_processes = false;  // its work runs in forked children (fork_cow)
  // Release builds only (empty in sanitizer builds, which refuse the metric):
  // --metric instructions' counting child, and how many helper threads the
  // strategy's runtime starts, both on Uncounted<S>.
  std::function<int(Size size, int iterations)> count_instructions;
  std::function<std::size_t(Size size)> helper_threads;
  std::function<CountedPass(std::uint32_t threads, Size size, double min_time,
                            const std::function<int(std::uint32_t)>& bind, WorkShare share)>
      counted;
};

// valgrind cannot run a sanitizer build, so such a build refuses
// --metric instructions and compiles no counting child for any cell (that
// instantiation was the largest compile of the sanitizer presets).
// RCBENCH_SANITIZER_NAME comes with rcbench_harness (harness/CMakeLists.txt).
inline constexpr bool kSanitizerBuild = sizeof(RCBENCH_SANITIZER_NAME) > 1;

// A second timed instantiation of every cell, the counting one, for the
// --time-counted diagnostic. Off by default: it added about a sixth to every
// strategy unit's compile, for a figure a developer asks for now and then
// (configure with -DRCBENCH_TIME_COUNTED=ON to get it).
#if defined(RCBENCH_TIME_COUNTED)
inline constexpr bool kTimeCountedBuild = true;
#else
inline constexpr bool kTimeCountedBuild = false;
#endif

// The two registries' entries, in registry order. Defined beside
// all_kernels(), the one harness unit that includes every strategy header:
// the rest of the harness lists and validates names through these, so
// touching a strategy recompiles its own unit and this one, not the runner.
[[nodiscard]] std::vector<StrategyInfo> strategy_infos();
[[nodiscard]] std::vector<WorkloadInfo> workload_infos();

// In registry order: strategies outer, workloads inner.
[[nodiscard]] std::vector<CellKernels> all_kernels();

// Appends strategy S's cells, workloads in registry order. Defined in
// harness/strategy_kernels.h and instantiated once per strategy, in its unit.
template <class S>
void fill_strategy_kernels(std::vector<CellKernels>& cells);

}  // namespace rcb
