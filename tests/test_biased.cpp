// Attacks on biased reference counting: which path each op takes, objects
// queued to an owner that exits before its next safepoint, an owner that
// exits while others still hold what it owns, and exits racing with drops
// on other threads. This is not a benchmark.

#include <atomic>
#include <cstdio>
#include <thread>
#include <vector>

#include "strategies/biased.h"
#include "tests/test_support.h"
#include "tests/thread_support.h"

namespace rcb::test {
namespace {

// The owner counts with plain ops, others atomically; a drop that would
// take the shared count below zero is queued, and the owner's next
// safepoint merges it.
TEST(Biased, OwnerOpsArePlainOthersAtomicAndCrossThreadDropsAreQueued) {
  using S = Biased;
  S::Runtime rt;
  Mailbox<S> box;
  Turns turns;
  std::int64_t read = 0;
  auto owner = [&](S::Context& ctx) {
    Object<S>* x = new_int<S>(ctx, 5);
    ctx.incref(x);
    ctx.decref(x);
    ctx.incref(x);  // one reference for the other thread
    box.send(ctx, x);
    turns.await(1);
    ctx.safepoint();  // merges x: local 2, minus the queue's reference
    read = x->value.i;
    ctx.decref(x);  // x is unowned now: a shared op, and the free
  };
  auto other = [&](S::Context& ctx) {
    Object<S>* x = box.receive(ctx);
    ctx.incref(x);
    ctx.decref(x);
    ctx.decref(x);  // shared count 0, unmerged: queue it to the owner
    turns.reach(1);
  };
  const ThreadsResult r = run_threads<S>(rt, Launch::together, owner, other);
  EXPECT_EQ(r.live, 0);
  EXPECT_EQ(read, 5);
  EXPECT_EQ(r.counters[0][Counter::owner_ops], 3u);
  EXPECT_EQ(r.counters[0][Counter::merged], 1u);
  EXPECT_EQ(r.counters[0][Counter::shared_ops], 1u);
  EXPECT_EQ(r.freed[0], 1u);
  EXPECT_EQ(r.counters[1][Counter::owner_ops], 0u);
  EXPECT_EQ(r.counters[1][Counter::shared_ops], 3u);
  EXPECT_EQ(r.counters[1][Counter::queued], 1u);
  EXPECT_EQ(ObjectTracker::instance().live(), 0u);
}

// Objects queued to an owner that never reaches another safepoint: its
// detach() must merge them, or they leak.
TEST(Biased, ObjectsQueuedToAnExitingOwnerAreMergedByItsDetach) {
  using S = Biased;
  S::Runtime rt;
  Mailbox<S> box;
  Turns turns;
  auto owner = [&](S::Context& ctx) {
    Object<S>* t = new_object<S>(ctx, Kind::tuple, 2);
    set_item(t, 0, new_int<S>(ctx, 1));
    set_item(t, 1, new_int<S>(ctx, 2));
    ctx.incref(t);
    box.send(ctx, t);
    turns.await(1);  // no safepoint from here on
    ctx.decref(t);   // local 1: the queue's reference keeps t alive
  };
  auto other = [&](S::Context& ctx) {
    ctx.decref(box.receive(ctx));  // queued to the owner
    turns.reach(1);
  };
  const ThreadsResult r = run_threads<S>(rt, Launch::together, owner, other);
  EXPECT_EQ(r.live, 0);
  EXPECT_EQ(r.counters[1][Counter::queued], 1u);
  EXPECT_EQ(r.counters[0][Counter::merged], 1u);
  EXPECT_EQ(r.freed[0], 3u);  // t and, as their owner, its two ints
  EXPECT_EQ(ObjectTracker::instance().live(), 0u);
}

// The owner creates tuples, hands every one away and exits. The holder
// then reads and drops them; each first drop finds no owner and merges on
// the spot. Even tuples were handed over twice (the owner took a second,
// local reference for that), so their first merge leaves a count of one
// and their second drop is an ordinary shared decref that frees.
TEST(Biased, ObjectsOfAnExitedOwnerAreMergedByWhoeverDropsThem) {
  using S = Biased;
  constexpr std::uint32_t kTuples = 2000;
  S::Runtime rt;
  std::vector<Object<S>*> handed;
  std::uint64_t sum = 0, expected_sum = 0;
  auto owner = [&](S::Context& ctx) {
    for (std::uint32_t i = 0; i < kTuples; ++i) {
      Object<S>* t = new_object<S>(ctx, Kind::tuple, 2);
      set_item(t, 0, new_int<S>(ctx, i));
      set_item(t, 1, new_float<S>(ctx, i * 0.5));
      ctx.publish(t);
      handed.push_back(t);
      expected_sum += 2 * i;
      if (i % 2 == 0) {
        ctx.incref(t);
        handed.push_back(t);
        expected_sum += 2 * i;
      }
    }
  };
  auto holder = [&](S::Context& ctx) {
    for (Object<S>* t : handed) {
      ctx.incref(t);
      Object<S>* a = t->item(0);
      Object<S>* b = t->item(1);
      ctx.incref(a);
      ctx.incref(b);
      sum += static_cast<std::uint64_t>(hide(a)->value.i) +
             static_cast<std::uint64_t>(hide(b)->value.f * 2);
      ctx.decref(hide(a));
      ctx.decref(hide(b));
      ctx.decref(hide(t));
      ctx.safepoint();
    }
    for (Object<S>* t : handed) ctx.decref(t);
  };
  const ThreadsResult r = run_threads<S>(rt, Launch::one_after_another, owner, holder);
  EXPECT_EQ(r.live, 0);
  EXPECT_EQ(sum, expected_sum);
  EXPECT_EQ(r.freed[0], 0u);
  EXPECT_EQ(r.freed[1], 3u * kTuples);
  EXPECT_EQ(r.counters[1][Counter::queued], 0u);  // nobody to queue to
  EXPECT_EQ(r.counters[1][Counter::merged], 3u * kTuples);  // each tuple and int, once
  EXPECT_EQ(ObjectTracker::instance().live(), 0u);
}

// Exits racing with drops, many times: the owner hands tuples away (some
// with a reference it keeps, some holding ints the other thread owns),
// drops its own references and exits at once, while the other thread drops
// the tuples. Each drop finds the owner still registered (and its detach
// merges the object) or gone (and the dropper merges it); each of the
// other thread's ints freed by the exiting owner is queued back to it.
// Stress tuning: yields between the CAS and the queue lookup, in merges
// and at safepoints.
TEST(Biased, OwnerExitRacesWithDropsOnAnotherThread) {
  using S = StressBiased;
  constexpr std::uint32_t kTuples = 48;
  for (int round = 0; round < 150; ++round) {
    S::Runtime rt;
    Turns turns;
    std::vector<Object<S>*> ints(kTuples), tuples(kTuples);
    std::vector<Object<S>*> kept;
    auto owner = [&](S::Context& ctx) {
      turns.await(1, ctx);  // the other thread's ints are ready
      for (std::uint32_t i = 0; i < kTuples; ++i) {
        Object<S>* t = new_object<S>(ctx, Kind::tuple, 2);
        set_item(t, 0, ints[i]);  // steals the other thread's reference
        set_item(t, 1, new_int<S>(ctx, i));
        if (i % 3 != 0) {
          ctx.incref(t);
          kept.push_back(t);
        }
        tuples[i] = t;
      }
      turns.reach(2);
      for (Object<S>* t : kept) ctx.decref(t);
      kept.clear();
    };  // detach races with the other thread's drops
    auto other = [&](S::Context& ctx) {
      for (std::uint32_t i = 0; i < kTuples; ++i) ints[i] = new_int<S>(ctx, 1000 + i);
      turns.reach(1);
      turns.await(2, ctx);
      for (Object<S>* t : tuples) {
        ctx.decref(t);
        ctx.safepoint();
      }
    };
    const ThreadsResult r = run_threads<S>(rt, Launch::together, owner, other);
    ASSERT_EQ(r.live, 0) << "round " << round;
    ASSERT_EQ(ObjectTracker::instance().live(), 0u) << "round " << round;
  }
}

// A queuer that finds the owner has merged the object meanwhile. Thread 1
// drops a reference the owner counted locally, so its CAS marks the object
// queued; before it reads the owner id (a chaos yield sits there), thread 2
// takes a shared reference and hands both of its references to the owner,
// whose local count then reaches zero: the owner merges and unowns the
// object while the queue entry still holds a reference. The queuer must
// then drop that reference as an ordinary decref (CPython's
// _Py_brc_queue_object), never merge the object itself: that would read
// `local` unordered with the owner's last write to it. The owner stays
// registered until the queuer is done, so an exited owner is not what the
// queuer finds. Counts the rounds where the queuer freed the object, the
// path under test, and needs at least one.
TEST(Biased, QueuerThatFindsTheObjectMergedDropsItsReferenceAsAnOrdinaryDecref) {
  using S = StressBiased;
  constexpr int kRounds = kThreadSanitizer ? 300 : 1000;
  int queuer_freed = 0;
  for (int round = 0; round < kRounds; ++round) {
    S::Runtime rt;
    std::atomic<Object<S>*> shared{nullptr};
    std::atomic<bool> handed{false}, queuer_done{false};
    std::int64_t read = -1;
    // Waits that stay runnable, so the queuer's chaos yield has a thread
    // to hand the CPU to; yielding themselves, so three threads on two
    // CPUs do not spin out whole time slices.
    auto spin_until = [](auto&& ready) {
      while (!ready()) std::this_thread::yield();
    };
    auto owner = [&](S::Context& ctx) {
      Object<S>* x = new_int<S>(ctx, round);
      ctx.incref(x);  // thread 1's reference
      ctx.incref(x);  // thread 2's
      ctx.publish(x);
      shared.store(x, std::memory_order_release);
      spin_until([&] { return handed.load(std::memory_order_acquire); });
      ctx.decref(x);  // ours
      ctx.decref(x);  // thread 2's two: local reaches zero, with the
      ctx.decref(x);  // shared count at one: merged, unowned, alive
      spin_until([&] { return queuer_done.load(std::memory_order_acquire); });
    };  // detach merges x here if the queuer found us registered
    auto queuer = [&](S::Context& ctx) {
      Object<S>* x;
      spin_until([&] { return (x = shared.load(std::memory_order_acquire)) != nullptr; });
      read = x->value.i;
      ctx.decref(x);  // shared count 0, unflagged: queue it to the owner
      queuer_done.store(true, std::memory_order_release);
    };
    auto helper = [&](S::Context& ctx) {
      Object<S>* x;
      spin_until([&] { return (x = shared.load(std::memory_order_acquire)) != nullptr; });
      spin_until([&] {
        return (x->rc.shared.load(std::memory_order_relaxed) & 3) == S::kQueued;
      });
      ctx.incref(x);  // a shared reference, made while x is queued
      handed.store(true, std::memory_order_release);  // both ours go to the owner
    };
    const ThreadsResult r = run_threads<S>(rt, Launch::together, owner, queuer, helper);
    ASSERT_EQ(r.live, 0) << "round " << round;
    ASSERT_EQ(read, round);
    ASSERT_EQ(r.freed[0] + r.freed[1], 1u) << "round " << round;
    queuer_freed += static_cast<int>(r.freed[1]);
  }
  EXPECT_GT(queuer_freed, 0) << "the queuer never found the object merged: the path went untested";
  EXPECT_EQ(ObjectTracker::instance().live(), 0u);
  std::printf("queuer found the object merged in %d of %d rounds\n", queuer_freed, kRounds);
}

}  // namespace
}  // namespace rcb::test
