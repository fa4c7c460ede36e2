#pragma once
// libstdcxx: std::shared_ptr's control-block counts, released the way GCC
// 12's libstdc++ releases them. A library peer: every count update calls
// libstdc++'s own primitives from <ext/atomicity.h>; the control flow around
// them is `_Sp_counted_base<_S_atomic>::_M_release()`'s, restated here
// (its text is not copied) because it is a member of shared_ptr's control
// block, which no object of ours can be without a vtable.
//
// Mechanism: the header is a control block's two counts, laid out as
// libstdc++ lays them out: `use` (_M_use_count, the strong references) then
// `weak` (_M_weak_count: weak references, plus one while use != 0), two
// `_Atomic_word`s (int, 32 bits) sharing one 8-byte-aligned word. No object
// here ever has a weak reference, so weak is 1 for the object's whole life.
//  - incref is `_M_add_ref_copy()`: `__atomic_add_dispatch(&use, 1)`.
//  - decref is `_M_release()` for the `_S_atomic` lock policy, the default
//    on x86-64 (`__default_lock_policy` with gthreads and atomic builtins),
//    on the path GCC 12 compiles when long long is lock-free, twice the size
//    of `_Atomic_word` and no more aligned than a pointer (all true here),
//    outside ThreadSanitizer:
//      1. an acquire load of both counts as one 64-bit word. If it reads
//         use == 1 and weak == 1, this is the only reference and no weak
//         one exists: store 0 to both with plain stores and free, no RMW.
//      2. otherwise `__exchange_and_add_dispatch(&use, -1)`; if it returned
//         1 (a last drop that was not unique: another thread released
//         between the load and the RMW, or use was above 1 when loaded), the
//         out-of-line cold path `_M_release_last_use`: dispose, then
//         `__exchange_and_add_dispatch(&weak, -1)`, and destroy when that
//         returns 1 (here it always does). So such a last drop pays two RMWs.
//    Under ThreadSanitizer (`_GLIBCXX_TSAN`) libstdc++ skips step 1 and
//    inlines step 2's cold path; so does this header, so the tsan preset
//    checks what shared_ptr runs there.
// Memory orders, as GCC 12's <ext/atomicity.h> spells them (this target has
// _GLIBCXX_ATOMIC_BUILTINS): `__atomic_add` and `__exchange_and_add` are both
// `__atomic_fetch_add(mem, val, __ATOMIC_ACQ_REL)`. So each decrement is
// acq_rel: release publishes this thread's writes to the object, and the
// thread that sees 1 acquires every earlier decrement's release in the same
// RMW (strategies/atomic.h needs a re-read for that, its decrement being
// release only). Step 1's acquire load does the same for the unique case:
// it reads the value the last other thread's acq_rel decrement wrote. The
// increment is acq_rel too, stronger than needed; on x86-64 both compile to
// the same `lock add`/`xadd` as relaxed would. The
// _GLIBCXX_SYNCHRONIZATION_HAPPENS_* macros are empty unless a build
// defines them for a race detector (<bits/c++config.h>); calling them where
// `_M_release` does gives such a build shared_ptr's annotations.
//
// Where this differs from a real shared_ptr: dispose and destroy are
// virtual calls there (a vtable pointer in every control block) and are
// direct here; dispose here is the object model's reclaim, which drops the
// children and frees in one step, so step 2's weak RMW comes before the
// children are dropped instead of between that and the free (the same
// operations, one RMW on a line this thread already holds).
//
// The dispatch: each `*_dispatch` call first tests
// `__gnu_cxx::__is_single_threaded()`, which with glibc >= 2.32 reads
// `::__libc_single_threaded` (else `!__gthread_active_p()`). While the
// process has never started a thread it is true and the count is updated
// with a plain load, add and store. glibc clears it at the first
// pthread_create and (2.36, measured) never sets it again: not after the
// threads are joined, not in a forked child. rcbench's Team always runs a
// workload on worker threads it starts, even at one thread, so every
// rcbench run (fork_cow's children included) measures the atomic path plus
// one load of that flag and a branch per RMW. (A test that runs a strategy
// on the main thread of a fresh process, such as test_object_model under
// ctest, takes the plain path: correct, there being one thread.) Step 1's
// load is not dispatched. Counters count an RMW only when the atomic path
// was taken.
//
// Cost of modelling step 1 and the weak RMW (before: one acq_rel RMW per
// decref, always): see docs/measurement.md, "Fidelity changes".
//
// Invariant: use == number of references, at every instant; the thread
// whose step-1 load read (1, 1), or whose decrement of use returned 1, frees.
// Source: libstdc++ (GCC 12.2) <bits/shared_ptr_base.h> (`_Sp_counted_base`,
// `_M_release`, `_M_release_last_use`), <ext/atomicity.h>.
// Loses: what `atomic` loses (a locked RMW per op, a hot count's line
// bouncing), plus the single-threaded test on every RMW; a shared object's
// last drop costs a load and two RMWs; a 32-bit count caps references at
// 2^31 - 1 per object. Wins over `atomic` where objects die unshared: the
// last drop of a private object is a load and two stores, no lock prefix.

