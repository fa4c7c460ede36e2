// Every strategy's cells, in registry order. The instantiations live in one
// generated unit per strategy (harness/strategy_kernels.h); a strategy in the
// registry without one is a link error naming fill_strategy_kernels<It>.
#include "harness/kernels.h"
#include "strategies/registry.h"

namespace rcb {

std::vector<CellKernels> all_kernels() {
  std::vector<CellKernels> cells;
  for_each_type(AllStrategies{}, [&]<class S>() { fill_strategy_kernels<S>(cells); });
  return cells;
}

}  // namespace rcb
