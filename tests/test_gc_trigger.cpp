// When `deferred` and `cpython_ft` collect: by CPython 3.14's allocation
// rule (strategies/gc_trigger.h), never by time or by safepoints.
//
// The rule, from gc_free_threading.c: each thread flushes its net count of
// GC-object allocations into young.count every 512; after a flush, a
// collection is due when young.count > 2000, young.count >= long_lived_total
// / 4, and memory grew (or the young counts set aside reach 40 x 2000). It
// runs at the thread's next safepoint. The expected schedules below are
// worked out by hand from that rule, so a change to any constant or
// condition moves them.

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "strategies/cpython_ft.h"
#include "strategies/deferred.h"
#include "tests/test_support.h"
#include "tests/thread_support.h"

namespace rcb::test {
namespace {

// The memory gate's two ends: memory that cannot be read lets every due
// collection go ahead (CPython's gate returns true when it cannot read
// the process's usage); memory that never grows sets every one aside.
struct UnreadableMemory {
  [[nodiscard]] static std::int64_t kib() { return -1; }
};
struct FlatMemory {
  [[nodiscard]] static std::int64_t kib() { return 100'000; }
};

template <class Memory>
struct FtWith : CPythonFtTuning {
  using GcMemory = Memory;
};
template <class Memory>
struct DeferredWith : DeferredTuning {
  using GcMemory = Memory;
};

template <template <class> class Strategy>
struct Family {
  template <class Memory>
  using With = Strategy<Memory>;
};
template <class Memory>
using FtS = BasicBiased<FtWith<Memory>>;
template <class Memory>
using DeferredS = BasicDeferred<DeferredWith<Memory>>;

template <class F>
class GcTrigger : public ::testing::Test {};
using Families = ::testing::Types<Family<FtS>, Family<DeferredS>>;
struct FamilyName {
  template <class F>
  static std::string GetName(int) {
    if constexpr (std::is_same_v<F, Family<FtS>>)
      return "cpython_ft";
    else
      return "deferred";
  }
};
TYPED_TEST_SUITE(GcTrigger, Families, FamilyName);

// Allocates `n` tuples and keeps them, with a safepoint after each (a
// loop's backward jump), and returns the allocation counts after which a
// collection ran. Frees them all at the end.
template <class S>
std::vector<std::uint64_t> collections_while_keeping(std::uint64_t n) {
  std::vector<std::uint64_t> at;
  const std::int64_t live = on_one_thread<S>([&](typename S::Context& ctx) {
    std::vector<Object<S>*> kept;
    kept.reserve(n);
    std::uint64_t seen = 0;
    for (std::uint64_t i = 1; i <= n; ++i) {
      Object<S>* t = new_object<S>(ctx, Kind::tuple, 1);
      set_item(t, 0, new_int<S>(ctx, static_cast<std::int64_t>(i)));
      kept.push_back(t);
      ctx.safepoint();
      const std::uint64_t now = ctx.counters[Counter::collections];
      if (now != seen) at.push_back(i);
      seen = now;
    }
    for (Object<S>* t : kept) ctx.decref(t);
  });
  EXPECT_EQ(live, 0);
  return at;
}

// Flushes at every 512; the first flush past 2000 is at 2048. Each
// collection empties the young count and makes the survivors long-lived:
//   after 2048: long-lived 2048, next needs young >= 512   -> at 4096
//   after 4096: needs >= 1024 -> 6144;  after 6144: >= 1536 -> 8192
//   after 8192: needs >= 2048 -> 10240 (2048 >= 2048)
//   after 10240: needs >= 2560 -> young 2560 at 12800
//   after 12800: needs >= 3200 -> young 3584 at 16384
//   after 16384: needs >= 4096 -> 20480, past the 20000 allocated.
TYPED_TEST(GcTrigger, AHeapThatGrowsCollectsAtCPythonsRate) {
  using S = typename TypeParam::template With<UnreadableMemory>;
  const std::vector<std::uint64_t> expected{2048, 4096, 6144, 8192, 10240, 12800, 16384};
  EXPECT_EQ(collections_while_keeping<S>(20'000), expected);
}

// Memory measured once and never growing: the first due collection, at
// 2048, runs (memory grew from the 0 a fresh interpreter starts with) and
// records it. Each later one finds no growth and sets the young count aside
// (young.count moves to deferred_count) until more than 40 x 2000 are set
// aside: the 41st due after the first, 41 x 2048 allocations later, runs.
TYPED_TEST(GcTrigger, MemoryThatDoesNotGrowPutsCollectionsOffUntilFortyThresholds) {
  using S = typename TypeParam::template With<FlatMemory>;
  const std::vector<std::uint64_t> expected{2048, 2048 + 41 * 2048};
  EXPECT_EQ(collections_while_keeping<S>(2048 + 41 * 2048 + 2047), expected);
}

// 3.13t's rule has no memory gate (gh-132917 is 3.14): memory that never
// grows collects at the same allocations as the count rule alone gives.
template <class Memory>
struct Ft313With : CPythonFt313Tuning {
  using GcMemory = Memory;
};
TEST(GcTrigger313, WithoutTheMemoryGateFlatMemoryCollectsAtTheCountRule) {
  using S = BasicBiased<Ft313With<FlatMemory>>;
  const std::vector<std::uint64_t> expected{2048, 4096, 6144, 8192, 10240, 12800, 16384};
  EXPECT_EQ(collections_while_keeping<S>(20'000), expected);
}

// A loop that makes and drops a container each time never moves the
// young count past 512, and one that allocates no container never moves
// it at all: neither collects, however long it runs.
TYPED_TEST(GcTrigger, ContainersThatDieAsTheyAreMadeNeverCollect) {
  using S = typename TypeParam::template With<UnreadableMemory>;
  std::uint64_t collections = 1;
  const std::int64_t live = on_one_thread<S>([&](typename S::Context& ctx) {
    for (int i = 0; i < 200'000; ++i) {
      Object<S>* t = new_object<S>(ctx, Kind::tuple, 1);
      set_item(t, 0, new_int<S>(ctx, i));
      ctx.decref(t);
      Object<S>* n = new_int<S>(ctx, i);
      ctx.incref(n);
      ctx.decref(n);
      ctx.decref(n);
      ctx.safepoint();
    }
    collections = ctx.counters[Counter::collections];
  });
  EXPECT_EQ(live, 0);
  EXPECT_EQ(collections, 0);
}

// Two threads take and drop references to one shared object at every
// step, with a safepoint each time, as hot_object does: nothing is
// allocated, so nothing collects (the old rule paused every 2000
// safepoints of each thread).
TYPED_TEST(GcTrigger, ThreadsThatOnlyCountNeverCollect) {
  using S = typename TypeParam::template With<UnreadableMemory>;
  typename S::Runtime rt;
  Object<S>* shared = nullptr;
  Turns built;
  auto maker = [&](typename S::Context& ctx) {
    shared = new_int<S>(ctx, 7);
    ctx.incref(shared);  // the other thread's
    ctx.publish(shared);
    built.reach(1);
    for (int i = 0; i < 100'000; ++i) {
      ctx.incref(hide(shared));
      ctx.decref(hide(shared));
      ctx.safepoint();
    }
    ctx.decref(shared);
  };
  auto user = [&](typename S::Context& ctx) {
    built.await(1, ctx);
    for (int i = 0; i < 100'000; ++i) {
      ctx.incref(hide(shared));
      ctx.decref(hide(shared));
      ctx.safepoint();
    }
    ctx.decref(shared);
  };
  const ThreadsResult r = run_threads<S>(rt, Launch::together, maker, user);
  EXPECT_EQ(r.live, 0);
  EXPECT_EQ(r.counters[0][Counter::collections] + r.counters[1][Counter::collections], 0);
}

// Each thread flushes its own count: two threads that each keep 1100
// containers flush twice each (at 512 and 1024), 2048 in all, and the
// thread whose flush takes young.count past 2000 collects, once.
TYPED_TEST(GcTrigger, EachThreadFlushesItsOwnCountIntoOneYoungCount) {
  using S = typename TypeParam::template With<UnreadableMemory>;
  typename S::Runtime rt;
  Turns first_done;
  auto keep = [](typename S::Context& ctx, std::vector<Object<S>*>& kept) {
    for (int i = 0; i < 1100; ++i) {
      kept.push_back(new_object<S>(ctx, Kind::list, 0));
      ctx.safepoint();
    }
  };
  auto first = [&](typename S::Context& ctx) {
    std::vector<Object<S>*> kept;
    keep(ctx, kept);
    first_done.reach(1);
    first_done.await(2, ctx);  // parks for the other thread's collection
    for (Object<S>* o : kept) ctx.decref(o);
  };
  auto second = [&](typename S::Context& ctx) {
    first_done.await(1, ctx);
    std::vector<Object<S>*> kept;
    keep(ctx, kept);
    for (Object<S>* o : kept) ctx.decref(o);
    first_done.reach(2);
  };
  const ThreadsResult r = run_threads<S>(rt, Launch::together, first, second);
  EXPECT_EQ(r.live, 0);
  EXPECT_EQ(r.counters[0][Counter::collections], 0);
  EXPECT_EQ(r.counters[1][Counter::collections], 1);
}

}  // namespace
}  // namespace rcb::test
