// Attacks on the strategies that know CPython's facts (immortal, deferred,
// cpython_ft), each aimed at the one thing its mechanism must never get
// wrong. Not benchmarks.
//
//   immortal object decref'd from many threads: nothing may write its
//     count, and it is freed once, at shutdown.
//   deferred object reachable only from a stack while a collection runs:
//     the collection must see the stack slot and keep it.
//   immortal object on a read-only page: no op may write its line at all,
//     not even the value it already holds.
//   deferred object whose heap references the owner counts locally: a
//     collection must count them.
//   stop-the-world merge racing threads that detach: every queued object
//     is merged once, by its owner's detach, by a pause, or by a queuer
//     that found the owner gone, and freed once.
//   a pause with a thread running between safepoints: the pause waits.

#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <csetjmp>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include "strategies/cpython_facts.h"
#include "strategies/cpython_ft.h"
#include "strategies/deferred.h"
#include "strategies/immortal.h"
#include "tests/test_support.h"
#include "tests/thread_support.h"

namespace rcb::test {
namespace {

constexpr std::uint32_t kThreads = 4;

// ---------------------------------------------------------------------------

template <class S>
class ImmortalAttack : public ::testing::Test {};
using WithImmortals = ::testing::Types<Immortal, CPythonFt, CPythonFt313>;
TYPED_TEST_SUITE(ImmortalAttack, WithImmortals, StrategyName);

// Four threads drop references they never took, a hundred thousand times
// between them, and take a third as many: a count that moved at all leaves
// the header changed (and for cpython_ft, whose unowned object would go to
// the shared count, queues or frees it).
TYPED_TEST(ImmortalAttack, DecrefsFromManyThreadsNeverTouchTheCount) {
  using S = TypeParam;
  constexpr int kDrops = kThreadSanitizer ? 5'000 : 25'000;
  typename S::Runtime rt;
  Object<S>* none = nullptr;
  std::array<unsigned char, sizeof(typename S::Header)> declared{};
  std::uint64_t setup_allocated = 0;
  {
    typename S::Context setup(rt, ThreadIndex{kThreads});
    setup.attach();
    none = new_object<S>(setup, Kind::tuple, 1);
    set_item(none, 0, new_int<S>(setup, 42));
    declare(setup, none, CPythonFact::immortal);
    setup.publish(none);
    setup.decref(none);  // the creator lets go: only immortality keeps it
    std::memcpy(declared.data(), &none->rc, declared.size());
    setup.detach();
    setup_allocated = setup.allocated;
    EXPECT_EQ(setup.freed, 0U);
  }
  std::atomic<std::int64_t> seen{0};
  auto hammer = [&](typename S::Context& ctx) {
    std::int64_t sum = 0;
    for (int i = 0; i < kDrops; ++i) {
      ctx.decref(hide(none));
      sum += hide(none)->item(0)->value.i;
      if (i % 3 == 0) ctx.incref(hide(none));
      ctx.safepoint();
    }
    seen.fetch_add(sum, std::memory_order_relaxed);
  };
  std::vector<std::thread> threads;
  std::vector<std::uint64_t> allocated(kThreads), freed(kThreads);
  for (std::uint32_t t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      typename S::Context ctx(rt, ThreadIndex{t});
      ctx.attach();
      hammer(ctx);
      ctx.detach();
      allocated[t] = ctx.allocated;
      freed[t] = ctx.freed;
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(std::memcmp(declared.data(), &none->rc, declared.size()), 0)
      << "an immortal object's header changed";
  EXPECT_EQ(seen.load(), std::int64_t{42} * kDrops * kThreads);
  rt.shutdown();
  EXPECT_EQ(rt.objects_freed(), setup_allocated) << "the tuple and its int, freed at shutdown";
  for (std::uint32_t t = 0; t < kThreads; ++t) EXPECT_EQ(allocated[t] - freed[t], 0U);
}

// Runs f() and says whether it faulted (SIGSEGV), instead of dying of it.
// One thread; the previous handler comes back before it returns.
sigjmp_buf fault_jump;
extern "C" void jump_out_of_fault(int) { siglongjmp(fault_jump, 1); }

template <class F>
bool faults(F&& f) {
  struct sigaction on_fault {}, before {};
  on_fault.sa_handler = jump_out_of_fault;
  sigemptyset(&on_fault.sa_mask);
  sigaction(SIGSEGV, &on_fault, &before);
  bool faulted = false;
  if (sigsetjmp(fault_jump, 1) == 0)
    f();
  else
    faulted = true;
  sigaction(SIGSEGV, &before, nullptr);
  return faulted;
}

// The final bytes above cannot tell "never written" from "written with the
// value it had" (a store of the saturated count, a fetch_add of zero), and
// not writing the line is the point of immortality: readers on other cores
// keep it in their caches, and a forked child keeps its page shared. So, in
// a test-only arrangement, a byte copy of an immortal object sits alone on
// a page mapped read-only, and every op a thread may apply to an immortal
// object runs on it: any write to the line faults.
TYPED_TEST(ImmortalAttack, OpsOnAnImmortalObjectOnAReadOnlyPageNeverFault) {
  using S = TypeParam;
  const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  ASSERT_GE(page, object_bytes<S>(1));
  void* mem = mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(mem, MAP_FAILED);
  typename S::Runtime rt;
  bool faulted = true;
  int ops_done = 0;
  {
    typename S::Context ctx(rt, ThreadIndex{0});
    ctx.attach();
    Object<S>* none = new_object<S>(ctx, Kind::tuple, 1);
    set_item(none, 0, new_int<S>(ctx, 42));
    declare(ctx, none, CPythonFact::immortal);
    ctx.publish(none);
    std::memcpy(mem, static_cast<const void*>(none), object_bytes<S>(1));
    ASSERT_EQ(mprotect(mem, page, PROT_READ), 0);
    auto* ro = static_cast<Object<S>*>(mem);
    if constexpr (requires { S::is_immortal(ro); })
      ASSERT_TRUE(S::is_immortal(ro));
    else
      ASSERT_TRUE(S::Context::is_immortal(ro));
    faulted = faults([&] {
      for (int i = 0; i < 3; ++i) {
        ctx.incref(hide(ro));
        ++ops_done;
        ctx.decref(hide(ro));
        ++ops_done;
        stack_close(ctx, stack_new(ctx, hide(ro)));  // tagged, or counted if not skipped
        ++ops_done;
      }
      ctx.decref(hide(ro));  // a reference never taken, as in the test above
      ++ops_done;
    });
    ctx.decref(none);  // the creator's: skipped
    ctx.detach();
  }
  rt.shutdown();
  EXPECT_FALSE(faulted) << "an op on an immortal object wrote its header (after " << ops_done << " ops)";
  EXPECT_EQ(ops_done, 10);
  munmap(mem, page);
}

// ---------------------------------------------------------------------------

template <class S>
class DeferredAttack : public ::testing::Test {};
using WithDeferred = ::testing::Types<Deferred, CPythonFt>;
TYPED_TEST_SUITE(DeferredAttack, WithDeferred, StrategyName);

// Thread 0 loads a deferred function onto its stack (an uncounted slot)
// and drops the heap's only reference, then sits at safepoints while
// thread 1 collects: the slot is the one thing keeping the function, so
// the first collection must free nothing. Once the slot is closed and
// popped, the next collection frees it.
TYPED_TEST(DeferredAttack, AnObjectOnlyAStackHoldsSurvivesACollection) {
  using S = TypeParam;
  typename S::Runtime rt;
  Object<S>* function = nullptr;
  Turns turns;
  std::atomic<bool> collected{false};
  std::size_t first = 99, second = 99;
  std::int64_t read_back = 0;

  auto holder = [&](typename S::Context& ctx) {
    function = new_object<S>(ctx, Kind::function);
    function->value.i = 7;
    declare(ctx, function, CPythonFact::deferred);
    ctx.publish(function);
    std::uintptr_t* frame = ctx.data_stack.push(1);
    const StackRef<S> slot = stack_new(ctx, function);  // LOAD_GLOBAL
    EXPECT_FALSE(slot.holds_count()) << "a deferred object's stack slot takes no count";
    frame[0] = slot.bits();
    ctx.decref(function);  // del the global: no heap reference is left
    turns.reach(1);
    while (!collected.load(std::memory_order_acquire)) ctx.safepoint();  // parks for the pause
    read_back = StackRef<S>::from_bits(frame[0]).get()->value.i;          // still alive?
    stack_close(ctx, StackRef<S>::from_bits(frame[0]));
    ctx.data_stack.pop(1);
    turns.reach(2);
    turns.await(3, ctx);
  };
  auto collector = [&](typename S::Context& ctx) {
    turns.await(1, ctx);
    first = ctx.collect();
    collected.store(true, std::memory_order_release);
    turns.await(2, ctx);
    second = ctx.collect();
    turns.reach(3);
  };
  const ThreadsResult r = run_threads<S>(rt, Launch::together, holder, collector);
  EXPECT_EQ(first, 0U) << "the collection freed an object a stack slot still held";
  EXPECT_EQ(read_back, 7);
  EXPECT_EQ(second, 1U) << "once the slot was closed, the function was garbage";
  EXPECT_EQ(r.live, 0);
}

// A deferred object that only the heap holds is not freed by its last
// decref (the bias keeps it), only by a collection, and stack references
// never count.
TYPED_TEST(DeferredAttack, TheLastHeapDecrefLeavesItToTheCollector) {
  using S = TypeParam;
  const std::int64_t live = on_one_thread<S>([](typename S::Context& ctx) {
    Object<S>* f = new_object<S>(ctx, Kind::function);
    declare(ctx, f, CPythonFact::deferred);
    for (int i = 0; i < 3; ++i) stack_close(ctx, stack_new(ctx, f));
    ctx.decref(f);
    EXPECT_EQ(ctx.freed, 0U);
    EXPECT_EQ(ctx.collect(), 1U);
    EXPECT_EQ(ctx.freed, 1U);
  });
  EXPECT_EQ(live, 0);
}

// Heap references the owner took count in cpython_ft's `local` and only
// there until a merge: a collection that summed `shared` alone would find
// the function referenced by nothing and free it under its owner's list.
// (For deferred, all references count in one word and the test is plain.)
TYPED_TEST(DeferredAttack, HeapReferencesCountedByTheOwnerKeepItThroughACollection) {
  using S = TypeParam;
  std::size_t first = 99;
  std::int64_t read_back = 0;
  const std::int64_t live = on_one_thread<S>([&](typename S::Context& ctx) {
    Object<S>* f = new_object<S>(ctx, Kind::function);
    f->value.i = 5;
    declare(ctx, f, CPythonFact::deferred);
    Object<S>* list = new_object<S>(ctx, Kind::list, 1);
    ctx.incref(f);  // the list's reference: an owner op
    set_item(list, 0, f);
    ctx.decref(f);  // the creator's goes; the list's remains
    first = ctx.collect();
    if (first != 0) return;  // f is gone: touching it would be a use after free
    read_back = list->item(0)->value.i;
    ctx.decref(list);
    EXPECT_EQ(ctx.collect(), 1U) << "with the list gone, f was garbage";
  });
  EXPECT_EQ(first, 0U) << "the collection freed an object the heap still held";
  EXPECT_EQ(read_back, 5);
  EXPECT_EQ(live, 0);
}

// ---------------------------------------------------------------------------
// Per-thread counts (3.14t's unique ids): the references instances take to
// their class go to each thread's own array, so only a merge of every
// thread's array tells the class's true count. Two threads each make
// instances of a class whose only other reference then goes; a collection
// in between must merge both arrays and keep the class. One instance is
// freed by the other thread (its array goes negative); when every instance
// is gone the next collection frees the class, exactly once (the tracker).
template <class S>
class PerThreadAttack : public ::testing::Test {};
TYPED_TEST_SUITE(PerThreadAttack, WithDeferred, StrategyName);

TYPED_TEST(PerThreadAttack, InstancesOnTwoThreadsKeepTheirClassUntilTheLastIsFreed) {
  using S = TypeParam;
  constexpr int kEach = 40;
  typename S::Runtime rt;
  Object<S>* klass = nullptr;
  Object<S>* handed = nullptr;  // one of thread 0's instances, freed by thread 1
  Turns turns;
  std::atomic<bool> collected{false};
  std::size_t with_instances = 99, after = 99;
  std::int64_t read_back = 0;
  const auto make = [&](typename S::Context& ctx, std::vector<Object<S>*>& kept) {
    for (int i = 0; i < kEach; ++i) {
      Object<S>* o = new_object<S>(ctx, Kind::instance, 1);
      incref_type(ctx, klass);
      set_item(o, 0, klass);
      kept.push_back(o);
    }
  };
  auto maker = [&](typename S::Context& ctx) {
    klass = new_object<S>(ctx, Kind::type);
    klass->value.i = 3;
    declare(ctx, klass, CPythonFact::per_thread);
    ctx.publish(klass);
    std::vector<Object<S>*> kept;
    make(ctx, kept);
    handed = kept.back();
    kept.pop_back();
    ctx.publish(handed);
    turns.reach(1);
    turns.await(2, ctx);  // thread 1 made its instances
    ctx.decref(klass);    // the class's own reference: only the instances hold it now
    turns.reach(3);
    while (!collected.load(std::memory_order_acquire)) ctx.safepoint();  // parks for the collection
    for (Object<S>* o : kept) ctx.decref(o);
    turns.reach(4);
    turns.await(5, ctx);
  };
  auto other = [&](typename S::Context& ctx) {
    turns.await(1, ctx);
    std::vector<Object<S>*> kept;
    make(ctx, kept);
    turns.reach(2);
    turns.await(3, ctx);
    with_instances = ctx.collect();
    read_back = klass->value.i;  // still alive?
    collected.store(true, std::memory_order_release);
    for (Object<S>* o : kept) ctx.decref(o);
    ctx.decref(handed);  // thread 0's instance: this thread's entry goes below zero
    turns.await(4, ctx);
    after = ctx.collect();
    turns.reach(5);
  };
  const ThreadsResult r = run_threads<S>(rt, Launch::together, maker, other);
  EXPECT_EQ(with_instances, 0U) << "the collection freed a class that 79 instances still held";
  EXPECT_EQ(read_back, 3);
  EXPECT_EQ(after, 1U) << "with every instance gone, the class was garbage";
  EXPECT_EQ(r.live, 0);
  if constexpr (requires(typename S::Context& c, Object<S>* o) { c.incref_per_thread(o); }) {
    // Every instance's class reference, taken and dropped in an array:
    // 2 x 40 increfs, 2 x 40 decrefs (none fell back to a counted op).
    std::uint64_t ops = 0;
    for (const Counters& c : r.counters) ops += c[Counter::per_thread_ops];
    EXPECT_EQ(ops, 4U * kEach);
  }
}

// A thread that exits merges its array: the class outlives the thread that
// made its instances, and the count it leaves is right (the instances,
// freed after it left, bring it to the class's own reference alone).
TYPED_TEST(PerThreadAttack, AnExitingThreadMergesItsCounts) {
  using S = TypeParam;
  typename S::Runtime rt;
  Object<S>* klass = nullptr;
  std::vector<Object<S>*> made;
  std::size_t while_held = 99, at_end = 99;
  auto creator = [&](typename S::Context& ctx) {
    klass = new_object<S>(ctx, Kind::type);
    declare(ctx, klass, CPythonFact::per_thread);
    ctx.publish(klass);
  };
  auto maker = [&](typename S::Context& ctx) {
    for (int i = 0; i < 10; ++i) {
      Object<S>* o = new_object<S>(ctx, Kind::instance, 1);
      incref_type(ctx, klass);
      set_item(o, 0, klass);
      ctx.publish(o);
      made.push_back(o);
    }
  };  // exits: its +10 must reach the class's count
  auto dropper = [&](typename S::Context& ctx) {
    ctx.decref(klass);  // the creator's reference
    while_held = ctx.collect();
    for (Object<S>* o : made) ctx.decref(o);  // this thread's entry: -10
    at_end = ctx.collect();
  };
  const ThreadsResult r = run_threads<S>(rt, Launch::one_after_another, creator, maker, dropper);
  EXPECT_EQ(while_held, 0U) << "the instances' references were lost when their thread exited";
  EXPECT_EQ(at_end, 1U);
  EXPECT_EQ(r.live, 0);
}

// A pause must wait until every attached thread that is not blocked has
// parked at a safepoint: only then may its work touch their counts and
// queues. Thread R reaches no safepoint for a while after B asks for a
// pause; B's collect() must not return before R's next safepoint. The
// wait bounds only how long R gives a wrong pause to show itself (it would
// return in microseconds); a right one cannot return in it at any speed.
template <class S>
class PauseAttack : public ::testing::Test {};
TYPED_TEST_SUITE(PauseAttack, WithDeferred, StrategyName);

TYPED_TEST(PauseAttack, APauseWaitsForARunningThreadToPark) {
  using S = TypeParam;
  typename S::Runtime rt;
  Turns turns;
  std::atomic<bool> asked{false}, returned{false};
  bool returned_while_running = true;
  auto runner = [&](typename S::Context& ctx) {
    turns.reach(1);
    while (!asked.load(std::memory_order_acquire)) {
    }
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
    while (!returned.load(std::memory_order_acquire) && std::chrono::steady_clock::now() < until)
      std::this_thread::yield();  // running, between safepoints
    returned_while_running = returned.load(std::memory_order_acquire);
    ctx.safepoint();  // parks: the pause can run now
  };
  auto pauser = [&](typename S::Context& ctx) {
    turns.await(1);
    asked.store(true, std::memory_order_release);
    (void)ctx.collect();
    returned.store(true, std::memory_order_release);
  };
  const ThreadsResult r = run_threads<S>(rt, Launch::together, runner, pauser);
  EXPECT_FALSE(returned_while_running) << "the pause ran while a thread was between safepoints";
  EXPECT_TRUE(returned.load());
  EXPECT_EQ(r.live, 0);
}

// ---------------------------------------------------------------------------

// The two CPython profiles on the same objects: what 3.14t defers 3.13t
// made immortal (gh-117783), and what 3.14t's stack holds without a count
// (a deferred object's reference, a borrow) 3.13t's PyObject * stack
// counts. Each side fails if the profiles are swapped.
struct ProfileSeen {
  bool function_stack_ref_counted = false;
  bool borrow_counted = false;
  bool headers_unchanged = false;
  std::uint64_t per_thread_ops = 0;
  std::int64_t mortal_count_while_borrowed = 0;
};
template <class S>
ProfileSeen profile_seen() {
  ProfileSeen seen;
  const std::int64_t live = on_one_thread<S>([&](typename S::Context& ctx) {
    Object<S>* fn = new_object<S>(ctx, Kind::function, 0);
    declare(ctx, fn, CPythonFact::deferred);
    Object<S>* klass = new_object<S>(ctx, Kind::type);
    declare(ctx, klass, CPythonFact::per_thread);
    Object<S>* mortal = new_int<S>(ctx, 1000);
    std::array<unsigned char, 2 * sizeof(typename S::Header)> before{};
    std::memcpy(before.data(), &fn->rc, sizeof(typename S::Header));
    std::memcpy(before.data() + sizeof(typename S::Header), &klass->rc, sizeof(typename S::Header));
    const StackRef<S> f = stack_new(ctx, fn);  // LOAD_GLOBAL of a function
    seen.function_stack_ref_counted = f.holds_count();
    stack_close(ctx, f);
    Object<S>* instance = new_object<S>(ctx, Kind::instance, 1);
    incref_type(ctx, klass);  // _PyObject_Init
    set_item(instance, 0, klass);
    ctx.decref(instance);
    const StackRef<S> b = stack_borrow(ctx, mortal);  // LOAD_FAST_BORROW (3.14), LOAD_FAST (3.13)
    seen.borrow_counted = b.holds_count();
    seen.mortal_count_while_borrowed = static_cast<std::int64_t>(mortal->rc.local.load());
    stack_close(ctx, b);
    ctx.decref(mortal);
    seen.headers_unchanged =
        std::memcmp(before.data(), &fn->rc, sizeof(typename S::Header)) == 0 &&
        std::memcmp(before.data() + sizeof(typename S::Header), &klass->rc, sizeof(typename S::Header)) == 0;
    seen.per_thread_ops = ctx.counters[Counter::per_thread_ops];
    ctx.decref(fn);  // the creator's references: 3.14t's collection frees them, 3.13t's shutdown
    ctx.decref(klass);
    ctx.collect();
  });
  EXPECT_EQ(live, 0) << S::info.name;
  return seen;
}

TEST(CPythonProfiles, ThreeThirteenCountsEveryStackReferenceAndNothingDeferred) {
  const auto v313 = profile_seen<CPythonFt313>();
  EXPECT_TRUE(v313.function_stack_ref_counted) << "3.13t's stack holds PyObject *: every reference counted";
  EXPECT_TRUE(v313.borrow_counted) << "3.13 has no LOAD_FAST_BORROW";
  EXPECT_EQ(v313.mortal_count_while_borrowed, 2);
  EXPECT_TRUE(v313.headers_unchanged) << "the function and the class are immortal in 3.13t";
  EXPECT_EQ(v313.per_thread_ops, 0U) << "3.13t has no per-thread counts";
  const auto v314 = profile_seen<CPythonFt>();
  EXPECT_FALSE(v314.function_stack_ref_counted) << "3.14t tags a deferred object's stack reference";
  EXPECT_FALSE(v314.borrow_counted);
  EXPECT_EQ(v314.mortal_count_while_borrowed, 1);
  EXPECT_EQ(v314.per_thread_ops, 2U) << "the instance's class reference, in the thread's array";
}

// Owners create batches and leave (detach) as soon as they have handed
// them over; droppers drop every object, which queues it to an owner that
// may be merging, detaching or gone; a third kind of thread does nothing
// but stop the world and merge every queue. Every object must be freed
// exactly once (the tracker aborts on a second free) and none leaked.
TEST(CPythonFtPause, MergesRacingThreadsThatDetach) {
  using S = CPythonFt;
  constexpr std::uint32_t kPairs = 2;
  constexpr std::uint32_t kObjects = kThreadSanitizer ? 2'000 : 20'000;
  constexpr int kRounds = kThreadSanitizer ? 3 : 10;
  for (int round = 0; round < kRounds; ++round) {
    typename S::Runtime rt;
    std::array<std::vector<Object<S>*>, kPairs> batches;
    std::array<Turns, kPairs> handed;
    std::atomic<std::uint32_t> droppers_done{0};
    std::atomic<std::uint64_t> pauses{0};

    auto owner = [&](std::uint32_t pair) {
      return [&, pair](typename S::Context& ctx) {
        auto& batch = batches[pair];
        for (std::uint32_t i = 0; i < kObjects; ++i) {
          Object<S>* t = new_object<S>(ctx, Kind::tuple, 1);
          set_item(t, 0, new_int<S>(ctx, i));
          ctx.publish(t);
          batch.push_back(t);
        }
        handed[pair].reach(1);  // and leave at once: detach races the pauses
      };
    };
    auto dropper = [&](std::uint32_t pair) {
      return [&, pair](typename S::Context& ctx) {
        handed[pair].await(1, ctx);
        std::uint32_t i = 0;
        for (Object<S>* t : batches[pair]) {
          ctx.decref(t);
          if (++i % 64 == 0) ctx.safepoint();
        }
        droppers_done.fetch_add(1, std::memory_order_release);
      };
    };
    auto pauser = [&](typename S::Context& ctx) {
      std::uint64_t ran = 0;
      while (droppers_done.load(std::memory_order_acquire) < kPairs) {
        ctx.collect();
        ++ran;
        std::this_thread::yield();
      }
      pauses.store(ran);
    };
    const ThreadsResult r = run_threads<S>(rt, Launch::together, owner(0), dropper(0), owner(1),
                                          dropper(1), pauser);
    ASSERT_EQ(r.live, 0) << "round " << round;
  }
}

// A pause merges an owner's object while the owner keeps counting it
// locally: that is only safe because the owner is parked during the merge.
// The owner takes and drops references to objects whose other reference a
// dropper already queued to it; a third thread pauses as often as it can.
// A merge racing an owner's local add loses it, and the object is freed
// while still referenced (the tracker aborts, ASan reports a use after
// free) or never freed (live count). The window is a few instructions wide:
// a pauser that skipped the wait went unnoticed in three release runs, so
// this is a stress test of the correct protocol more than a proof.
TEST(CPythonFtPause, MergesOnlyWhileTheOwnerIsParked) {
  using S = CPythonFt;
  constexpr std::uint32_t kObjects = 32;
  constexpr int kRounds = kThreadSanitizer ? 30 : 1'000;
  constexpr int kPasses = 8;
  typename S::Runtime rt;
  std::vector<Object<S>*> objects(kObjects);
  Turns made, dropped;
  std::atomic<bool> done{false};
  std::int64_t sum = 0;
  auto owner = [&](typename S::Context& ctx) {
    for (int r = 0; r < kRounds; ++r) {
      for (std::uint32_t i = 0; i < kObjects; ++i) {
        objects[i] = new_int<S>(ctx, i);
        ctx.incref(objects[i]);  // the dropper's reference, counted locally
        ctx.publish(objects[i]);
      }
      made.reach(r + 1);
      dropped.await(r + 1, ctx);  // every object now has a queued reference
      for (int pass = 0; pass < kPasses; ++pass)
        for (Object<S>* o : objects) {
          ctx.incref(hide(o));
          sum += hide(o)->value.i;
          ctx.decref(hide(o));
          ctx.safepoint();
        }
      for (Object<S>* o : objects) ctx.decref(o);
    }
    done.store(true, std::memory_order_release);
  };
  auto dropper = [&](typename S::Context& ctx) {
    for (int r = 0; r < kRounds; ++r) {
      made.await(r + 1, ctx);
      for (Object<S>* o : objects) ctx.decref(o);  // shared count 0: queued to the owner
      dropped.reach(r + 1);
    }
  };
  auto pauser = [&](typename S::Context& ctx) {
    while (!done.load(std::memory_order_acquire)) ctx.collect();
  };
  const ThreadsResult r = run_threads<S>(rt, Launch::together, owner, dropper, pauser);
  EXPECT_EQ(r.live, 0);
  EXPECT_EQ(sum, std::int64_t{kRounds} * kPasses * (kObjects * (kObjects - 1) / 2));
}

}  // namespace
}  // namespace rcb::test
