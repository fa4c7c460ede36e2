// blocked_owner: its checksum and allocations, and its retention figures
// against what each strategy's mechanism guarantees (no more): biased keeps
// the whole dropped batch allocated until the blocked owner is back,
// cpython_ft only what was dropped since its last pause, atomic and the GIL
// keep nothing, buffered, refcache and sharded at least the list just
// dropped. Small batches, so the suite stays fast under the
// sanitizers. This is not a benchmark.

#include <optional>
#include <string>

#include "harness/engine/measure.h"
#include "strategies/registry.h"
#include "tests/test_support.h"
#include "tests/thread_support.h"
#include "workloads/blocked_owner.h"

namespace rcb::test {
namespace {

inline constexpr std::uint32_t kTuples = 2'000;
inline constexpr BlockedOwnerShape kSmall{.quick_tuples = kTuples, .full_tuples = kTuples};

template <class S>
class SmallBlockedOwner : public BasicBlockedOwner<S, kSmall> {
 public:
  using BasicBlockedOwner<S, kSmall>::BasicBlockedOwner;
};

// Random yields in both loops, and a sample after every drop.
inline constexpr BlockedOwnerShape kChaotic{
    .quick_tuples = 300, .full_tuples = 300, .drops_per_sample = 1, .chaos = true};

template <class S>
class ChaoticBlockedOwner : public BasicBlockedOwner<S, kChaotic> {
 public:
  using BasicBlockedOwner<S, kChaotic>::BasicBlockedOwner;
};

// What a dropped batch of n tuples is: n tuples, 2n elements, the list.
constexpr std::uint64_t batch_objects(std::uint64_t n) {
  return 3 * n + 1;
}
// In the timed instantiation's layout, as the figure counts bytes.
template <class S>
constexpr std::uint64_t batch_bytes(std::uint32_t n) {
  using T = Uncounted<S>;
  return n * (object_bytes<T>(2) + 2 * object_bytes<T>(0)) + object_bytes<T>(n);
}

struct Retention {
  std::optional<double> objects, bytes;
};

std::optional<double> figure(const RunTotals& t, const std::string& name) {
  for (const auto& [n, v] : t.workload_figures)
    if (n == name) return v;
  return std::nullopt;
}

// Runs W under S with a census (or without) for a few iterations, checks
// checksums and that every object was freed once, and returns the figures.
template <class S, template <class> class W = SmallBlockedOwner>
Retention retention(std::uint32_t threads, bool census = true, int iterations = 3) {
  SCOPED_TRACE(std::string(S::info.name) + ", threads=" + std::to_string(threads));
  TeamConfig cfg;
  cfg.threads = threads;
  cfg.census = census;
  Team<S, W> team(cfg);
  for (int i = 0; i < iterations; ++i) EXPECT_EQ(team.iterate().checksum, team.expected_checksum());
  const RunTotals totals = team.finish();
  EXPECT_EQ(totals.live(), 0);
  EXPECT_EQ(ObjectTracker::instance().live(), 0u);
  return {figure(totals, "peak_retained_objects"), figure(totals, "peak_retained_bytes")};
}

// ---------------------------------------------------------------------------

TEST(BlockedOwner, ChecksumIsTuplesBuiltPlusPopped) {
  for (const std::uint32_t threads : {1u, 2u, 4u}) {
    const std::uint64_t pairs = threads == 1 ? 1 : threads / 2;
    TeamConfig cfg;
    cfg.threads = threads;
    Team<Atomic, SmallBlockedOwner> team(cfg);
    EXPECT_EQ(team.expected_checksum(), pairs * 2 * kTuples);
    for (int i = 0; i < 2; ++i) EXPECT_EQ(team.iterate().checksum, team.expected_checksum());
    EXPECT_EQ(team.finish().live(), 0);
  }
}

TEST(BlockedOwner, OwnerAllocatesThreeObjectsATuplePlusTheList) {
  TeamConfig cfg;
  cfg.threads = 2;
  Team<Atomic, SmallBlockedOwner> team(cfg);
  for (int i = 0; i < 3; ++i) (void)team.iterate();
  EXPECT_EQ(team.finish().allocated, 3 * batch_objects(kTuples));
}

TEST(BlockedOwner, TurnsDownOddThreadCountsAboveOne) {
  EXPECT_TRUE(BlockedOwner<Atomic>::supports(1).ok);
  EXPECT_TRUE(BlockedOwner<Atomic>::supports(2).ok);
  EXPECT_FALSE(BlockedOwner<Atomic>::supports(3).ok);
  EXPECT_TRUE(BlockedOwner<Atomic>::supports(4).ok);
}

// ---------------------------------------------------------------------------
// Retention, as each mechanism implies it.

// Every `del t` queues the tuple to its blocked owner, and `del batch` the
// list; nothing is merged before the owner is back, after the last sample.
// The owner merged the previous batch on waking, so nothing else is dead.
TEST(BlockedOwnerRetention, BiasedKeepsTheWholeBatchWhileTheOwnerIsBlocked) {
  const Retention r = retention<Biased>(2);
  ASSERT_TRUE(r.objects && r.bytes);
  EXPECT_EQ(*r.objects, batch_objects(kTuples));
  EXPECT_EQ(*r.bytes, batch_bytes<Biased>(kTuples));
}

// One thread owns what it drops: each local count reaches zero and frees.
TEST(BlockedOwnerRetention, BiasedOnOneThreadFreesAtOnce) {
  const Retention r = retention<Biased>(1);
  ASSERT_TRUE(r.objects && r.bytes);
  EXPECT_EQ(*r.objects, 0);
  EXPECT_EQ(*r.bytes, 0);
}

// Each pair's dropper sees at least its own whole batch at its last
// sample; another pair adds at most its own batch (see the header on what
// a sample may miss or still count with several pairs).
TEST(BlockedOwnerRetention, BiasedWithTwoPairsHoldsAtLeastOneBatch) {
  const Retention r = retention<Biased>(4);
  ASSERT_TRUE(r.objects && r.bytes);
  EXPECT_GE(*r.objects, batch_objects(kTuples));
  EXPECT_LE(*r.objects, 2 * batch_objects(kTuples));
  EXPECT_GE(*r.bytes, batch_bytes<Biased>(kTuples));
  EXPECT_LE(*r.bytes, 2 * batch_bytes<Biased>(kTuples));
}

// cpython_ft collects when CPython would: when net allocations of GC
// objects pass the threshold (strategies/gc_trigger.h). The dropper
// allocates nothing and the owner is blocked, so no collection merges the
// owner's queue while it waits, and cpython_ft holds the whole batch as
// biased does, as CPython 3.14t does (CPython issue #157838). A batch of
// 10,000 tuples is past the threshold, so the owner's own allocations did
// schedule collections while it built the batch; they found nothing queued.
inline constexpr BlockedOwnerShape kLong{.quick_tuples = 10'000, .full_tuples = 10'000};

template <class S>
class LongBlockedOwner : public BasicBlockedOwner<S, kLong> {
 public:
  using BasicBlockedOwner<S, kLong>::BasicBlockedOwner;
};

TEST(BlockedOwnerRetention, CPythonFtHoldsTheBatchOfABlockedOwnerAsCPythonDoes) {
  static_assert(kLong.quick_tuples > GcRules::kYoungThreshold);
  const Retention ft = retention<CPythonFt, LongBlockedOwner>(2);
  ASSERT_TRUE(ft.objects);
  const Retention biased = retention<Biased, LongBlockedOwner>(2);
  ASSERT_TRUE(biased.objects);
  EXPECT_EQ(*biased.objects, batch_objects(kLong.quick_tuples));
  EXPECT_EQ(*ft.objects, *biased.objects);
}

// The decref that drops the last reference frees, inside the drop.
TEST(BlockedOwnerRetention, ImmediateStrategiesRetainNothing) {
  for (const std::uint32_t threads : {1u, 2u, 4u}) {
    const Retention atomic = retention<Atomic>(threads);
    ASSERT_TRUE(atomic.objects && atomic.bytes);
    EXPECT_EQ(*atomic.objects, 0) << threads << " threads";
    EXPECT_EQ(*atomic.bytes, 0) << threads << " threads";
  }
  const Retention gil = retention<Gil>(2);
  ASSERT_TRUE(gil.objects);
  EXPECT_EQ(*gil.objects, 0);
  const Retention plain = retention<Plain>(1);
  ASSERT_TRUE(plain.objects);
  EXPECT_EQ(*plain.objects, 0);
}

// Late freers: the last decref, `del batch`, cannot have been applied when
// the dropper samples right after it (buffered: still in its own decref
// log; refcache: still in its cache; sharded: killed, its grace period not
// begun). So the list, at least, is dead and allocated.
template <class S>
void expect_at_least_the_list(std::uint32_t threads) {
  const Retention r = retention<S>(threads);
  ASSERT_TRUE(r.objects && r.bytes);
  EXPECT_GE(*r.objects, 1) << S::info.name;
  EXPECT_GE(*r.bytes, object_bytes<Uncounted<S>>(kTuples)) << S::info.name;  // bytes as timed runs lay it out
  EXPECT_LE(*r.objects, 3 * batch_objects(kTuples)) << S::info.name << ": more than three iterations' worth";
}

TEST(BlockedOwnerRetention, LateFreersHoldAtLeastTheListJustDropped) {
  for (const std::uint32_t threads : {1u, 2u}) {
    expect_at_least_the_list<Buffered>(threads);
    expect_at_least_the_list<RefCache>(threads);
  }
  expect_at_least_the_list<Sharded>(2);
}

TEST(BlockedOwnerRetention, NoCensusNoFigures) {
  const Retention r = retention<Biased>(2, /*census=*/false);
  EXPECT_FALSE(r.objects);
  EXPECT_FALSE(r.bytes);
}

// The harness takes the figures from the counted pass, where the Team hands
// out the census; timed repetitions sample nothing and report nothing.
TEST(BlockedOwnerRetention, CountedPassCarriesTheFiguresTimedRepetitionsDoNot) {
  const CountedPass pass = counted_pass<Biased, SmallBlockedOwner>(2, Size::quick, 0.0, {});
  EXPECT_EQ(pass.error, "");
  bool found = false;
  for (const auto& [name, v] : pass.workload_figures)
    if (name == "peak_retained_objects") {
      found = true;
      EXPECT_EQ(v, batch_objects(kTuples));
    }
  EXPECT_TRUE(found);
  RepetitionPlan plan;
  plan.threads = 2;
  plan.iterations = 2;
  const Repetition rep = run_repetition<Uncounted<Biased>, SmallBlockedOwner>(plan);
  EXPECT_EQ(rep.error, "");
  EXPECT_TRUE(rep.workload_figures.empty());
}

// ---------------------------------------------------------------------------
// Under stress: random yields in the workload and in the strategies' slow
// paths, a sample after every drop; every object still freed once, and
// biased's figure still exact (the owner is blocked whatever the timing).

template <class S>
class BlockedOwnerStress : public ::testing::Test {};
using StressStrategies = ::testing::Types<Gil, Atomic, Buffered, StressBuffered, Biased, StressBiased, RefCache>;
TYPED_TEST_SUITE(BlockedOwnerStress, StressStrategies, StrategyName);

TYPED_TEST(BlockedOwnerStress, ManyShortRunsFreeEverythingOnce) {
  using S = TypeParam;
  for (const std::uint32_t threads : {1u, 2u, 4u}) {
    for (int run = 0; run < 3; ++run) {
      SCOPED_TRACE("run " + std::to_string(run));
      const Retention r = retention<S, ChaoticBlockedOwner>(threads, true, 4);
      ASSERT_TRUE(r.objects);
      if constexpr (std::is_same_v<S, Biased> || std::is_same_v<S, StressBiased>) {
        if (threads == 2) {
          EXPECT_EQ(*r.objects, batch_objects(kChaotic.quick_tuples));
        }
      }
      EXPECT_GE(*r.objects, 0);
    }
  }
}

}  // namespace
}  // namespace rcb::test
