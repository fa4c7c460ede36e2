// Attacks on refcache: a global zero that is not a true zero (another
// thread's +1 still cached) must not free the object, neither at once nor at
// a review whose object was revived and dropped back to zero meanwhile (the
// dirty flag); parked threads must not hold epochs back; frees are late and
// counted exactly. This is not a benchmark.

#include <atomic>
#include <chrono>
#include <thread>

#include "strategies/chaos.h"
#include "strategies/refcache.h"
#include "tests/test_support.h"
#include "tests/thread_support.h"

namespace rcb::test {
namespace {

using std::chrono::steady_clock;
using namespace std::chrono_literals;

// Every safepoint polls, and an epoch closes as soon as every running thread
// has acknowledged it: the tests decide when epochs move.
struct EagerTuning : RefCacheTuning {
  static constexpr std::string_view kName = "refcache_eager";
  static constexpr std::uint32_t kSafepointsPerPoll = 1;
  static constexpr std::chrono::microseconds kEpochInterval{0};
};
using Eager = BasicRefCache<EagerTuning>;

// Four slots (evictions on most misses), eager epochs, random yields.
struct StressTuning : EagerTuning {
  static constexpr std::string_view kName = "refcache_stress";
  static constexpr std::size_t kCacheSlots = 4;
  static constexpr bool kChaos = true;
};
using Stress = BasicRefCache<StressTuning>;

std::uint64_t sum_of(const ThreadsResult& r, const Counters& runtime, Counter c) {
  std::uint64_t n = runtime[c];
  for (const Counters& t : r.counters) n += t[c];
  return n;
}

// The dirty flag's case. R's flush takes x to zero and queues it (tag 2)
// while H holds a +1 still in its cache. H's acknowledgement flushes it:
// x's count goes 0 -> 1 under review. H then takes a second reference (its
// +1 cached, after H's last acknowledgement the review waits for) and gives
// R the first; R's flush takes the count 1 -> 0 again and R, closing epoch
// 3, reviews x at epoch 4. The count is zero, and every thread has flushed
// since x was queued, but H still holds x: only the dirty flag (a flush
// reached x with a zero result while it was under review) says so.
TEST(RefCacheReview, ObjectRevivedAndDroppedToZeroAgainIsReviewedAgainNotFreed) {
  using S = Eager;
  S::Runtime rt;
  Turns turns;
  Object<S>* x = nullptr;
  std::size_t live_after_first_zero = 0, live_after_review = 0;
  bool queued = false, revived = false, still_queued = false, requeued = false, readable = false;
  std::uint64_t review_epoch = 0;

  auto r = [&](S::Context& ctx) {
    x = new_int<S>(ctx, 42);  // global count 1: R's reference
    turns.reach(1);
    turns.await(2);   // H has taken a reference; its +1 stays in H's cache
    ctx.decref(x);    // R's reference goes: -1 cached
    ctx.safepoint();  // closes epoch 1, acknowledges 2: flush takes x 1 -> 0
    live_after_first_zero = ObjectTracker::instance().live();
    queued = S::under_review(x) && S::global_count(x) == 0 && ctx.reviews_pending() == 1;
    turns.reach(3);
    turns.await(4);   // H revived x, then took a second reference and gave us the first
    revived = S::global_count(x) == 1;
    ctx.decref(x);    // H's first reference goes: -1 cached
    ctx.safepoint();  // acknowledges 3: x 1 -> 0 under review; closes 3; reviews x at 4
    review_epoch = rt.epoch();
    live_after_review = ObjectTracker::instance().live();
    still_queued = S::under_review(x) && !S::dirty(x);  // queued again, flag cleared
    requeued = ctx.reviews_pending() == 1;
    turns.reach(5);
    turns.await(6, ctx);
  };
  auto h = [&](S::Context& ctx) {
    turns.await(1);
    ctx.incref(x);    // +1 cached
    turns.reach(2);
    turns.await(3);
    ctx.safepoint();  // acknowledges 2: flush takes x 0 -> 1; closes 2
    ctx.safepoint();  // acknowledges 3: nothing cached
    ctx.incref(x);    // a second reference: +1 cached, after our last acknowledgement
    turns.reach(4);   // the first now belongs to R
    turns.await(5);   // no safepoint: our +1 stays cached through R's review
    readable = x->kind == Kind::int_ && x->value.i == 42;  // ASan: use after free if freed early
    ctx.decref(x);
    turns.reach(6);
  };
  const ThreadsResult res = run_threads<S>(rt, Launch::together, r, h);
  EXPECT_EQ(res.live, 0);
  EXPECT_EQ(live_after_first_zero, 1u) << "x was freed on its first zero";
  EXPECT_TRUE(queued);
  EXPECT_TRUE(revived);
  EXPECT_EQ(review_epoch, 4u) << "the review must happen at epoch tag + 2 for the test to mean anything";
  EXPECT_EQ(live_after_review, 1u) << "x was freed at review while H still held it";
  EXPECT_TRUE(still_queued);
  EXPECT_TRUE(requeued);
  EXPECT_TRUE(readable);
  const Counters c = rt.counters();
  EXPECT_GE(sum_of(res, c, Counter::review_requeues), 1u);
  EXPECT_EQ(sum_of(res, c, Counter::delayed_frees), 1u);  // x, once, late
  EXPECT_EQ(ObjectTracker::instance().live(), 0u);
}

// The net-zero flush's case. A's flush takes x to zero and queues it (tag
// 2) while B holds a +1 still in its cache. The reference then travels
// between the threads so that each acknowledges with x's delta at net zero
// (+1 -1) and never with the +1 that would revive it: B gives its reference
// to A and acknowledges 2; A gives it back and acknowledges 3, closing
// epoch 3 and reviewing x at 4. The count is zero and both threads have
// flushed since x was queued, yet B holds x: only the two net-zero flushes
// (each says "this thread used x") mark it dirty. A flush that skipped zero
// deltas would free x here. Runs the timed instantiation, whose decref
// touches only the cache, so a mistaken early free leaves nothing for B's
// cleanup to write into.
TEST(RefCacheReview, NetZeroFlushesOfAnObjectUnderReviewKeepItAlive) {
  using S = Uncounted<Eager>;
  S::Runtime rt;
  Turns turns;
  Object<S>* x = nullptr;
  std::size_t live_after_zero = 0, live_after_review = 0;
  bool queued = false, dirty_after_b = false, requeued = false;
  std::uint64_t review_epoch = 0;
  std::int64_t read_back = -1;

  auto a = [&](S::Context& ctx) {
    x = new_int<S>(ctx, 42);  // global count 1: A's reference
    turns.reach(1);
    turns.await(2);   // B took a reference: +1 in B's cache
    ctx.decref(x);    // A's reference goes: -1 cached
    ctx.safepoint();  // closes 1, acknowledges 2: flush takes x 1 -> 0, queued with tag 2
    live_after_zero = ObjectTracker::instance().live();
    queued = S::under_review(x) && S::global_count(x) == 0 && ctx.reviews_pending() == 1;
    turns.reach(3);
    turns.await(4);   // B gave us its reference (our +1), its cache at net zero
    ctx.incref(x);
    turns.reach(5);
    turns.await(6);   // B acknowledged 2 with its net-zero delta, and 3 with nothing
    dirty_after_b = S::dirty(x);
    turns.reach(7);   // we give the reference back: B increfs ...
    turns.await(8);
    ctx.decref(x);    // ... and we drop ours: net zero here too
    ctx.safepoint();  // acknowledges 3 with x's zero delta, closes 3, reviews x at 4
    review_epoch = rt.epoch();
    live_after_review = ObjectTracker::instance().live();
    requeued = S::under_review(x) && ctx.reviews_pending() == 1;
    turns.reach(9);
    turns.await(10, ctx);
  };
  auto b = [&](S::Context& ctx) {
    turns.await(1);
    ctx.incref(x);    // +1 cached
    turns.reach(2);
    turns.await(3);
    turns.reach(4);   // A takes a reference from ours ...
    turns.await(5);
    ctx.decref(x);    // ... and ours goes: x's delta here is +1 -1
    ctx.safepoint();  // acknowledges 2: flushes the zero delta; closes 2
    ctx.safepoint();  // acknowledges 3: nothing cached
    turns.reach(6);
    turns.await(7);
    ctx.incref(x);    // A's reference becomes ours: +1 cached, after our last flush
    turns.reach(8);
    turns.await(9);   // no safepoint: the +1 stays cached through A's review
    if (live_after_review == 1) read_back = x->value.i;
    ctx.decref(x);    // cache only: safe even if x was freed
    turns.reach(10);
  };
  const ThreadsResult res = run_threads<S>(rt, Launch::together, a, b);
  EXPECT_EQ(live_after_zero, 1u) << "x was freed on its first zero";
  EXPECT_TRUE(queued);
  EXPECT_TRUE(dirty_after_b) << "B's net-zero flush reached x under review without marking it";
  EXPECT_EQ(review_epoch, 4u) << "the review must happen at epoch tag + 2 for the test to mean anything";
  EXPECT_EQ(live_after_review, 1u) << "x was freed at review while B still held it";
  EXPECT_TRUE(requeued);
  EXPECT_EQ(read_back, 42);
  EXPECT_EQ(res.live, 0);
  EXPECT_EQ(ObjectTracker::instance().live(), 0u);
}

// The plain case: R's flush takes x to zero in the epoch H took an
// unflushed reference, and H keeps using x, reaching safepoints, for several
// epochs past the one at which x's review falls due. H's flush revives it,
// so the review drops x from the queue; it dies only when H lets go.
TEST(RefCacheReview, ZeroWithAnotherThreadsIncrefStillCachedIsNotFreed) {
  using S = Eager;
  S::Runtime rt;
  Turns turns;
  Object<S>* x = nullptr;
  std::size_t live_while_used = 0;
  std::int64_t sum = 0;
  std::uint64_t zero_epoch = 0, last_epoch = 0;
  std::atomic<bool> h_done{false};

  auto r = [&](S::Context& ctx) {
    x = new_int<S>(ctx, 7);
    turns.reach(1);
    turns.await(2);
    ctx.decref(x);
    ctx.safepoint();  // flush: x 1 -> 0, queued
    zero_epoch = rt.epoch();
    turns.reach(3);
    while (!h_done.load(std::memory_order_acquire)) ctx.safepoint();  // epochs move, reviews run
    turns.await(4, ctx);
  };
  auto h = [&](S::Context& ctx) {
    turns.await(1);
    ctx.incref(x);
    turns.reach(2);
    turns.await(3);
    // Use x while epochs pass well beyond its review.
    while (rt.epoch() < zero_epoch + 6) {
      ctx.incref(x);
      sum += hide(x)->value.i;  // ASan: use after free if freed early
      ctx.decref(x);
      ctx.safepoint();
      std::this_thread::yield();
    }
    live_while_used = ObjectTracker::instance().live();
    last_epoch = rt.epoch();
    h_done.store(true, std::memory_order_release);
    sum += x->value.i;
    ctx.decref(x);
    turns.reach(4);
  };
  const ThreadsResult res = run_threads<S>(rt, Launch::together, r, h);
  EXPECT_EQ(res.live, 0);
  EXPECT_EQ(live_while_used, 1u);
  EXPECT_GE(last_epoch, zero_epoch + 6);
  EXPECT_GT(sum, 0);
  EXPECT_EQ(sum % 7, 0);
  const Counters c = rt.counters();
  EXPECT_EQ(sum_of(res, c, Counter::delayed_frees), 1u);
  EXPECT_GE(sum_of(res, c, Counter::reviews), 2u);  // the false zero, then the real one
  EXPECT_EQ(ObjectTracker::instance().live(), 0u);
}

// Random timing, many times: A increfs x and hands the new reference over,
// B drops it at once (sometimes flushing straight away), A reads x
// afterwards. Four-slot caches: most ops evict, so decrefs reach the global
// count long before the increfs of the other thread.
TEST(RefCacheStress, ReferenceDroppedAtOnceByTheReceiverNeverFreesTheGiversObject) {
  using S = Stress;
  constexpr int kTrials = 1500;
  S::Runtime rt;
  Mailbox<S> box;
  std::uint64_t bad = 0;
  auto a = [&](S::Context& ctx) {
    Chaos<true> rng(11);
    Object<S>* noise[3];
    for (auto& n : noise) n = new_int<S>(ctx, -1);
    for (int i = 0; i < kTrials; ++i) {
      Object<S>* x = new_int<S>(ctx, i);
      ctx.incref(x);
      box.send(ctx, x);
      for (auto n = rng.next() % 6; n > 0; --n) {
        Object<S>* other = noise[rng.next() % 3];  // evicts x's entry, or not
        ctx.incref(other);
        ctx.decref(hide(other));
        ctx.safepoint();
        if (rng.next() % 4 == 0) std::this_thread::sleep_for(20us);
      }
      if (hide(x)->kind != Kind::int_ || x->value.i != i) ++bad;
      ctx.decref(x);
    }
    for (auto& n : noise) ctx.decref(n);
  };
  auto b = [&](S::Context& ctx) {
    for (int i = 0; i < kTrials; ++i) {
      ctx.decref(box.receive(ctx));
      if (i % 3 == 0) {  // flush the decref now
        ctx.enter_blocking();
        ctx.leave_blocking();
      }
      ctx.safepoint();
    }
  };
  const ThreadsResult res = run_threads<S>(rt, Launch::together, a, b);
  EXPECT_EQ(res.live, 0);
  EXPECT_EQ(bad, 0u);
  const Counters c = rt.counters();
  EXPECT_GT(sum_of(res, c, Counter::cache_evictions), 0u);
  EXPECT_EQ(sum_of(res, c, Counter::delayed_frees), kTrials + 3u);
  EXPECT_EQ(ObjectTracker::instance().live(), 0u);
}

// A chain [[[...], 0], ...] built on one thread and dropped on another:
// every free is late, each level waits for its own review while threads
// run, and the exact peak of dead-but-allocated objects holds the chain.
TEST(RefCacheFrees, DeepChainIsFreedLateAndCountedExactly) {
  using S = Eager;
  constexpr std::uint32_t kDepth = 200;
  S::Runtime rt;
  Mailbox<S> box;
  std::int64_t read_back = -1;
  std::size_t freed_while_running = 0;
  auto a = [&](S::Context& ctx) {
    Object<S>* inner = nullptr;
    for (std::uint32_t d = 0; d < kDepth; ++d) {
      Object<S>* level = new_object<S>(ctx, Kind::list, 2);  // [inner, d]
      set_item(level, 0, inner);
      set_item(level, 1, new_int<S>(ctx, d));
      inner = level;
    }
    box.send(ctx, inner);
  };
  auto b = [&](S::Context& ctx) {
    Object<S>* top = box.receive(ctx);
    Object<S>* second = top->item(0);
    ctx.incref(second);
    ctx.decref(top);  // top and its int die; second lives on through our reference
    for (int i = 0; i < 8; ++i) ctx.safepoint();
    read_back = second->item(1)->value.i;
    ctx.decref(second);
    // A few levels free while we run; detach leaves the rest to shutdown().
    for (int i = 0; i < 20; ++i) ctx.safepoint();
    freed_while_running = ctx.freed;
  };
  const ThreadsResult res = run_threads<S>(rt, Launch::one_after_another, a, b);
  EXPECT_EQ(res.live, 0);
  EXPECT_EQ(read_back, kDepth - 2);
  EXPECT_GE(freed_while_running, 2u);
  EXPECT_LT(freed_while_running, 2u * kDepth);
  const Counters c = rt.counters();
  EXPECT_EQ(sum_of(res, c, Counter::delayed_frees), 2u * kDepth);
  EXPECT_GE(c[Counter::peak_pending_frees], 2u * (kDepth - 1));
  EXPECT_LE(c[Counter::peak_pending_frees], 2u * kDepth);
  EXPECT_EQ(ObjectTracker::instance().live(), 0u);
}

// A thread parked in enter_blocking() holding a reference must not stop the
// others' garbage from being reviewed and freed, and its object must
// survive it.
TEST(RefCacheBlocking, ParkedThreadHoldsNoEpochBack) {
  using S = Eager;
  constexpr int kObjects = 500;
  S::Runtime rt;
  Turns turns;
  std::uint64_t worker_freed = 0;
  bool kept = false;
  auto parked = [&](S::Context& ctx) {
    Object<S>* mine = new_int<S>(ctx, 99);
    ctx.incref(mine);
    ctx.decref(hide(mine));
    turns.await(1, ctx);  // parked, its delta flushed
    kept = mine->value.i == 99;
    ctx.decref(mine);
  };
  auto worker = [&](S::Context& ctx) {
    for (int i = 0; i < kObjects; ++i) {
      Object<S>* o = new_int<S>(ctx, i);
      ctx.incref(o);
      ctx.decref(hide(o));
      ctx.decref(o);
      ctx.safepoint();
    }
    const auto until = steady_clock::now() + 10s;
    while (ctx.freed < static_cast<std::uint64_t>(kObjects) && steady_clock::now() < until) {
      ctx.safepoint();
      std::this_thread::yield();
    }
    worker_freed = ctx.freed;
    turns.reach(1);
  };
  const ThreadsResult res = run_threads<S>(rt, Launch::together, parked, worker);
  EXPECT_EQ(res.live, 0);
  EXPECT_EQ(worker_freed, static_cast<std::uint64_t>(kObjects))
      << "the running thread's garbage waited for the parked one";
  EXPECT_TRUE(kept);
  EXPECT_EQ(ObjectTracker::instance().live(), 0u);
}

}  // namespace
}  // namespace rcb::test
