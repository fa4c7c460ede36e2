#pragma once
// The strategy x workload cross product, built in this one place from the two
// registries. Thread counts and sizes stay run-time arguments, so code size
// grows with strategies x workloads only.

#include "strategies/registry.h"
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
