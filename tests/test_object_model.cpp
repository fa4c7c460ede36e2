// The object model under every strategy: deep teardown without recursion,
// containers releasing children, and the GIL's fairness.

#include <atomic>
#include <thread>

#include "tests/test_support.h"

namespace rcb::test {
namespace {

template <class S>
class ObjectModel : public ::testing::Test {};
TYPED_TEST_SUITE(ObjectModel, AsGTest<AllStrategies>::type, StrategyName);

// CPython needs its trashcan for this: freeing [[[...]]] 1,000,000 deep
// recursively would overflow the C stack (8 MiB at ~100 bytes a frame).
TYPED_TEST(ObjectModel, MillionDeepNestedListFreesWithoutStackOverflow) {
  using S = TypeParam;
  constexpr int kDepth = 1'000'000;
  const auto live = on_one_thread<S>([](auto& ctx) {
    Object<S>* inner = new_object<S>(ctx, Kind::list, 1);
    for (int i = 1; i < kDepth; ++i) {
      Object<S>* outer = new_object<S>(ctx, Kind::list, 1);
      set_item(outer, 0, inner);
      inner = outer;
    }
    EXPECT_EQ(ctx.allocated, static_cast<std::uint64_t>(kDepth));
    ctx.decref(inner);
    ctx.safepoint();
  });
  EXPECT_EQ(live, 0);
  EXPECT_EQ(ObjectTracker::instance().live(), 0u);
}

TYPED_TEST(ObjectModel, SharedChildSurvivesOneParentAndDiesWithTheOther) {
  using S = TypeParam;
  const auto live = on_one_thread<S>([](auto& ctx) {
    Object<S>* child = new_int<S>(ctx, 42);
    Object<S>* a = new_object<S>(ctx, Kind::tuple, 1);
    Object<S>* b = new_object<S>(ctx, Kind::tuple, 1);
    set_item(a, 0, child);
    ctx.incref(child);
    set_item(b, 0, child);
    ctx.decref(a);
    ctx.safepoint();
    EXPECT_EQ(b->item(0)->value.i, 42);  // still alive through b
    ctx.decref(b);
    ctx.safepoint();
  });
  EXPECT_EQ(live, 0);
  EXPECT_EQ(ObjectTracker::instance().live(), 0u);
}

// No thread starves under the GIL: each of three threads spinning through
// safepoints gets the lock within a bounded number of switch intervals.
TEST(GilFairness, EveryThreadGetsTurns) {
  Gil::Runtime rt(std::chrono::microseconds(1000));
  constexpr int kThreads = 3;
  constexpr int kTurnsEach = 5;
  std::atomic<int> finished{0};
  std::vector<std::thread> threads;
  std::atomic<int> last_owner{-1};
  std::array<std::atomic<int>, kThreads> turns{};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Gil::Context ctx(rt, ThreadIndex{static_cast<std::uint32_t>(t)});
      ctx.attach();
      // Spin at safepoints until this thread has seen the GIL come back to
      // it kTurnsEach times after someone else held it.
      while (turns[t].load() < kTurnsEach) {
        if (last_owner.exchange(t) != t) turns[t].fetch_add(1);
        ctx.safepoint();
      }
      finished.fetch_add(1);
      // Keep yielding until all are done, so the others can finish.
      while (finished.load() < kThreads) {
        last_owner.store(t);
        ctx.safepoint();
      }
      ctx.detach();
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_GE(turns[t].load(), kTurnsEach);
}

}  // namespace
}  // namespace rcb::test
