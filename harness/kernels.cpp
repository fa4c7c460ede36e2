// Every strategy's cells, in registry order. The instantiations live in one
// generated unit per strategy (harness/strategy_kernels.h); a strategy in the
// registry without one is a link error naming fill_strategy_kernels<It>.
#include "harness/commands.h"
#include "harness/kernels.h"
#include "harness/matrix.h"

namespace rcb {

std::vector<CellKernels> all_kernels() {
  std::vector<CellKernels> cells;
  for_each_type(AllStrategies{}, [&]<class S>() { fill_strategy_kernels<S>(cells); });
  return cells;
}

std::vector<StrategyInfo> strategy_infos() {
  std::vector<StrategyInfo> v;
  for_each_type(AllStrategies{}, [&]<class S>() { v.push_back(S::info); });
  return v;
}

std::vector<WorkloadInfo> workload_infos() {
  std::vector<WorkloadInfo> v;
  for_each_workload_info([&](const WorkloadInfo& w) { v.push_back(w); });
  return v;
}

std::vector<std::string> strategy_names() {
  std::vector<std::string> v;
  for (const StrategyInfo& s : strategy_infos()) v.emplace_back(s.name);
  return v;
}

std::vector<std::string> workload_names() {
  std::vector<std::string> v;
  for (const WorkloadInfo& w : workload_infos()) v.emplace_back(w.name);
  return v;
}

}  // namespace rcb
