#pragma once
// The strategy x workload cross product, built in this one place from the two
// registries: each strategy's row (harness/cells.h), strategies in registry
// order. Thread counts and sizes stay run-time arguments, so code size grows
// with strategies x workloads only.

#include "harness/cells.h"
#include "strategies/registry.h"

namespace rcb {

namespace detail {
template <class SL>
struct Rows;
template <class... Ss>
struct Rows<TypeList<Ss...>> {
  using all = typename Concat<CombosOf<Ss>...>::type;
  using built = typename Concat<BuiltCombosOf<Ss>...>::type;
};
}  // namespace detail

using AllCombos = typename detail::Rows<AllStrategies>::all;
// The cells this build compiles: AllCombos, or the reduced product (cells.h).
using BuiltCombos = typename detail::Rows<AllStrategies>::built;

// Workload infos, independent of the strategy (taken from the first one).
template <class F>
void for_each_workload_info(F&& f) {
  []<template <class> class... Ws>(WorkloadList<Ws...>, F& g) {
    (g(Ws<Plain>::info), ...);
  }(AllWorkloads{}, f);
}

}  // namespace rcb
