#pragma once
// The cells of one strategy: that strategy paired with every workload of the
// registry (those this build compiles). Needs the workloads and the one
// strategy, not the strategy registry, so a translation unit that
// instantiates one strategy's cells includes that strategy's header alone
// (harness/strategy_kernels.h). harness/matrix.h builds the whole cross
// product from these rows.

#include <string_view>
#include <type_traits>

#include "harness/type_list.h"
#include "workloads/registry.h"

namespace rcb {

// One cell of the matrix: a strategy and a workload template.
template <class S, template <class> class W>
struct Combo {
  using Strategy = S;
  template <class T>
  using Workload = W<T>;
  static constexpr const WorkloadInfo& workload_info() { return W<S>::info; }
};

// Sanitizer builds compile a reduced cross product, to keep the three CI
// presets within their time (CI's 2-core machine spent most of it compiling
// sanitizer cells): every strategy with the workloads that attack it hardest
// (a cross-thread drop, one hot line, shared reads, private churn, and the
// interpreter's cross-thread queue, pyvm_producer_consumer, whose stack
// references deferred and cpython_ft collections scan); `atomic` with every
// workload; and `cpython_ft`, the strategy the pyvm_* family and
// blocked_owner are for, with all of them. So each strategy and each
// workload runs under each sanitizer. Release builds compile it all; every
// strategy x every pyvm_* program at 1-4 threads ran clean under TSan when
// the family was added (test_strategies --gtest_filter=*pyvm*, tsan preset).
#if defined(RCBENCH_REDUCED_MATRIX)
inline constexpr bool kReducedMatrix = true;
#else
inline constexpr bool kReducedMatrix = false;
#endif

template <class C>
[[nodiscard]] constexpr bool in_built_matrix() {
  if constexpr (!kReducedMatrix) {
    return true;
  } else {
    constexpr std::string_view w = C::workload_info().name;
    constexpr std::string_view s = C::Strategy::info.name;
    const bool every_workload = s == "atomic" || (s == "cpython_ft" && (w.starts_with("pyvm_") || w == "blocked_owner"));
    const bool every_strategy = w == "handoff" || w == "hot_object" || w == "shared_list" ||
                                w == "private_churn" || w == "pyvm_producer_consumer";
    return every_workload || every_strategy;
  }
}

namespace detail {
template <class S, class WL>
struct PairWith;
template <class S, template <class> class... Ws>
struct PairWith<S, WorkloadList<Ws...>> {
  using type = TypeList<Combo<S, Ws>...>;
};

template <class L>
struct BuiltOnly;
template <class... Cs>
struct BuiltOnly<TypeList<Cs...>> {
  using type = typename Concat<std::conditional_t<in_built_matrix<Cs>(), TypeList<Cs>, TypeList<>>...>::type;
};
}  // namespace detail

// S with every workload, in registry order.
template <class S>
using CombosOf = typename detail::PairWith<S, AllWorkloads>::type;
// The cells of S this build compiles: CombosOf<S>, or its part of the
// reduced product above.
template <class S>
using BuiltCombosOf = typename detail::BuiltOnly<CombosOf<S>>::type;

}  // namespace rcb
