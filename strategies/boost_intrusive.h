#pragma once
// boost_intrusive: the count boost::intrusive_ref_counter keeps, with
// Boost's own counter policy. A library peer: it calls the library, it does
// not copy it.
//
// Mechanism: the header holds a `boost::sp_adl_block::thread_safe_counter::type`
// (`boost::detail::atomic_count`), the member intrusive_ref_counter<T>
// declares. incref is `thread_safe_counter::increment(count)` and decref
// `thread_safe_counter::decrement(count)`, freeing when it returns 0: exactly
// what `intrusive_ptr_add_ref` / `intrusive_ptr_release` do
// (<boost/smart_ptr/intrusive_ref_counter.hpp>).
// Memory orders, as Debian's Boost 1.74 headers spell them: with GCC,
// <boost/smart_ptr/detail/atomic_count.hpp> picks atomic_count_gcc_atomic.hpp
// (BOOST_SP_HAS_GCC_INTRINSICS: the compiler defines __ATOMIC_ACQ_REL and
// friends), whose ++ and -- are
// `__atomic_add_fetch(&value_, ±1, __ATOMIC_ACQ_REL)` on a
// `boost::int_least32_t`. So the decrement is acq_rel: its release publishes
// this thread's writes to the object, and the thread that reaches 0 acquires
// every earlier decrement's release in the same RMW (no separate acquire, as
// in libstdcxx). The increment is acq_rel too, stronger than needed; on
// x86-64 it is the same `lock add` a relaxed one compiles to. There is no
// single-threaded shortcut (unlike libstdc++'s dispatch) unless the build
// defines BOOST_SP_DISABLE_THREADS or similar, which rcbench does not.
//
// Construction: intrusive_ref_counter starts at 0 and intrusive_ptr's first
// add_ref makes it 1 with an RMW; here the library's constructor
// (`atomic_count(long)`, a plain store) starts it at 1, as every strategy's
// new object starts with one reference and no RMW.
//
// Invariant: count == number of references, at every instant; the thread
// whose decrement returned 0 frees.
// Source: Boost.SmartPtr (Andrey Semashev's intrusive_ref_counter, Peter
// Dimov's atomic_count), Debian libboost-dev 1.74.
// Loses: what `atomic` loses (a locked RMW per op, a hot count's line
// bouncing); a 32-bit count caps references at 2^31 - 1 per object.

#include <boost/smart_ptr/intrusive_ref_counter.hpp>

#include "strategies/object.h"
#include "strategies/strategy.h"

namespace rcb {

template <class P = Counted>
struct BasicBoostIntrusive {
  static constexpr StrategyInfo info{
      "boost_intrusive",
      "boost::intrusive_ref_counter's thread_safe_counter: atomic_count ++/-- (acq_rel)", true};
  static constexpr std::array reported{Counter::atomic_rmw};

  using Policy = boost::sp_adl_block::thread_safe_counter;

  struct Header {
    // Set before the object is visible to any other thread; see above.
    Policy::type count{1};
  };

  using Runtime = StatelessRuntime;

  class Context : public PassiveContext {
   public:
    Context(Runtime&, ThreadIndex idx) : PassiveContext(idx) {}

    // Object<S>'s construction ran Header's initialiser: count is 1.
    void init_header(Object<BasicBoostIntrusive>*) {}

    // intrusive_ptr_add_ref.
    void incref(Object<BasicBoostIntrusive>* o) {
      Policy::increment(o->rc.count);
      tally<P::kCounting>(counters, Counter::atomic_rmw);
    }

    // intrusive_ptr_release.
    void decref(Object<BasicBoostIntrusive>* o) {
      tally<P::kCounting>(counters, Counter::atomic_rmw);
      if (Policy::decrement(o->rc.count) == 0) reclaim<BasicBoostIntrusive>(*this, o);
    }
  };
};

using BoostIntrusive = BasicBoostIntrusive<>;

static_assert(RefCountStrategy<BoostIntrusive>);
static_assert(RefCountStrategy<Uncounted<BoostIntrusive>>);

}  // namespace rcb
