#pragma once
// Small statistics shared by `rcbench run` (summaries) and `rcbench compare`
// (verdicts): the median and a two-sided Mann-Whitney U rank test.
//
// Why a rank test: benchmark times on a shared machine are not normal; they
// have a floor and a long right tail (another process took the core). A rank
// test asks only "does one sample tend to be larger than the other", so one
// wild repetition moves it by one rank, not by its size.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

namespace rcb {

[[nodiscard]] inline double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// A distribution-free 95% confidence interval for the median: the order
// statistics x(k) and x(n+1-k) of the sorted sample, with k the largest rank
// for which P(Binomial(n, 1/2) <= k-1) <= 2.5%. The number of samples below
// the true median is Binomial(n, 1/2) whatever the distribution, so the
// interval covers the median with probability at least 95% (exactly the
// reported coverage, up to ties). It needs no normality, which a benchmark's
// floor-and-long-tail times never have; it exists from n = 6 on.
struct MedianInterval {
  double low = 0, high = 0;
  double coverage = 0;  // the binomial coverage actually achieved, >= 0.95
};

namespace detail {
// log C(n, k), for the binomial and order-statistic tails below.
[[nodiscard]] inline double log_choose(double n, double k) {
  return std::lgamma(n + 1) - std::lgamma(k + 1) - std::lgamma(n - k + 1);
}
}  // namespace detail

// P(Binomial(n, 1/2) = j), in logarithms: 2^-n underflows to zero from
// n = 1075 on, and every term built from it would be zero too.
[[nodiscard]] inline double binomial_half_pmf(std::size_t n, std::size_t j) {
  const double dn = static_cast<double>(n), dj = static_cast<double>(j);
  return std::exp(detail::log_choose(dn, dj) - dn * std::log(2.0));
}

[[nodiscard]] inline std::optional<MedianInterval> median_ci95(std::vector<double> v) {
  const std::size_t n = v.size();
  if (n == 0) return std::nullopt;
  std::sort(v.begin(), v.end());
  double cdf = 0;        // P(B <= j)
  double tail = 0;       // P(B <= k - 1)
  std::size_t k = 0;     // 1-based rank of the lower bound; 0: none
  for (std::size_t j = 0; j < n / 2; ++j) {
    cdf += binomial_half_pmf(n, j);
    if (cdf > 0.025) break;
    k = j + 1;
    tail = cdf;
  }
  if (k == 0) return std::nullopt;
  return MedianInterval{v[k - 1], v[n - k], 1.0 - 2.0 * tail};
}

// Where a repeat run's median will fall: a distribution-free 95% prediction
// interval, x(k) and x(n+1-k), for the median of m more samples from the
// same distribution.
//
// Why not the confidence interval: that one is about the true median, but a
// second run's median carries its own sampling error too. Even on a machine
// whose samples are independent and identically distributed, the 95% CI of
// one run holds the other's median only 86-90% of the time (n = 6-30, the
// simulation in results/dev-vm-2cpu-xeon/across-runs/analyse.py, quoted in
// docs/measurement.md), and less where the host drifts.
//
// Exact under exchangeability: the ranks of all n+m values are equally
// likely, so the number J of the n samples below the future r-th order
// statistic has P(J = j) = C(j+r-1, j) C(n-j+m-r, n-j) / C(n+m, n). The
// future median lies below x(k) only if its lower middle order statistic
// does (r = ceil(m/2)), and above x(n+1-k) only if its upper one does; k is
// the largest rank whose two tails together stay within 5%. For odd m the
// coverage reported is exact; for even m both middle order statistics can
// fall outside at once, and it is a lower bound. For m = n it exists from
// n = 9.
namespace detail {
// P(J = j): j of the n samples below the r-th smallest of m future ones.
[[nodiscard]] inline double below_order_statistic_pmf(std::size_t n, std::size_t m, std::size_t r, std::size_t j) {
  const double dn = static_cast<double>(n), dm = static_cast<double>(m), dr = static_cast<double>(r),
               dj = static_cast<double>(j);
  return std::exp(log_choose(dj + dr - 1, dj) + log_choose(dn - dj + dm - dr, dn - dj) - log_choose(dn + dm, dn));
}
}  // namespace detail

[[nodiscard]] inline std::optional<MedianInterval> repeat_median_pi95(std::vector<double> v, std::size_t m) {
  const std::size_t n = v.size();
  if (n == 0 || m == 0) return std::nullopt;
  std::sort(v.begin(), v.end());
  const std::size_t r_low = (m + 1) / 2, r_high = m / 2 + 1;
  double below = 0;  // P(future median < x(k)), at most, for the k reached
  double above = 0;  // P(future median > x(n+1-k)), at most
  std::size_t k = 0;
  for (std::size_t j = 0; j < n / 2; ++j) {
    const double next_below = below + detail::below_order_statistic_pmf(n, m, r_low, j);
    const double next_above = above + detail::below_order_statistic_pmf(n, m, r_high, n - j);
    if (next_below + next_above > 0.05) break;
    below = next_below;
    above = next_above;
    k = j + 1;
  }
  if (k == 0) return std::nullopt;
  return MedianInterval{v[k - 1], v[n - k], 1.0 - below - above};
}

// Two clusters: a median of such a sample sits between them or jumps from
// one to the other, and more repetitions will not narrow its interval.
//
// A test, not a look at the largest gap: at n = 6 a single gap wider than
// 4% turned up in 9% of unimodal samples at 3% CV and 42% at 5%. The
// statistic is the distance between the two clusters' means over their
// pooled standard deviation, at the split (each side at least 3 samples and
// a fifth of them) that maximises it. It does not depend on the scale, so
// its critical value depends on n alone: the 99th percentile of the same
// statistic over samples of n from an exponential distribution, a floor with
// a long right tail like a benchmark's times and harder to tell from two
// clusters than a normal one. So a unimodal sample is called bimodal at most
// about 1% of the time, and a sample of 6 only when its two halves are far
// apart (the critical value is about 8 there, about 5 at 30). The clusters'
// means must also differ by more than `gap` of the median, so a split too
// small to matter is never reported.
namespace detail {

struct Split {
  double separation = 0;  // (mean above - mean below) / pooled standard deviation
  double difference = 0;  // mean above - mean below
};

// The allowed split of a sorted sample with the largest separation; zeros
// without an allowed split or without spread.
[[nodiscard]] inline Split best_split(const std::vector<double>& sorted) {
  const std::size_t n = sorted.size();
  const std::size_t least = std::max<std::size_t>(3, (n + 4) / 5);
  Split best;
  if (n < 2 * least) return best;
  std::vector<double> sum(n + 1, 0.0), sq(n + 1, 0.0);  // prefix sums of x and x^2
  for (std::size_t i = 0; i < n; ++i) {
    sum[i + 1] = sum[i] + sorted[i];
    sq[i + 1] = sq[i] + sorted[i] * sorted[i];
  }
  for (std::size_t i = least; i + least <= n; ++i) {
    const double na = static_cast<double>(i), nb = static_cast<double>(n - i);
    const double ma = sum[i] / na, mb = (sum[n] - sum[i]) / nb;
    const double within = (sq[i] - na * ma * ma) + (sq[n] - sq[i] - nb * mb * mb);
    const double sd = std::sqrt(std::max(within, 0.0) / static_cast<double>(n - 2));
    if (sd > 0 && (mb - ma) / sd > best.separation) best = {(mb - ma) / sd, mb - ma};
  }
  return best;
}

// The statistic's 99th percentile under the exponential null, by a fixed
// Monte Carlo (same seed every call: the answer depends on n alone).
[[nodiscard]] inline double simulate_critical_value(std::size_t n) {
  constexpr std::size_t kDraws = 2000;
  std::uint64_t state = 0x9e3779b97f4a7c15ULL ^ n;
  const auto uniform = [&state] {  // splitmix64, so every platform draws the same values
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (static_cast<double>(z >> 11) + 0.5) * 0x1.0p-53;  // in (0, 1)
  };
  std::vector<double> stats(kDraws), sample(n);
  for (double& s : stats) {
    for (double& x : sample) x = -std::log(uniform());
    std::sort(sample.begin(), sample.end());
    s = best_split(sample).separation;
  }
  std::sort(stats.begin(), stats.end());
  return stats[kDraws * 99 / 100];
}

// The same, simulated once per n (a few milliseconds each).
[[nodiscard]] inline double separation_critical_value(std::size_t n) {
  static std::mutex lock;
  static std::map<std::size_t, double> known;
  const std::lock_guard<std::mutex> hold(lock);
  const auto [it, fresh] = known.try_emplace(n, 0.0);
  if (fresh) it->second = simulate_critical_value(n);
  return it->second;
}

}  // namespace detail

[[nodiscard]] inline bool bimodal(std::vector<double> v, double gap) {
  const std::size_t n = v.size();
  if (n < 6) return false;
  std::sort(v.begin(), v.end());
  const double mid = median(v);
  if (mid <= 0) return false;
  const detail::Split split = detail::best_split(v);
  return split.difference / mid > gap && split.separation > detail::separation_critical_value(n);
}

struct RankTest {
  double u = 0;        // U of the first sample: pairs (x, y) with x > y, ties counting 1/2
  double p = 1;        // two-sided p-value
  bool exact = false;  // exact distribution (no ties, small samples) or normal approximation
};

// Samples up to this size (each) without ties get the exact distribution of
// U; counting it costs O(n1 * n2 * n1 * n2), trivial at this size, and the
// normal approximation is poor below about 20 per side.
inline constexpr std::size_t kExactRankTestMax = 25;

// Number of ways, out of C(n1 + n2, n1), that U takes each value 0..n1*n2
// when both samples come from one distribution (no ties). Uses
// c(m, n, u) = c(m - 1, n, u - n) + c(m, n - 1, u): the largest of all m + n
// values belongs either to the first sample (beating all n of the second)
// or to the second (beating none).
[[nodiscard]] inline std::vector<double> u_distribution(std::size_t n1, std::size_t n2) {
  // table[m][n] is the distribution for sizes m and n, built up in m.
  std::vector<std::vector<std::vector<double>>> table(n1 + 1, std::vector<std::vector<double>>(n2 + 1));
  for (std::size_t m = 0; m <= n1; ++m)
    for (std::size_t n = 0; n <= n2; ++n) {
      auto& d = table[m][n];
      d.assign(m * n + 1, 0.0);
      if (m == 0 || n == 0) {
        d[0] = 1.0;
        continue;
      }
      const auto& first = table[m - 1][n];   // largest value in sample 1: U grows by n
      const auto& second = table[m][n - 1];  // largest value in sample 2: U unchanged
      for (std::size_t u = 0; u < first.size(); ++u) d[u + n] += first[u];
      for (std::size_t u = 0; u < second.size(); ++u) d[u] += second[u];
    }
  return table[n1][n2];
}

// The smallest two-sided p-value any outcome can reach with these sample
// sizes (complete separation, no ties): 2 / C(n1 + n2, n1). Above alpha, no
// amount of difference can be significant, so the data are insufficient.
[[nodiscard]] inline double min_attainable_p(std::size_t n1, std::size_t n2) {
  if (n1 == 0 || n2 == 0) return 1.0;
  double ways = 1.0;  // C(n1 + n2, n1), built as a product to stay exact for small n
  for (std::size_t i = 1; i <= n1; ++i) ways = ways * static_cast<double>(n2 + i) / static_cast<double>(i);
  return std::min(1.0, 2.0 / ways);
}

// Two-sided Mann-Whitney U test of x against y. Exact without ties for
// samples up to kExactRankTestMax; otherwise the normal approximation with
// the tie correction of the variance and a continuity correction of 1/2.
[[nodiscard]] inline RankTest mann_whitney(const std::vector<double>& x, const std::vector<double>& y) {
  RankTest r;
  const std::size_t n1 = x.size(), n2 = y.size(), n = n1 + n2;
  if (n1 == 0 || n2 == 0) return r;

  // Midranks of the pooled sample; tie groups feed the variance correction.
  std::vector<std::pair<double, bool>> pooled;  // value, from x
  pooled.reserve(n);
  for (double v : x) pooled.emplace_back(v, true);
  for (double v : y) pooled.emplace_back(v, false);
  std::sort(pooled.begin(), pooled.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  double rank_sum_x = 0, tie_term = 0;
  bool ties = false;
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i;
    while (j < n && pooled[j].first == pooled[i].first) ++j;
    const double group = static_cast<double>(j - i);
    const double midrank = 0.5 * static_cast<double>(i + 1 + j);  // ranks i+1 .. j
    for (std::size_t k = i; k < j; ++k)
      if (pooled[k].second) rank_sum_x += midrank;
    if (j - i > 1) {
      ties = true;
      tie_term += group * group * group - group;
    }
    i = j;
  }
  const double dn1 = static_cast<double>(n1), dn2 = static_cast<double>(n2), dn = static_cast<double>(n);
  r.u = rank_sum_x - dn1 * (dn1 + 1) / 2;
  const double u_small = std::min(r.u, dn1 * dn2 - r.u);

  if (!ties && n1 <= kExactRankTestMax && n2 <= kExactRankTestMax) {
    const std::vector<double> dist = u_distribution(n1, n2);
    double total = 0, tail = 0;
    for (std::size_t u = 0; u < dist.size(); ++u) {
      total += dist[u];
      if (static_cast<double>(u) <= u_small) tail += dist[u];
    }
    r.p = std::min(1.0, 2.0 * tail / total);
    r.exact = true;
    return r;
  }

  const double mean = dn1 * dn2 / 2;
  const double variance = dn1 * dn2 / 12 * ((dn + 1) - tie_term / (dn * (dn - 1)));
  if (variance <= 0) return r;  // every value equal: nothing to tell apart
  const double z = std::max(0.0, std::abs(r.u - mean) - 0.5) / std::sqrt(variance);
  r.p = std::min(1.0, std::erfc(z / std::sqrt(2.0)));
  return r;
}

}  // namespace rcb
