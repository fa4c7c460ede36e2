// Attacks on sticky counting (strategies/sticky.h): what publish() marks and
// where it stops, a million-deep structure published without recursion, and
// an owner dropping parts of a structure it has just published and handed
// over while the receiver drops the whole. This is not a benchmark.
//
// Built WITHOUT RCBENCH_TRACK_OBJECTS (see tests/CMakeLists.txt), for the
// reason test_last_drop.cpp gives: the tracker's global mutex, taken on every
// allocation and free, would order the two threads by itself and hide a
// missing acquire before a free from ThreadSanitizer. Live counts come from
// the contexts' allocated/freed tallies; a double free shows as a negative
// live count here and as a report under AddressSanitizer.

#include <cstdint>

#include "strategies/sticky.h"
#include "tests/test_support.h"
#include "tests/thread_support.h"

namespace rcb::test {
namespace {

static_assert(!kTrackObjects, "the tracker's mutex would order the threads of this test");

using S = Sticky;
using Obj = Object<S>;

// publish() marks every local object it can reach, once, skips null slots,
// and does not enter what is already shared; ops then take the path the mark
// says, and an object that is shared stays shared.
TEST(Sticky, PublishMarksWhatIsReachableOnceAndStopsAtSharedObjects) {
  const auto live = on_one_thread<S>([](S::Context& ctx) {
    Obj* a = new_int<S>(ctx, 1);
    Obj* u = new_object<S>(ctx, Kind::tuple, 2);
    set_item(u, 0, new_float<S>(ctx, 2.0));
    set_item(u, 1, new_int<S>(ctx, 3));
    Obj* t = new_object<S>(ctx, Kind::tuple, 3);  // (a, u, None)
    set_item(t, 0, a);
    set_item(t, 1, u);
    for (Obj* o : {a, u, u->item(0), u->item(1), t}) EXPECT_FALSE(S::is_shared(o));

    ctx.incref(a);
    ctx.decref(a);
    EXPECT_EQ(ctx.counters[Counter::owner_ops], 2u);
    EXPECT_EQ(ctx.counters[Counter::atomic_rmw], 0u);

    ctx.publish(t);
    EXPECT_EQ(ctx.counters[Counter::published_objects], 5u);
    EXPECT_EQ(ctx.containers_entered(), 2u);  // t and u
    for (Obj* o : {a, u, u->item(0), u->item(1), t}) EXPECT_TRUE(S::is_shared(o));
    ctx.publish(t);
    ctx.publish(u);
    EXPECT_EQ(ctx.counters[Counter::published_objects], 5u) << "re-marked a shared object";
    // Not re-marking is not enough: a walk that went on into shared
    // containers would change no mark, only what publish costs.
    EXPECT_EQ(ctx.containers_entered(), 2u) << "publish() walked into containers already shared";

    // A new local list holding the shared tuple: publishing it marks the
    // list and its new int, not the tuple's graph again.
    ctx.incref(t);  // the list's reference
    EXPECT_EQ(ctx.counters[Counter::atomic_rmw], 1u);
    Obj* d = new_int<S>(ctx, 4);
    Obj* l = new_object<S>(ctx, Kind::list, 2);
    set_item(l, 0, t);
    set_item(l, 1, d);
    ctx.publish(l);
    EXPECT_EQ(ctx.counters[Counter::published_objects], 7u);
    EXPECT_EQ(ctx.containers_entered(), 3u) << "publish(l) entered the shared tuple below it";
    EXPECT_TRUE(S::is_shared(l));
    EXPECT_TRUE(S::is_shared(d));

    ctx.decref(t);  // ours; the list keeps t alive, still shared
    EXPECT_TRUE(S::is_shared(t));
    EXPECT_EQ(t->item(0)->value.i, 1);
    const std::uint64_t owner_ops = ctx.counters[Counter::owner_ops];
    ctx.decref(l);  // frees l, d, t, a, u and u's two items, all atomically
    EXPECT_EQ(ctx.counters[Counter::owner_ops], owner_ops);
    EXPECT_EQ(ctx.counters[Counter::atomic_rmw], 2u + 7u);
    EXPECT_GT(ctx.counters[Counter::publish_ns], 0u);
  });
  EXPECT_EQ(live, 0);
}

// Structures can be a million deep: the walk is a worklist, never the C++
// stack (which would overflow far sooner than this).
TEST(Sticky, PublishingAMillionDeepListNeedsNoRecursion) {
  constexpr std::uint32_t kDepth = 1'000'000;
  const auto live = on_one_thread<S>([](S::Context& ctx) {
    Obj* inner = new_int<S>(ctx, 42);
    Obj* middle = nullptr;
    for (std::uint32_t i = 0; i < kDepth; ++i) {
      Obj* outer = new_object<S>(ctx, Kind::list, 1);
      set_item(outer, 0, inner);
      inner = outer;
      if (i == kDepth / 2) middle = outer;
    }
    ctx.publish(inner);
    EXPECT_EQ(ctx.counters[Counter::published_objects], kDepth + 1u);
    EXPECT_TRUE(S::is_shared(middle));
    ctx.decref(inner);
  });
  EXPECT_EQ(live, 0);
}

// The owner builds t = (a, (b, c), prev) each round, where prev is the
// previous round's `a`, already shared and possibly being dropped by the
// receiver at this moment. It keeps its own references to a and (b, c) in
// a local list, publishes t and hands it over; then, while the receiver
// reads t's payloads and drops t, the owner reads its own and drops the
// list. Either thread may free a, (b, c) and its items, and the owner's
// publish of the next tuple reads prev's word while the receiver's drop of
// the previous tuple decrements it.
//
// What fails under which mistake:
//   - publish() not entering children: a, b, c stay local and both threads
//     take the plain path on them: the receiver's owner_ops is non-zero
//     (every build), ThreadSanitizer reports the plain stores racing, and a
//     lost update leaks or double-frees.
//   - a plain (non-atomic) decrement on shared objects, or the shared test
//     read without an atomic load: ThreadSanitizer reports the race; a lost
//     update shows in the live count.
//   - no acquire before the free: ThreadSanitizer reports the free racing
//     with the other thread's payload read.
//   - publish() re-marking shared objects (not stopping) or marking them
//     with a plain read-modify-write: published_objects is off and
//     ThreadSanitizer reports the write to prev's word racing with the
//     receiver's decrement.
TEST(Sticky, OwnerDropsPartsOfAPublishedStructureWhileTheReceiverDropsTheWhole) {
  constexpr std::int64_t kRounds = kThreadSanitizer ? 3000 : 30000;
  S::Runtime rt;
  Mailbox<S> box;
  std::int64_t owner_sum = 0, receiver_sum = 0;

  auto owner = [&](S::Context& ctx) {
    Obj* prev = nullptr;  // one reference, ours, to last round's a
    for (std::int64_t r = 0; r < kRounds; ++r) {
      Obj* a = new_int<S>(ctx, r);
      Obj* u = new_object<S>(ctx, Kind::tuple, 2);
      set_item(u, 0, new_float<S>(ctx, static_cast<double>(r) * 0.5));
      set_item(u, 1, new_int<S>(ctx, 3 * r));
      Obj* t = new_object<S>(ctx, Kind::tuple, 3);
      set_item(t, 0, a);
      set_item(t, 1, u);
      set_item(t, 2, prev);  // t takes our reference to prev (None in round 0)
      ctx.incref(a);         // the list's
      ctx.incref(u);
      Obj* keep = new_object<S>(ctx, Kind::list, 2);
      set_item(keep, 0, a);
      set_item(keep, 1, u);
      ctx.incref(a);  // next round's t takes this one
      prev = a;
      ctx.publish(t);
      box.send(ctx, t);  // release: the marks and the payloads, to the receiver
      Obj* k = hide(keep);
      owner_sum += k->item(0)->value.i + static_cast<std::int64_t>(k->item(1)->item(0)->value.f * 2) +
                   k->item(1)->item(1)->value.i;
      ctx.decref(k);  // local: freed here, dropping a and u with atomic decrements
    }
    ctx.decref(prev);
  };
  auto receiver = [&](S::Context& ctx) {
    for (std::int64_t r = 0; r < kRounds; ++r) {
      Obj* t = hide(box.receive(ctx));
      Obj* u = t->item(1);
      receiver_sum += t->item(0)->value.i + static_cast<std::int64_t>(u->item(0)->value.f * 2) +
                      u->item(1)->value.i + (t->item(2) != nullptr ? t->item(2)->value.i : 0);
      ctx.decref(t);
    }
  };
  const ThreadsResult res = run_threads<S>(rt, Launch::together, owner, receiver);
  EXPECT_EQ(res.live, 0) << "freed " << res.freed[0] << " + " << res.freed[1];
  const std::int64_t n = kRounds;
  EXPECT_EQ(owner_sum, 5 * (n * (n - 1) / 2));
  EXPECT_EQ(receiver_sum, 5 * (n * (n - 1) / 2) + (n - 1) * (n - 2) / 2);
  // t, a, u and u's two items each round; prev was marked the round before,
  // and the Mailbox's own publish() finds t already shared.
  EXPECT_EQ(res.counters[0][Counter::published_objects], static_cast<std::uint64_t>(5 * kRounds));
  // Everything the receiver touches was published before it got it.
  EXPECT_EQ(res.counters[1][Counter::owner_ops], 0u);
  EXPECT_GT(res.counters[1][Counter::atomic_rmw], 0u);
}

}  // namespace
}  // namespace rcb::test
