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
// presets within their time (the cells were 600 of a sanitizer build's
// 800 s of compiling, with five workloads under every strategy): `atomic`, the reference
// count every other protocol is read against, with every workload; every
// strategy with the three workloads that attack any count hardest, handoff
// (a drop on another thread than the one that took the reference),
// hot_object (every thread on one object's count) and the interpreter's
// cross-thread queue, pyvm_producer_consumer (stack references, which
// deferred and cpython_ft collections scan); and each strategy with
// the workloads its own mechanism is for (kSanitizerFocus). So each
// strategy and each workload runs under each sanitizer (test_matrix's
// Coverage test checks it). Release builds compile it all.
#if defined(RCBENCH_REDUCED_MATRIX)
inline constexpr bool kReducedMatrix = true;
#else
inline constexpr bool kReducedMatrix = false;
#endif

struct SanitizerFocus {
  std::string_view strategy;
  std::string_view workload;
};
inline constexpr SanitizerFocus kSanitizerFocus[] = {
    {"plain", "shared_list"},                   // the floor every overhead is read against
    {"plain", "private_churn"},
    {"gil", "shared_list"},                     // reads under the lock
    {"buffered", "shared_list"},                // the commit thread behind many readers
    {"biased", "shared_list"},                  // shared reads queue and merge
    {"biased", "blocked_owner"},                // merges while the owner is blocked
    {"frozen", "shared_list"},                  // the freeze pass, then uncounted reads
    {"remote", "fork_cow"},                     // counts on their own pages
    {"remote_padded", "shared_list"},
    {"immortal", "pyvm_shared_iter_imm"},       // immortal globals through the interpreter
    {"deferred", "pyvm_shared_iter"},           // shared iteration through the interpreter
    {"cpython_ft", "blocked_owner"},            // the pause waits for a blocked owner
    {"cpython_ft", "pyvm_shared_call"},         // deferred functions called from threads
    {"sticky", "pyvm_tuple_tree"},              // publish() walks the containers
    {"sticky", "shared_list"},
    {"sharded", "shared_list"},                 // per-shard counts, kill and drain
    {"refcache", "private_churn"},              // cache-slot evictions and epoch frees
    {"refcache", "shared_list"},
    {"libstdcxx", "shared_list"},
    {"boost_intrusive", "shared_list"},
};

template <class C>
[[nodiscard]] constexpr bool in_built_matrix() {
  if constexpr (!kReducedMatrix) {
    return true;
  } else {
    constexpr std::string_view w = C::workload_info().name;
    constexpr std::string_view s = C::Strategy::info.name;
    if (s == "atomic" || w == "handoff" || w == "hot_object" || w == "pyvm_producer_consumer") return true;
    for (const SanitizerFocus& f : kSanitizerFocus)
      if (f.strategy == s && f.workload == w) return true;
    return false;
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
