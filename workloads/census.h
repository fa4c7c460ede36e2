#pragma once
// Census: what a workload needs to count, while it runs, the objects that are
// dead in every thread's view but not yet freed (blocked_owner's retention).
//
// Mechanism: a workload knows when the objects it drops die (it drops their
// last reference; their children die with them), and every context tallies
// what its thread frees (ContextBase::frees(), objects and child slots, so
// bytes too). Dead but allocated = deaths - frees, summed over the threads,
// minus what the runtime's own threads freed (a commit thread): the only
// part a workload cannot read from a context, which this class reads for it
// through the runtime's frees_so_far() (strategies/strategy.h). Strategies
// whose runtime frees nothing while threads run need no hook and read 0.
//
// Invariant: the Team gives a workload a census only in the counted pass
// (TeamConfig::census, set by counted_pass in harness/engine/measure.h), so
// timed repetitions carry no sampling; a workload branches once per
// iteration on whether it has one, not per object.
//
// When not to use it: for a figure a strategy can count itself (buffered's
// peak_pending_frees) the strategy's counter is cheaper; the census is for a
// figure that must mean the same for every strategy.

#include "strategies/strategy.h"

namespace rcb {

class Census {
 public:
  template <class Runtime>
  [[nodiscard]] static Census of(const Runtime& rt) {
    Census c;
    if constexpr (requires { { rt.frees_so_far() } -> std::same_as<FreeTally>; }) {
      c.runtime_ = &rt;
      c.read_ = [](const void* r) { return static_cast<const Runtime*>(r)->frees_so_far(); };
    }
    return c;
  }

  // What the runtime's own threads have freed so far; callable from any
  // thread at any time.
  [[nodiscard]] FreeTally runtime_frees() const { return read_ ? read_(runtime_) : FreeTally{}; }

 private:
  const void* runtime_ = nullptr;
  FreeTally (*read_)(const void*) = nullptr;
};

}  // namespace rcb
