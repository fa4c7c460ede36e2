// The timed half of the cross product: identity, and Team<Uncounted<S>, W>,
// which the timed repetitions and the instruction count both run.
#include "harness/engine/count_cell.h"
#include "harness/engine/helper_threads.h"
#include "harness/kernels.h"
#include "harness/matrix.h"

namespace rcb {

// valgrind cannot run a sanitizer build, so such a build refuses
// --metric instructions and compiles no counting child.
inline constexpr bool kSanitizerBuild = sizeof(RCBENCH_SANITIZER_NAME) > 1;

std::vector<CellKernels> all_kernels() {
  std::vector<CellKernels> cells;
  detail::fill_timed_kernels(cells);
  detail::fill_counted_kernels(cells);
  return cells;
}

void detail::fill_timed_kernels(std::vector<CellKernels>& cells) {
  for_each_type(BuiltCombos{}, [&]<class C>() {
    using S = typename C::Strategy;
    CellKernels k;
    k.strategy = std::string(S::info.name);
    k.workload = std::string(C::workload_info().name);
    k.multi_threaded = S::info.multi_threaded;
    k.reported.assign(S::reported.begin(), S::reported.end());
    k.supports = [](std::uint32_t t) { return workload_supports<C::template Workload, S>(t); };
    k.units_independent = units_are_independent<C::template Workload, S>();
    k.repetition = [](const RepetitionPlan& plan) { return run_repetition<Uncounted<S>, C::template Workload>(plan); };
    k.forks_processes = kForksProcesses<typename C::template Workload<S>>;
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
