#pragma once
// The strategy x workload cross product, built in this one place from the two
// registries. Thread counts and sizes stay run-time arguments, so code size
// grows with strategies x workloads only.

#include "strategies/registry.h"
#include "workloads/registry.h"

#include <string_view>
#include <type_traits>

namespace rcb {

// One cell of the matrix: a strategy and a workload template.
template <class S, template <class> class W>
struct Combo {
  using Strategy = S;
  template <class T>
  using Workload = W<T>;
  static constexpr const WorkloadInfo& workload_info() { return W<S>::info; }
};

namespace detail {
template <class... Ls>
struct Concat;
template <>
struct Concat<> {
  using type = TypeList<>;
};
template <class... A>
struct Concat<TypeList<A...>> {
  using type = TypeList<A...>;
};
template <class... A, class... B, class... Rest>
struct Concat<TypeList<A...>, TypeList<B...>, Rest...> {
  using type = typename Concat<TypeList<A..., B...>, Rest...>::type;
};

template <class S, class WL>
struct PairWith;
template <class S, template <class> class... Ws>
struct PairWith<S, WorkloadList<Ws...>> {
  using type = TypeList<Combo<S, Ws>...>;
};

template <class SL, class WL>
struct Cross;
template <class... Ss, class WL>
struct Cross<TypeList<Ss...>, WL> {
  using type = typename Concat<typename PairWith<Ss, WL>::type...>::type;
};
}  // namespace detail

using AllCombos = typename detail::Cross<AllStrategies, AllWorkloads>::type;

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
template <class L>
struct BuiltOnly;
template <class... Cs>
struct BuiltOnly<TypeList<Cs...>> {
  using type = typename Concat<std::conditional_t<in_built_matrix<Cs>(), TypeList<Cs>, TypeList<>>...>::type;
};
}  // namespace detail

// The cells this build compiles: AllCombos, or the reduced product above.
using BuiltCombos = typename detail::BuiltOnly<AllCombos>::type;

// Calls f.template operator()<T>() for every T in the list.
template <class... Ts, class F>
void for_each_type(TypeList<Ts...>, F&& f) {
  (f.template operator()<Ts>(), ...);
}

// Workload infos, independent of the strategy (taken from the first one).
template <class F>
void for_each_workload_info(F&& f) {
  []<template <class> class... Ws>(WorkloadList<Ws...>, F& g) {
    (g(Ws<Plain>::info), ...);
  }(AllWorkloads{}, f);
}

}  // namespace rcb
