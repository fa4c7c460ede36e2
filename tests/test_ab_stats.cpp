// rcbench ab's statistics (harness/ab_stats.h): the signed-rank test against
// an independent brute force over every sign assignment, Holm's adjustment
// against a hand-worked example, and the verdict rules. Nothing here times
// anything.

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "harness/ab_stats.h"

namespace rcb::test {
namespace {

// The two-sided p of W+ by enumerating all 2^n sign flips of |d|.
double brute_force_p(const std::vector<double>& d) {
  const std::size_t n = d.size();
  const auto w_plus = [&](unsigned mask) {
    double w = 0;
    for (std::size_t i = 0; i < n; ++i)
      if (mask >> i & 1u) w += static_cast<double>(i + 1);  // d sorted by magnitude: rank i + 1
    return w;
  };
  unsigned observed = 0;
  for (std::size_t i = 0; i < n; ++i)
    if (d[i] > 0) observed |= 1u << i;
  const double top = static_cast<double>(n * (n + 1) / 2);
  const double w = w_plus(observed);
  const double small = std::min(w, top - w);
  double extreme = 0;
  for (unsigned mask = 0; mask < (1u << n); ++mask) {
    const double v = w_plus(mask);
    if (std::min(v, top - v) <= small) extreme += 1;
  }
  return std::min(1.0, extreme / std::ldexp(1.0, static_cast<int>(n)));
}

TEST(SignedRank, DistributionOfThreeRanksIsTheSubsetSums) {
  // Subsets of {1,2,3}: sums 0,1,2,3,3,4,5,6.
  EXPECT_EQ(signed_rank_distribution(3), (std::vector<double>{1, 1, 1, 2, 1, 1, 1}));
}

TEST(SignedRank, EveryRoundOneWayGivesTwoOverTwoToTheN) {
  const SignedRankTest t = wilcoxon_signed_rank({0.01, 0.02, 0.03, 0.04, 0.05, 0.06});
  EXPECT_TRUE(t.exact);
  EXPECT_DOUBLE_EQ(t.w_plus, 21);
  EXPECT_DOUBLE_EQ(t.p, 2.0 / 64);
  EXPECT_DOUBLE_EQ(t.p, min_signed_rank_p(6));
}

TEST(SignedRank, ExactMatchesBruteForceWithoutTies) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> noise(0.01, 0.02);
  for (int trial = 0; trial < 200; ++trial) {
    const std::size_t n = 6 + static_cast<std::size_t>(trial % 9);
    std::vector<double> d(n);
    for (auto& x : d) x = noise(rng);
    std::sort(d.begin(), d.end(), [](double a, double b) { return std::abs(a) < std::abs(b); });
    EXPECT_NEAR(wilcoxon_signed_rank(d).p, brute_force_p(d), 1e-12) << "trial " << trial;
  }
}

TEST(SignedRank, ZerosAreDroppedAndNoDifferenceIsNoEvidence) {
  EXPECT_EQ(wilcoxon_signed_rank({0, 0, 0}).n, 0u);
  EXPECT_DOUBLE_EQ(wilcoxon_signed_rank({0, 0, 0}).p, 1.0);
  EXPECT_EQ(wilcoxon_signed_rank({0, 0.1, -0.2}).n, 2u);
}

TEST(SignedRank, TiedMagnitudesUseTheNormalApproximationCloseToExact) {
  // Ties force the approximation; it should sit near the exact p of the
  // same data nudged apart.
  const std::vector<double> tied{0.01, 0.01, -0.01, 0.02, 0.02, 0.03, 0.03, 0.04, -0.05, 0.06, 0.07, 0.08};
  std::vector<double> apart = tied;
  for (std::size_t i = 0; i < apart.size(); ++i) apart[i] += 1e-6 * static_cast<double>(i) * (apart[i] > 0 ? 1 : -1);
  const SignedRankTest a = wilcoxon_signed_rank(tied), e = wilcoxon_signed_rank(apart);
  EXPECT_FALSE(a.exact);
  EXPECT_TRUE(e.exact);
  EXPECT_NEAR(a.p, e.p, 0.35 * e.p);
}

TEST(Holm, StepDownByHand) {
  // Sorted: 0.005 x4 = 0.02, 0.01 x3 = 0.03, 0.03 x2 = 0.06, 0.04 x1 = 0.04 -> 0.06 (monotone).
  const std::vector<double> adjusted = holm_adjust({0.01, 0.04, 0.03, 0.005});
  ASSERT_EQ(adjusted.size(), 4u);
  EXPECT_DOUBLE_EQ(adjusted[0], 0.03);
  EXPECT_DOUBLE_EQ(adjusted[1], 0.06);
  EXPECT_DOUBLE_EQ(adjusted[2], 0.06);
  EXPECT_DOUBLE_EQ(adjusted[3], 0.02);
  EXPECT_EQ(holm_adjust({0.9, 0.8}), (std::vector<double>{1.0, 1.0}));
}

TEST(AbVerdict, NeedsSignificanceAndAChangeBeyondTheThreshold) {
  PairedSummary s;
  s.ratio = 1.10;
  EXPECT_EQ(ab_verdict(s, 0.001, 0.0005, 0.05, 0.05), AbVerdict::slower);
  EXPECT_EQ(ab_verdict(s, 0.20, 0.0005, 0.05, 0.05), AbVerdict::noise);
  s.ratio = 1.03;  // significant, but within the threshold
  EXPECT_EQ(ab_verdict(s, 0.001, 0.0005, 0.05, 0.05), AbVerdict::same);
  s.ratio = 0.90;
  EXPECT_EQ(ab_verdict(s, 0.001, 0.0005, 0.05, 0.05), AbVerdict::faster);
  // Too few rounds for the adjustment: never a verdict, however large.
  s.ratio = 2.0;
  EXPECT_EQ(ab_verdict(s, 0.06, 0.06, 0.05, 0.05), AbVerdict::insufficient);
}

TEST(PairedSummary, MedianRatioAndItsInterval) {
  const PairedSummary s = summarise_pairs({1.10, 1.12, 1.08, 1.11, 1.09, 1.13, 1.14});
  EXPECT_DOUBLE_EQ(s.ratio, 1.11);
  ASSERT_TRUE(s.ci);
  EXPECT_LE(s.ci->low, 1.11);
  EXPECT_GE(s.ci->high, 1.11);
  EXPECT_TRUE(s.test.exact);
  EXPECT_DOUBLE_EQ(s.test.p, 2.0 / 128);  // every round slower
}

}  // namespace
}  // namespace rcb::test
