// Every strategy x workload x thread count that applies: checksums right on
// every iteration, every object freed exactly once (the tracker aborts on a
// double free), and nothing live at the end. This is not a benchmark.

#include "tests/test_support.h"

namespace rcb::test {
namespace {

template <class C>
class Matrix : public ::testing::Test {};
TYPED_TEST_SUITE(Matrix, AsGTest<BuiltCombos>::type, ComboName);

TYPED_TEST(Matrix, ChecksumsRightAndEveryObjectFreedOnce) {
  using S = typename TypeParam::Strategy;
  if (kThreadSanitizer && kForksProcesses<typename TypeParam::template Workload<S>>)
    GTEST_SKIP() << "forks: not under ThreadSanitizer (see test_support.h); test_fork_cow covers it";
  int runs = 0;
  for (const std::uint32_t threads : kThreadCounts) {
    if (!S::info.multi_threaded && threads > 1) continue;
    if (!workload_supports<TypeParam::template Workload, S>(threads).ok) continue;
    SCOPED_TRACE("threads=" + std::to_string(threads));
    TeamConfig cfg;
    cfg.threads = threads;
    Team<S, TypeParam::template Workload> team(cfg);
    for (int i = 0; i < 3; ++i) {
      const IterationResult r = team.iterate();
      EXPECT_EQ(r.checksum, team.expected_checksum()) << "iteration " << i;
      EXPECT_GT(r.seconds, 0.0);
    }
    const RunTotals totals = team.finish();
    EXPECT_GT(totals.allocated, 0u);
    EXPECT_EQ(totals.live(), 0) << totals.allocated << " allocated, " << totals.freed << " freed";
    EXPECT_EQ(ObjectTracker::instance().live(), 0u);
    ++runs;
  }
  EXPECT_GT(runs, 0);
}

}  // namespace
}  // namespace rcb::test
