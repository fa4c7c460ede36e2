#pragma once
// libstdcxx: the use count of std::shared_ptr's control block, updated by
// libstdc++'s own primitives from <ext/atomicity.h>. A library peer: it calls
// the library, it does not copy it.
//
// Mechanism: the header holds an `_Atomic_word` (int: 32 bits on Linux).
// incref is `__gnu_cxx::__atomic_add_dispatch(&count, 1)`, exactly
// `_Sp_counted_base::_M_add_ref_copy()`. decref is the general path of
// `_Sp_counted_base<_S_atomic>::_M_release()` (<bits/shared_ptr_base.h>):
//   _GLIBCXX_SYNCHRONIZATION_HAPPENS_BEFORE(&count);
//   if (__gnu_cxx::__exchange_and_add_dispatch(&count, -1) == 1) {
//     _GLIBCXX_SYNCHRONIZATION_HAPPENS_AFTER(&count);   // _M_release_last_use
//     free
//   }
// Memory orders, as GCC 12's <ext/atomicity.h> spells them (this target has
// _GLIBCXX_ATOMIC_BUILTINS): `__atomic_add` and `__exchange_and_add` are both
// `__atomic_fetch_add(mem, val, __ATOMIC_ACQ_REL)`. So the decrement is
// acq_rel: release publishes this thread's writes to the object, and the
// thread that sees 1 acquires every earlier decrement's release in the same
// RMW, with no separate acquire (strategies/atomic.h needs a re-read for
// that, its decrement being release only). The increment is acq_rel too,
// stronger than needed; on x86-64 both compile to the same `lock add`/`xadd`
// as relaxed would. The two macros are empty unless a build defines them for a
// race detector (<bits/c++config.h>, "be race-detector-friendly"); calling
// them here gives such a build the same annotations shared_ptr gets.
// (_M_release_last_use's `__atomic_thread_fence(__ATOMIC_ACQ_REL)` is only
// for the _S_mutex policy, and sits between dispose and the weak count,
// which this object has no use for.)
//
// The dispatch: each call first tests `__gnu_cxx::__is_single_threaded()`,
// which with glibc >= 2.32 reads `::__libc_single_threaded` (else
// `!__gthread_active_p()`). While the process has never started a thread it
// is true and the count is updated with a plain load, add and store.
// glibc clears it at the first pthread_create and (2.36, measured) never
// sets it again: not after the threads are joined, not in a forked child.
// rcbench's Team always runs a workload on worker threads it starts, even
// at one thread, so every rcbench run (fork_cow's children included)
// measures the atomic path plus one load of that flag and a branch per
// operation. (A test that runs a strategy on the main thread of
// a fresh process, such as test_object_model under ctest, takes the plain
// path: correct, there being one thread.) Counters count an RMW only when
// the atomic path was taken.
//
// Not mirrored: GCC 12's `_M_release` for `_S_atomic` (except under TSan)
// first loads use and weak counts together as one 64-bit word with acquire
// and, when both are 1, frees without any RMW. That needs shared_ptr's weak
// count next to the use count, and it is code in `_M_release`, not a
// primitive this strategy could call; copying it would be a copy of the
// library. So a last drop here always pays the RMW, as std::shared_ptr's
// does with GCC <= 11, in TSan builds, or when a weak_ptr exists.
//
// Invariant: count == number of references, at every instant; the thread
// whose decrement returned 1 frees.
// Source: libstdc++ (GCC 12) <bits/shared_ptr_base.h>, <ext/atomicity.h>.
// Loses: what `atomic` loses (a locked RMW per op, a hot count's line
// bouncing), plus the single-threaded test on every op; a 32-bit count
// caps references at 2^31 - 1 per object.

#include <ext/atomicity.h>

#include "strategies/object.h"
#include "strategies/strategy.h"

namespace rcb {

template <class P = Counted>
struct BasicLibstdcxx {
  static constexpr StrategyInfo info{
      "libstdcxx",
      "std::shared_ptr's count: libstdc++ __atomic_add_dispatch / __exchange_and_add_dispatch "
      "(acq_rel)",
      true};
  static constexpr std::array reported{Counter::atomic_rmw};

  struct Header {
    _Atomic_word count;
  };

  using Runtime = StatelessRuntime;

  class Context : public PassiveContext {
   public:
    Context(Runtime&, ThreadIndex idx) : PassiveContext(idx) {}

    // Not yet visible to any other thread: a plain store, as the control
    // block's constructor initialises _M_use_count(1).
    void init_header(Object<BasicLibstdcxx>* o) { o->rc.count = 1; }

    // _Sp_counted_base::_M_add_ref_copy().
    void incref(Object<BasicLibstdcxx>* o) {
      count_rmw();
      __gnu_cxx::__atomic_add_dispatch(&o->rc.count, 1);
    }

    // _Sp_counted_base<_S_atomic>::_M_release(), general path.
    void decref(Object<BasicLibstdcxx>* o) {
      count_rmw();
      _GLIBCXX_SYNCHRONIZATION_HAPPENS_BEFORE(&o->rc.count);
      if (__gnu_cxx::__exchange_and_add_dispatch(&o->rc.count, -1) == 1) {
        _GLIBCXX_SYNCHRONIZATION_HAPPENS_AFTER(&o->rc.count);
        reclaim<BasicLibstdcxx>(*this, o);
      }
    }

   private:
    // The dispatch does an RMW only once the process has threads.
    void count_rmw() {
      if constexpr (P::kCounting) {
        if (!__gnu_cxx::__is_single_threaded()) tally<P::kCounting>(counters, Counter::atomic_rmw);
      }
    }
  };
};

using Libstdcxx = BasicLibstdcxx<>;

static_assert(RefCountStrategy<Libstdcxx>);
static_assert(RefCountStrategy<Uncounted<Libstdcxx>>);

}  // namespace rcb
