// The timed half of the cross product: identity, and Team<Uncounted<S>, W>.
#include "harness/kernels.h"
#include "harness/matrix.h"

namespace rcb {

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
    cells.push_back(std::move(k));
  });
}

}  // namespace rcb
