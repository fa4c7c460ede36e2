#pragma once
// The cells of one strategy, type-erased: Team<Uncounted<S>, W>, which the
// timed repetitions and the instruction count run, and Team<S, W>, which the
// counted pass runs, for every workload this build compiles. Included only
// by the generated units (harness/CMakeLists.txt, kernels_unit.cpp.in), one
// per strategy, each after that strategy's header: so a 2-core machine
// builds the strategies in parallel, and touching one strategy recompiles
// its unit alone.

#include "harness/cells.h"
#include "harness/engine/count_cell.h"
#include "harness/engine/helper_threads.h"
#include "harness/engine/measure.h"
#include "harness/kernels.h"

namespace rcb {

template <class S>
void fill_strategy_kernels(std::vector<CellKernels>& cells) {
  for_each_type(BuiltCombosOf<S>{}, [&]<class C>() {
    CellKernels k;
    k.strategy = std::string(S::info.name);
    k.workload = std::string(C::workload_info().name);
    k.multi_threaded = S::info.multi_threaded;
    k.reported.assign(S::reported.begin(), S::reported.end());
    k.supports = [](std::uint32_t t) { return workload_supports<C::template Workload, S>(t); };
    k.units_independent = units_are_independent<C::template Workload, S>();
    k.forks_processes = kForksProcesses<typename C::template Workload<S>>;
    k.repetition = [](const RepetitionPlan& plan) { return run_repetition<Uncounted<S>, C::template Workload>(plan); };
    if constexpr (kTimeCountedBuild)
      k.repetition_counted = [](const RepetitionPlan& plan) { return run_repetition<S, C::template Workload>(plan); };
    k.counted = [](std::uint32_t threads, Size size, double min_time, const std::function<int(std::uint32_t)>& bind,
                   WorkShare share) {
      return counted_pass<S, C::template Workload>(threads, size, min_time, bind, share);
    };
    if constexpr (!kSanitizerBuild) {
      k.count_instructions = [](Size size, int iterations) {
        return count_cell<S, C::template Workload>(size, iterations);
      };
      k.helper_threads = [](Size size) { return helper_threads<Uncounted<S>, C::template Workload>(size); };
    }
    cells.push_back(std::move(k));
  });
}

}  // namespace rcb
