#pragma once
// atomic: a lock-prefixed read-modify-write on every incref and decref.
//
// Mechanism: incref is fetch_add(relaxed): taking a new reference needs no
// ordering, the caller already holds one. decref is fetch_sub(release), so
// every write this thread made to the object happens-before the free; the
// thread that sees the count drop to zero re-reads it with acquire before
// freeing, which synchronises with every earlier release decrement (they
// form one release sequence). That is Rust Arc's acquire fence, written as a
// load because ThreadSanitizer does not model standalone fences.
// Invariant: the count equals the number of references at every instant.
// Source: seed 001 (Gilectomy: "about 30% slower at 2 threads, rising").
// Loses: every op is a locked RMW (~20 cycles uncontended), and a hot shared
// object's count line bounces between cores on every access.

#include <atomic>
#include <cstdint>

#include "strategies/atomic_count.h"
#include "strategies/object.h"
#include "strategies/strategy.h"

namespace rcb {

template <class P = Counted>
struct BasicAtomic {
  static constexpr StrategyInfo info{
      "atomic", "lock-prefixed RMW on every incref/decref (relaxed inc, release dec, acquire free)",
      true};
  static constexpr std::array reported{Counter::atomic_rmw};

  struct Header {
    std::atomic<std::uint64_t> count;
  };

  using Runtime = StatelessRuntime;

  class Context : public PassiveContext {
   public:
    Context(Runtime&, ThreadIndex idx) : PassiveContext(idx) {}

    // Not yet visible to any other thread: a plain store suffices.
    void init_header(Object<BasicAtomic>* o) { o->rc.count.store(1, std::memory_order_relaxed); }
    void incref(Object<BasicAtomic>* o) {
      count_increment_relaxed(o->rc.count);
      tally<P::kCounting>(counters, Counter::atomic_rmw);
    }
    void decref(Object<BasicAtomic>* o) {
      tally<P::kCounting>(counters, Counter::atomic_rmw);
      if (count_decrement_release_is_last(o->rc.count)) reclaim<BasicAtomic>(*this, o);
    }
  };
};

using Atomic = BasicAtomic<>;

static_assert(RefCountStrategy<Atomic>);
static_assert(RefCountStrategy<Uncounted<Atomic>>);

}  // namespace rcb
