#pragma once
// The statistics of `rcbench ab` (harness/ab.cpp): paired rounds, one ratio
// per round, judged together over every cell with the family-wise error
// controlled.
//
// Why paired: two separate runs of one binary disagreed by up to 287% at 2
// threads on a 2-vCPU VM (docs/regressions.md), because the host slows one
// vCPU for minutes at a time. Inside one round A and B run back to back, in
// ABBA or BAAB order, so whatever the host does in that minute falls on both,
// and the round's ratio B/A cancels it. The rounds' ratios are the samples;
// their spread is what is left of the noise.
//
// The test: Wilcoxon's signed-rank test of the rounds' log ratios against
// 0, two-sided, exact up to kExactSignedRankMax rounds without ties. It asks
// whether B is slower than A in more rounds, and by more, than chance would
// give, and assumes only that a round's log ratio is symmetric about its
// median under no change; one wild round moves it by one rank. Holm's
// step-down adjustment over the cells keeps the chance of any false verdict
// in a run at alpha or below, whatever the dependence between cells.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numeric>
#include <optional>
#include <string_view>
#include <vector>

#include "harness/engine/stats.h"

namespace rcb {

struct SignedRankTest {
  double w_plus = 0;   // sum of the ranks of the positive differences
  std::size_t n = 0;   // differences that are not zero
  double p = 1;        // two-sided
  bool exact = false;
};

inline constexpr std::size_t kExactSignedRankMax = 40;

// Ways, out of 2^n, for W+ to take each value 0..n(n+1)/2 with no effect:
// each rank 1..n is positive or negative alike (subset sums of 1..n).
[[nodiscard]] inline std::vector<double> signed_rank_distribution(std::size_t n) {
  const std::size_t top = n * (n + 1) / 2;
  std::vector<double> ways(top + 1, 0.0);
  ways[0] = 1;
  for (std::size_t r = 1; r <= n; ++r)
    for (std::size_t w = top; w >= r; --w) ways[w] += ways[w - r];
  return ways;
}

// Two-sided Wilcoxon signed-rank test of d against 0. Zero differences are
// dropped (Wilcoxon's own rule); tied magnitudes get midranks and then the
// normal approximation with the tie correction and a continuity correction.
[[nodiscard]] inline SignedRankTest wilcoxon_signed_rank(const std::vector<double>& d) {
  SignedRankTest t;
  std::vector<double> nz;
  for (const double x : d)
    if (x != 0 && std::isfinite(x)) nz.push_back(x);
  t.n = nz.size();
  if (t.n == 0) return t;
  std::sort(nz.begin(), nz.end(), [](double a, double b) { return std::abs(a) < std::abs(b); });
  bool ties = false;
  double tie_term = 0;
  for (std::size_t i = 0; i < t.n;) {
    std::size_t j = i;
    while (j < t.n && std::abs(nz[j]) == std::abs(nz[i])) ++j;
    const double midrank = 0.5 * static_cast<double>(i + 1 + j);
    for (std::size_t k = i; k < j; ++k)
      if (nz[k] > 0) t.w_plus += midrank;
    if (j - i > 1) {
      ties = true;
      const double g = static_cast<double>(j - i);
      tie_term += g * g * g - g;
    }
    i = j;
  }
  const double dn = static_cast<double>(t.n);
  const double top = dn * (dn + 1) / 2;
  const double w_small = std::min(t.w_plus, top - t.w_plus);
  if (!ties && t.n <= kExactSignedRankMax) {
    const std::vector<double> ways = signed_rank_distribution(t.n);
    double tail = 0;
    for (std::size_t w = 0; w < ways.size() && static_cast<double>(w) <= w_small; ++w) tail += ways[w];
    t.p = std::min(1.0, 2.0 * tail / std::ldexp(1.0, static_cast<int>(t.n)));
    t.exact = true;
    return t;
  }
  const double mean = top / 2;
  const double variance = dn * (dn + 1) * (2 * dn + 1) / 24 - tie_term / 48;
  if (variance <= 0) return t;
  const double z = std::max(0.0, std::abs(t.w_plus - mean) - 0.5) / std::sqrt(variance);
  t.p = std::min(1.0, std::erfc(z / std::sqrt(2.0)));
  return t;
}

// The smallest two-sided p any n rounds can reach: every round one way.
[[nodiscard]] inline double min_signed_rank_p(std::size_t n) {
  return n == 0 ? 1.0 : std::min(1.0, 2.0 / std::ldexp(1.0, static_cast<int>(std::min<std::size_t>(n, 1000))));
}

// Holm's step-down adjustment: the i-th smallest p (0-based) times (m - i),
// made monotone and capped at 1. Rejecting where the adjusted p < alpha
// keeps the family-wise error at alpha.
[[nodiscard]] inline std::vector<double> holm_adjust(const std::vector<double>& p) {
  const std::size_t m = p.size();
  std::vector<std::size_t> order(m);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return p[a] < p[b]; });
  std::vector<double> adjusted(m, 1.0);
  double running = 0;
  for (std::size_t i = 0; i < m; ++i) {
    running = std::max(running, std::min(1.0, static_cast<double>(m - i) * p[order[i]]));
    adjusted[order[i]] = running;
  }
  return adjusted;
}

enum class AbVerdict { same, slower, faster, noise, insufficient, failed };

[[nodiscard]] constexpr std::string_view to_string(AbVerdict v) {
  switch (v) {
    case AbVerdict::same: return "same";
    case AbVerdict::slower: return "REGRESSION";
    case AbVerdict::faster: return "improvement";
    case AbVerdict::noise: return "noise";
    case AbVerdict::insufficient: return "insufficient data";
    case AbVerdict::failed: return "FAILED";
  }
  return "?";
}

// One cell's rounds, summarised: the median ratio B/A and its
// distribution-free 95% interval (engine/stats.h), and the test.
struct PairedSummary {
  std::size_t rounds = 0;
  double ratio = 1;  // median of the rounds' B/A
  std::optional<MedianInterval> ci;
  SignedRankTest test;
};

[[nodiscard]] inline PairedSummary summarise_pairs(const std::vector<double>& ratios) {
  PairedSummary s;
  s.rounds = ratios.size();
  if (ratios.empty()) return s;
  s.ratio = median(ratios);
  s.ci = median_ci95(ratios);
  std::vector<double> logs;
  logs.reserve(ratios.size());
  for (const double r : ratios) logs.push_back(std::log(r));
  s.test = wilcoxon_signed_rank(logs);
  return s;
}

// The verdict, given the Holm-adjusted p: a change counts only when it is
// both significant after the adjustment and beyond the threshold. Rounds too
// few for the adjusted test to ever reach alpha are insufficient data, never
// a verdict.
[[nodiscard]] inline AbVerdict ab_verdict(const PairedSummary& s, double adjusted_p, double min_adjusted_p,
                                          double alpha, double threshold) {
  if (min_adjusted_p >= alpha) return AbVerdict::insufficient;
  const double change = s.ratio - 1;
  if (std::abs(change) <= threshold) return AbVerdict::same;
  if (adjusted_p >= alpha) return AbVerdict::noise;
  return change > 0 ? AbVerdict::slower : AbVerdict::faster;
}

}  // namespace rcb