#include <ext/atomicity.h>

#include "strategies/object.h"
#include "strategies/strategy.h"

namespace rcb {

template <class P = Counted>
struct BasicLibstdcxx {
  static constexpr StrategyInfo info{
      "libstdcxx",
      "std::shared_ptr's release as GCC 12 compiles it: unique check (acquire load of use+weak), then "
      "libstdc++'s acq_rel __exchange_and_add_dispatch on use, and on weak for a last drop",
      true};
  static constexpr std::array reported{Counter::atomic_rmw};

  using Obj = Object<BasicLibstdcxx>;

  // _M_use_count then _M_weak_count, aligned as a control block's counts are
  // (they follow its vtable pointer), so step 1 may read both at once.
  struct Header {
    alignas(8) _Atomic_word use;
    _Atomic_word weak;
  };
  static_assert(sizeof(long long) == 2 * sizeof(_Atomic_word) && __atomic_always_lock_free(sizeof(long long), 0),
                "GCC 12 takes the one-load unique check only where this holds (x86-64 does)");

  using Runtime = StatelessRuntime;

  class Context : public PassiveContext {
   public:
    Context(Runtime&, ThreadIndex idx) : PassiveContext(idx) {}

    // Not yet visible to any other thread: plain stores, as the control
    // block's constructor initialises _M_use_count(1), _M_weak_count(1).
    void init_header(Obj* o) {
      o->rc.use = 1;
      o->rc.weak = 1;
    }

    // _M_add_ref_copy().
    void incref(Obj* o) {
      count_rmw();
      __gnu_cxx::__atomic_add_dispatch(&o->rc.use, 1);
    }

    // _Sp_counted_base<_S_atomic>::_M_release().
    void decref(Obj* o) {
      _GLIBCXX_SYNCHRONIZATION_HAPPENS_BEFORE(&o->rc.use);
#if !_GLIBCXX_TSAN
      // Step 1: the only reference, and no weak one. Acquire: the other
      // threads' decrements (acq_rel) happen before our free.
      _GLIBCXX_SYNCHRONIZATION_HAPPENS_BEFORE(&o->rc.weak);
      if (both_counts_acquire(o) == kUniqueRef) {
        // No other thread can look at the counts now without a race.
        o->rc.weak = 0;
        o->rc.use = 0;
        _GLIBCXX_SYNCHRONIZATION_HAPPENS_AFTER(&o->rc.use);
        _GLIBCXX_SYNCHRONIZATION_HAPPENS_AFTER(&o->rc.weak);
        reclaim<BasicLibstdcxx>(*this, o);
        return;
      }
      // Step 2.
      count_rmw();
      if (__gnu_cxx::__exchange_and_add_dispatch(&o->rc.use, -1) == 1) [[unlikely]]
        release_last_use_cold(o);
#else
      count_rmw();
      if (__gnu_cxx::__exchange_and_add_dispatch(&o->rc.use, -1) == 1) release_last_use(o);
#endif
    }

   private:
    // Both counts 1, read as one word (the value is the same whichever
    // count sits in the high half).
    static constexpr long long kUniqueRef = 1LL + (1LL << (8 * sizeof(_Atomic_word)));
    using BothCounts [[gnu::may_alias]] = long long;
    [[nodiscard]] static long long both_counts_acquire(Obj* o) {
      return __atomic_load_n(reinterpret_cast<BothCounts*>(&o->rc.use), __ATOMIC_ACQUIRE);
    }

    // _M_release_last_use(): use went 1 -> 0 by an RMW. The weak count's
    // own RMW decides who destroys; with no weak references it is us.
    void release_last_use(Obj* o) {
      _GLIBCXX_SYNCHRONIZATION_HAPPENS_AFTER(&o->rc.use);
      _GLIBCXX_SYNCHRONIZATION_HAPPENS_BEFORE(&o->rc.weak);
      count_rmw();
      if (__gnu_cxx::__exchange_and_add_dispatch(&o->rc.weak, -1) == 1) {
        _GLIBCXX_SYNCHRONIZATION_HAPPENS_AFTER(&o->rc.weak);
        reclaim<BasicLibstdcxx>(*this, o);
      }
    }
    // _M_release_last_use_cold(): the same, kept out of line.
    [[gnu::noinline]] void release_last_use_cold(Obj* o) { release_last_use(o); }

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
