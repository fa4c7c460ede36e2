// Cross-thread traffic under every multi-threaded strategy, including the
// stress-tuned buffered and biased (random yields in their slow paths, and
// for buffered tiny logs and a pool that forces backpressure): many short
// handoff runs with random yields between items, and objects passed back
// and forth between two threads. Every object must be freed exactly once
// (the tracker aborts on a double free; ASan sees a use after free) and
// nothing may be left. This is not a benchmark.

#include <vector>

#include "strategies/atomic.h"
#include "strategies/chaos.h"
#include "strategies/gil.h"
#include "tests/test_support.h"
#include "tests/thread_support.h"
#include "workloads/handoff.h"

namespace rcb::test {
namespace {

using CrossThreadStrategies =
    ::testing::Types<Gil, Atomic, Buffered, Biased, StressBuffered, StressBiased>;

template <class S>
class CrossThread : public ::testing::Test {};
TYPED_TEST_SUITE(CrossThread, CrossThreadStrategies, StrategyName);

// Few items, tiny batches and a two-batch queue, so producers and consumers
// wait on each other constantly, plus a random yield every ~32 items.
inline constexpr HandoffShape kChaoticShape{
    .quick_items = 300, .full_items = 300, .batch = 4, .queue_batches = 2, .chaos = true};

template <class S>
class ChaoticHandoff : public BasicHandoff<S, kChaoticShape> {
 public:
  using BasicHandoff<S, kChaoticShape>::BasicHandoff;
};

TYPED_TEST(CrossThread, ManyShortHandoffRunsWithRandomYields) {
  using S = TypeParam;
  for (const std::uint32_t threads : {1u, 2u, 4u}) {
    for (int run = 0; run < 4; ++run) {
      SCOPED_TRACE("threads=" + std::to_string(threads) + " run=" + std::to_string(run));
      TeamConfig cfg;
      cfg.threads = threads;
      Team<S, ChaoticHandoff> team(cfg);
      for (int i = 0; i < 5; ++i) ASSERT_EQ(team.iterate().checksum, team.expected_checksum());
      const RunTotals totals = team.finish();
      const std::uint64_t pairs = threads == 1 ? 1 : threads / 2;
      EXPECT_EQ(totals.allocated, 4u * 300u * 5u * pairs);  // producers allocate, 4 per item
      EXPECT_EQ(totals.live(), 0);
      ASSERT_EQ(ObjectTracker::instance().live(), 0u);
    }
  }
}

// Ping-pong: each message is a list of tuples (int v, float v / 4). Each
// side reads every tuple through new references, replaces some tuples with
// its own, sometimes rebuilds the whole list around the old tuples, and
// sends it back; so objects created by either thread are dropped by either
// thread, often while the other still references their children.
template <class S>
struct PingPongPlayer {
  using Obj = Object<S>;
  static constexpr std::uint32_t kWidth = 6;

  Mailbox<S>& in;
  Mailbox<S>& out;
  std::uint32_t seed;
  bool serves;
  int rounds;
  std::uint64_t bad_reads = 0;

  static Obj* make_tuple(typename S::Context& ctx, std::int64_t v) {
    Obj* t = new_object<S>(ctx, Kind::tuple, 2);
    set_item(t, 0, new_int<S>(ctx, v));
    set_item(t, 1, new_float<S>(ctx, static_cast<double>(v) / 4));
    return t;
  }

  void operator()(typename S::Context& ctx) {
    Chaos<true> rng(seed);
    if (serves) {
      Obj* list = new_object<S>(ctx, Kind::list, kWidth);
      for (std::uint32_t i = 0; i < kWidth; ++i) set_item(list, i, make_tuple(ctx, i));
      out.send(ctx, list);
    }
    for (int r = 0; r < rounds; ++r) {
      Obj* list = in.receive(ctx);
      list = play(ctx, list, rng);
      out.send(ctx, list);
      ctx.safepoint();
    }
    if (serves) ctx.decref(in.receive(ctx));  // the last volley: drop it here
  }

  Obj* play(typename S::Context& ctx, Obj* list, Chaos<true>& rng) {
    for (std::uint32_t i = 0; i < kWidth; ++i) {
      Obj* t = list->item(i);
      ctx.incref(t);  // for t in list
      Obj* v = t->item(0);
      Obj* f = t->item(1);
      ctx.incref(v);  // v, f = t
      ctx.incref(f);
      if (hide(v)->kind != Kind::int_ || hide(f)->kind != Kind::float_ ||
          static_cast<double>(v->value.i) / 4 != f->value.f)
        ++bad_reads;
      ctx.decref(hide(v));
      ctx.decref(hide(f));
      ctx.decref(hide(t));
      ctx.safepoint();
    }
    const auto roll = rng.next() % 4;
    if (roll == 0) {
      // list = [x for x in list]: a new list of ours around the other's tuples
      Obj* fresh = new_object<S>(ctx, Kind::list, kWidth);
      for (std::uint32_t i = 0; i < kWidth; ++i) {
        ctx.incref(list->item(i));
        set_item(fresh, i, list->item(i));
      }
      ctx.decref(list);
      return fresh;
    }
    if (roll == 1) {
      // list[i] = (v, v / 4): the old tuple dies here, maybe not where it was born
      const auto i = static_cast<std::uint32_t>(rng.next() % kWidth);
      Obj* old = list->item(i);
      set_item(list, i, make_tuple(ctx, static_cast<std::int64_t>(rng.next() % 1000)));
      ctx.decref(old);
    }
    return list;
  }
};

TYPED_TEST(CrossThread, ObjectsHandedBackAndForthAreFreedExactlyOnce) {
  using S = TypeParam;
  for (int game = 0; game < 3; ++game) {
    typename S::Runtime rt;
    Mailbox<S> to_b, to_a;
    PingPongPlayer<S> a{to_a, to_b, static_cast<std::uint32_t>(2 * game + 1), true, 300};
    PingPongPlayer<S> b{to_b, to_a, static_cast<std::uint32_t>(2 * game + 2), false, 301};
    EXPECT_EQ(run_on_threads<S>(rt, a, b), 0);
    EXPECT_EQ(a.bad_reads + b.bad_reads, 0u);
    ASSERT_EQ(ObjectTracker::instance().live(), 0u);
  }
}

}  // namespace
}  // namespace rcb::test
