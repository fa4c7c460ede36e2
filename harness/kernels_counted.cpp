// The counted half of the cross product: Team<S, W>, never timed.
#include "harness/kernels.h"
#include "harness/matrix.h"

namespace rcb {

void detail::fill_counted_kernels(std::vector<CellKernels>& cells) {
  std::size_t i = 0;
  for_each_type(BuiltCombos{}, [&]<class C>() {
    using S = typename C::Strategy;
    cells.at(i++).counted = [](std::uint32_t threads, Size size, double min_time,
                               const std::function<int(std::uint32_t)>& bind, WorkShare share) {
      return counted_pass<S, C::template Workload>(threads, size, min_time, bind, share);
    };
    cells.at(i - 1).repetition_counted = [](const RepetitionPlan& plan) {
      return run_repetition<S, C::template Workload>(plan);
    };
  });
}

}  // namespace rcb
