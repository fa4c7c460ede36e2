// rcbench compare: the rank test against an independent brute force, the
// verdict rules, and what counts as bad input. Nothing here times anything.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "harness/callgrind.h"
#include "harness/commands.h"
#include "harness/compare.h"
#include "harness/engine/stats.h"

namespace rcb::test {
namespace {

// U by its definition (pairs where x wins, ties half), not via ranks.
double u_by_pairs(const std::vector<double>& x, const std::vector<double>& y) {
  double u = 0;
  for (double a : x)
    for (double b : y) u += a > b ? 1.0 : a == b ? 0.5 : 0.0;
  return u;
}

// Two-sided permutation p-value: every way of splitting the pooled values
// into groups of the two sizes, counting those at least as far from the
// mean U as the observed split. Exact with or without ties.
double permutation_p(const std::vector<double>& x, const std::vector<double>& y) {
  std::vector<double> pooled = x;
  pooled.insert(pooled.end(), y.begin(), y.end());
  const std::size_t n = pooled.size(), k = x.size();
  const double mean = static_cast<double>(x.size() * y.size()) / 2;
  const double observed = std::abs(u_by_pairs(x, y) - mean);
  std::vector<bool> pick(n, false);
  std::fill(pick.begin(), pick.begin() + static_cast<std::ptrdiff_t>(k), true);
  double extreme = 0, total = 0;
  do {
    std::vector<double> a, b;
    for (std::size_t i = 0; i < n; ++i) (pick[i] ? a : b).push_back(pooled[i]);
    total += 1;
    if (std::abs(u_by_pairs(a, b) - mean) >= observed - 1e-9) extreme += 1;
  } while (std::prev_permutation(pick.begin(), pick.end()));
  return extreme / total;
}

TEST(MannWhitney, CompleteSeparationGivesTwoOverTheNumberOfSplits) {
  const RankTest t = mann_whitney({1, 2, 3, 4}, {5, 6, 7, 8});
  EXPECT_TRUE(t.exact);
  EXPECT_DOUBLE_EQ(t.u, 0);
  EXPECT_NEAR(t.p, 2.0 / 70.0, 1e-12);
  EXPECT_NEAR(mann_whitney({5, 6, 7, 8}, {1, 2, 3, 4}).p, 2.0 / 70.0, 1e-12);  // two-sided
}

TEST(MannWhitney, IdenticalSamplesAreNotDifferent) {
  EXPECT_DOUBLE_EQ(mann_whitney({3, 3, 3}, {3, 3, 3}).p, 1.0);
  EXPECT_DOUBLE_EQ(mann_whitney({1, 2, 3, 4, 5}, {1, 2, 3, 4, 5}).p, 1.0);
}

TEST(MannWhitney, ExactMatchesBruteForceWithoutTies) {
  const std::vector<std::pair<std::vector<double>, std::vector<double>>> cases{
      {{1.1, 2.3, 0.7, 5.0, 3.3}, {4.4, 6.1, 2.9, 7.2, 8.8, 0.1}},
      {{10, 11, 12, 13, 14, 15, 16}, {9, 17, 18, 19, 20, 21, 22}},
      {{0.5, 0.25}, {0.75, 1.5, 3.5, 2.5}},
      {{5, 1, 9, 3, 7, 2, 8}, {4, 6, 10, 12, 11, 13, 0, 14}},
  };
  for (const auto& [x, y] : cases) {
    const RankTest t = mann_whitney(x, y);
    EXPECT_TRUE(t.exact);
    EXPECT_DOUBLE_EQ(t.u, u_by_pairs(x, y));
    EXPECT_NEAR(t.p, permutation_p(x, y), 1e-12);
  }
}

TEST(MannWhitney, NormalApproximationWithTiesIsCloseToThePermutationTest) {
  const std::vector<std::pair<std::vector<double>, std::vector<double>>> cases{
      {{1, 2, 2, 3, 4, 5, 5, 6}, {2, 3, 5, 5, 6, 7, 8, 8, 9}},
      {{10, 10, 11, 12, 12, 12, 13, 14}, {12, 13, 13, 14, 15, 15, 16, 17, 17}},
  };
  for (const auto& [x, y] : cases) {
    const RankTest t = mann_whitney(x, y);
    EXPECT_FALSE(t.exact);  // ties: no exact table
    EXPECT_DOUBLE_EQ(t.u, u_by_pairs(x, y));
    EXPECT_NEAR(t.p, permutation_p(x, y), 0.02);
  }
}

TEST(MannWhitney, LargeSamplesUseTheApproximation) {
  std::vector<double> x, y;
  for (int i = 0; i < 40; ++i) {
    x.push_back(i);
    y.push_back(i + 10.5);
  }
  const RankTest t = mann_whitney(x, y);
  EXPECT_FALSE(t.exact);
  EXPECT_LT(t.p, 0.05);
  EXPECT_GT(t.p, 1e-6);
}

TEST(MannWhitney, DistributionCountsEverySplitOnceAndIsSymmetric) {
  for (std::size_t m = 1; m <= 7; ++m)
    for (std::size_t n = 1; n <= 7; ++n) {
      const auto d = u_distribution(m, n);
      ASSERT_EQ(d.size(), m * n + 1);
      double total = 0;
      for (double c : d) total += c;
      double splits = 1;  // C(m + n, m) by Pascal's rule, independently of the product formula
      std::vector<double> row{1};
      for (std::size_t i = 1; i <= m + n; ++i) {
        std::vector<double> next(i + 1, 1);
        for (std::size_t j = 1; j < i; ++j) next[j] = row[j - 1] + row[j];
        row = next;
      }
      splits = row[m];
      EXPECT_DOUBLE_EQ(total, splits) << m << "x" << n;
      for (std::size_t u = 0; u < d.size(); ++u) EXPECT_DOUBLE_EQ(d[u], d[d.size() - 1 - u]);
    }
}

TEST(MannWhitney, SmallestAttainablePValue) {
  EXPECT_NEAR(min_attainable_p(3, 3), 0.1, 1e-12);         // never significant at 0.05
  EXPECT_NEAR(min_attainable_p(4, 4), 2.0 / 70.0, 1e-12);  // can be
  EXPECT_NEAR(min_attainable_p(3, 5), 2.0 / 56.0, 1e-12);
  EXPECT_DOUBLE_EQ(min_attainable_p(1, 1), 1.0);
  EXPECT_DOUBLE_EQ(min_attainable_p(0, 5), 1.0);
}

// --- verdicts ---------------------------------------------------------------

ResultsFile file(const std::string& metric, const std::vector<std::pair<std::string, std::vector<double>>>& bs) {
  ResultsFile f;
  f.path = metric + ".json";
  f.metric = metric;
  f.contexts = {nlohmann::json::object()};
  for (const auto& [name, values] : bs) {
    BenchmarkSamples b;
    b.name = name;
    b.per_item = values;
    b.per_iteration = values;
    f.benchmarks.push_back(b);
  }
  return f;
}

std::vector<double> around(double centre, int n) {
  // Deterministic spread of about +-3%, like a quiet machine.
  std::vector<double> v;
  for (int i = 0; i < n; ++i) v.push_back(centre * (1.0 + 0.03 * std::sin(1.7 * i + 0.3)));
  return v;
}

const Row& only_row(const Comparison& c) {
  EXPECT_EQ(c.rows.size(), 1u);
  return c.rows.front();
}

TEST(CompareVerdict, ClearSlowdownIsARegressionAndFails) {
  const auto c = compare(file("time", {{"w/s/threads:1", around(100, 10)}}),
                         file("time", {{"w/s/threads:1", around(120, 10)}}), {});
  EXPECT_EQ(only_row(c).verdict, Verdict::regression);
  EXPECT_NEAR(only_row(c).change, 0.2, 0.01);
  ASSERT_TRUE(only_row(c).p.has_value());
  EXPECT_LT(*only_row(c).p, 0.05);
  EXPECT_EQ(c.exit_status(), kExitFailed);
}

TEST(CompareVerdict, ClearSpeedupIsAnImprovementAndPasses) {
  const auto c = compare(file("time", {{"b", around(100, 10)}}), file("time", {{"b", around(80, 10)}}), {});
  EXPECT_EQ(only_row(c).verdict, Verdict::improvement);
  EXPECT_EQ(c.exit_status(), kExitOk);
}

TEST(CompareVerdict, SignificantButSmallerThanTheThresholdIsSame) {
  const auto c = compare(file("time", {{"b", around(100, 10)}}), file("time", {{"b", around(103, 10)}}),
                         {.alpha = 0.05, .threshold = 0.05});
  EXPECT_EQ(only_row(c).verdict, Verdict::same);
  EXPECT_EQ(c.exit_status(), kExitOk);
}

TEST(CompareVerdict, LargeMedianShiftThatOverlapsIsNoiseNotRegression) {
  // One side bimodal: the medians differ by 10% but the samples interleave.
  const auto c = compare(file("time", {{"b", {100, 101, 102, 103, 140, 141, 142, 143}}}),
                         file("time", {{"b", {98, 99, 104, 130, 131, 145, 146, 147}}}), {});
  EXPECT_GT(std::abs(only_row(c).change), 0.05);
  EXPECT_EQ(only_row(c).verdict, Verdict::noise);
  EXPECT_EQ(c.exit_status(), kExitOk);
}

TEST(CompareVerdict, TooFewRepetitionsIsInsufficientAndNeverFails) {
  const auto c = compare(file("time", {{"b", {100, 101, 99}}}), file("time", {{"b", {200, 201, 199}}}), {});
  EXPECT_EQ(only_row(c).verdict, Verdict::insufficient);
  EXPECT_FALSE(only_row(c).why.empty());
  EXPECT_EQ(c.exit_status(), kExitOk);
}

TEST(CompareVerdict, RepeatableInstructionCountsAreComparedDirectly) {
  const auto up = compare(file("instructions", {{"b", {1000}}}), file("instructions", {{"b", {1020}}}), {});
  EXPECT_EQ(only_row(up).verdict, Verdict::regression);  // +2% > the 1% default
  EXPECT_EQ(only_row(up).test, "direct");
  EXPECT_FALSE(only_row(up).p.has_value());
  EXPECT_EQ(up.exit_status(), kExitFailed);
  EXPECT_DOUBLE_EQ(up.threshold, kInstructionsThreshold);

  const auto flat = compare(file("instructions", {{"b", {1000, 1000}}}), file("instructions", {{"b", {1005}}}), {});
  EXPECT_EQ(only_row(flat).verdict, Verdict::same);
  const auto down = compare(file("instructions", {{"b", {1000}}}), file("instructions", {{"b", {900}}}), {});
  EXPECT_EQ(only_row(down).verdict, Verdict::improvement);
}

TEST(CompareVerdict, InstructionCountsThatDoNotRepeatNeedTheRankTest) {
  const auto c = compare(file("instructions", {{"b", {1000, 1003}}}), file("instructions", {{"b", {1100}}}), {});
  EXPECT_EQ(only_row(c).verdict, Verdict::insufficient);
  EXPECT_EQ(c.exit_status(), kExitOk);
}

TEST(CompareVerdict, ExplicitThresholdOverridesTheMetricDefault) {
  const auto c = compare(file("instructions", {{"b", {1000}}}), file("instructions", {{"b", {1020}}}),
                         {.alpha = 0.05, .threshold = 0.03});
  EXPECT_EQ(only_row(c).verdict, Verdict::same);
}

TEST(CompareVerdict, FailureInNewFailsFailureInBaseDoesNot) {
  ResultsFile base = file("time", {{"a", around(1, 5)}, {"b", around(1, 5)}});
  ResultsFile next = file("time", {{"a", {}}, {"b", around(1, 5)}});
  next.benchmarks[0].error = "checksum mismatch";
  const auto c = compare(base, next, {});
  EXPECT_EQ(c.rows[0].verdict, Verdict::failed);
  EXPECT_EQ(c.exit_status(), kExitFailed);

  base.benchmarks[0] = {"a", "", "", {}, {}, "teardown failed"};
  next.benchmarks[0] = {"a", "", "", around(1, 5), around(1, 5), ""};
  const auto d = compare(base, next, {});
  EXPECT_EQ(d.rows[0].verdict, Verdict::base_failed);
  EXPECT_EQ(d.exit_status(), kExitOk);
}

TEST(CompareVerdict, OneSidedBenchmarksAreListedNotJudged) {
  const auto c = compare(file("time", {{"kept", around(1, 5)}, {"gone", around(1, 5)}}),
                         file("time", {{"kept", around(1, 5)}, {"new", around(9, 5)}}), {});
  ASSERT_EQ(c.rows.size(), 1u);
  EXPECT_EQ(c.removed, std::vector<std::string>{"gone"});
  EXPECT_EQ(c.added, std::vector<std::string>{"new"});
  EXPECT_EQ(c.exit_status(), kExitOk);
  const std::string table = format_table(c);
  EXPECT_NE(table.find("removed"), std::string::npos);
  EXPECT_NE(table.find("added"), std::string::npos);
}

TEST(CompareVerdict, NothingInCommonIsBadInputNamingBothSides) {
  try {
    (void)compare(file("time", {{"x/a/threads:1", {1}}}), file("time", {{"y/b/threads:1", {1}}}), {});
    FAIL() << "expected UsageError";
  } catch (const UsageError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("no benchmarks in common"), std::string::npos);
    EXPECT_NE(what.find("x/a/threads:1"), std::string::npos);
    EXPECT_NE(what.find("y/b/threads:1"), std::string::npos);
  }
}

TEST(CompareVerdict, DifferentMetricsAreBadInput) {
  EXPECT_THROW((void)compare(file("time", {{"b", {1}}}), file("instructions", {{"b", {1}}}), {}), UsageError);
}

TEST(CompareVerdict, RegressionLineNamesStrategyWorkloadAndChange) {
  ResultsFile base = file("instructions", {{"shared_list/atomic/threads:1", {12.0}}});
  ResultsFile next = file("instructions", {{"shared_list/atomic/threads:1", {12.6}}});
  for (auto* f : {&base, &next}) {
    f->benchmarks[0].strategy = "atomic";
    f->benchmarks[0].workload = "shared_list";
  }
  const std::string table = format_table(compare(base, next, {}));
  EXPECT_NE(table.find("REGRESSION: strategy atomic, workload shared_list"), std::string::npos) << table;
  EXPECT_NE(table.find("+5.0%"), std::string::npos) << table;
}

bool has_note(const Comparison& c, const std::string& text) {
  return std::any_of(c.notes.begin(), c.notes.end(), [&](const std::string& n) { return n.find(text) != n.npos; });
}

TEST(CompareNotes, EverythingMovingBeyondTheThresholdIsCalledOut) {
  const auto base = file("time", {{"a", around(10, 6)}, {"b", around(20, 6)}, {"c", around(30, 6)}});
  const auto machine = compare(base, file("time", {{"a", around(13, 6)}, {"b", around(26, 6)}, {"c", around(39, 6)}}), {});
  EXPECT_TRUE(has_note(machine, "every benchmark moved the same way"));
  // One strategy slower, the rest inside the threshold: a code change, no note.
  const auto code = compare(base, file("time", {{"a", around(13, 6)}, {"b", around(20.2, 6)}, {"c", around(30.3, 6)}}), {});
  EXPECT_FALSE(has_note(code, "every benchmark moved the same way"));
}

TEST(ComparePool, SeveralRunsCountOncePerRunByTheirMedians) {
  const std::vector<ResultsFile> runs{file("time", {{"b", {10, 11, 30}}, {"c", {1}}}),
                                      file("time", {{"b", {20, 21, 22}}})};
  const ResultsFile per_run = pool(runs, true);
  ASSERT_EQ(per_run.benchmarks.size(), 2u);
  EXPECT_EQ(per_run.benchmarks[0].per_item, (std::vector<double>{11, 21}));
  EXPECT_EQ(per_run.benchmarks[1].per_item, (std::vector<double>{1}));
  EXPECT_EQ(per_run.path, "time.json,time.json");
  EXPECT_EQ(per_run.contexts.size(), 2u);

  const ResultsFile pooled = pool(runs, false);
  EXPECT_EQ(pooled.benchmarks[0].per_item, (std::vector<double>{10, 11, 30, 20, 21, 22}));
}

TEST(ComparePool, PerItemCounterServesOnlyIfEveryRunHasIt) {
  std::vector<ResultsFile> runs{file("time", {{"b", {10}}}), file("time", {{"b", {20}}})};
  runs[1].benchmarks[0].per_item.clear();
  const ResultsFile side = pool(runs, false);
  EXPECT_TRUE(side.benchmarks[0].per_item.empty());
  EXPECT_EQ(side.benchmarks[0].per_iteration, (std::vector<double>{10, 20}));
}

// --- reading files ----------------------------------------------------------

class TempDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("rcbench-test-compare-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    const auto p = dir_ / name;
    std::ofstream(p) << text;
    return p.string();
  }
  std::filesystem::path dir_;
};

using LoadResults = TempDir;

std::string load_error(const std::string& path) {
  try {
    (void)load_results(path, "BASE");
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

TEST_F(LoadResults, MissingFileNotJsonAndNoBenchmarksAreBadInput) {
  EXPECT_NE(load_error((dir_ / "absent.json").string()).find("does not exist"), std::string::npos);
  EXPECT_NE(load_error(write("text.json", "hello")).find("not a results file"), std::string::npos);
  EXPECT_NE(load_error(write("obj.json", R"({"context": {}})")).find("no \"benchmarks\" array"), std::string::npos);
}

TEST_F(LoadResults, ReadsRepetitionsSkipsAggregatesAndPrefersThePerItemCounter) {
  const std::string path = write("r.json", R"({
    "context": {"rcbench": {"metric": "time"}},
    "benchmarks": [
      {"name": "w/s/threads:1", "run_name": "w/s/threads:1", "run_type": "iteration",
       "real_time": 2.0, "time_unit": "ms", "ns_per_item": 20.0, "rcbench": {"strategy": "s", "workload": "w"}},
      {"name": "w/s/threads:1", "run_name": "w/s/threads:1", "run_type": "iteration",
       "real_time": 3.0, "time_unit": "ms", "ns_per_item": 30.0},
      {"name": "w/s/threads:1_median", "run_name": "w/s/threads:1", "run_type": "aggregate",
       "aggregate_name": "median", "real_time": 2.5, "time_unit": "ms", "ns_per_item": 25.0},
      {"name": "plain_gb", "run_name": "plain_gb", "run_type": "iteration", "real_time": 4.0, "time_unit": "us"}
    ]})");
  const ResultsFile f = load_results(path, "NEW");
  EXPECT_EQ(f.metric, "time");
  ASSERT_EQ(f.benchmarks.size(), 2u);
  EXPECT_EQ(f.benchmarks[0].per_item, (std::vector<double>{20.0, 30.0}));
  EXPECT_EQ(f.benchmarks[0].per_iteration, (std::vector<double>{2e6, 3e6}));  // ms -> ns
  EXPECT_EQ(f.benchmarks[0].strategy, "s");
  EXPECT_TRUE(f.benchmarks[1].per_item.empty());  // no counter: real_time serves
  EXPECT_EQ(f.benchmarks[1].per_iteration, (std::vector<double>{4000.0}));
}

TEST_F(LoadResults, ASideMayNotMixMetrics) {
  const std::string t = write("t.json", R"({"context": {}, "benchmarks": []})");
  const std::string i = write("i.json", R"({"context": {"rcbench": {"metric": "instructions"}}, "benchmarks": []})");
  EXPECT_EQ(load_side(t + "," + t, "BASE").size(), 2u);
  EXPECT_THROW((void)load_side(t + "," + i, "BASE"), UsageError);
}

TEST_F(LoadResults, InstructionFilesKeepRealTimeUnscaled) {
  const std::string path = write("i.json", R"({
    "context": {"rcbench": {"metric": "instructions"}},
    "benchmarks": [{"name": "a/b/threads:1", "run_name": "a/b/threads:1", "run_type": "iteration",
                    "real_time": 1000035, "time_unit": "s", "instructions_per_item": 10.00035}]})");
  const ResultsFile f = load_results(path, "BASE");
  EXPECT_EQ(f.metric, "instructions");
  EXPECT_EQ(f.benchmarks[0].per_iteration, (std::vector<double>{1000035}));
  EXPECT_EQ(f.benchmarks[0].per_item, (std::vector<double>{10.00035}));
  EXPECT_EQ(f.benchmarks[0].workload, "a");  // parsed from the name
  EXPECT_EQ(f.benchmarks[0].strategy, "b");
}

// --- callgrind output ---------------------------------------------------------

TEST(Callgrind, TotalsLineGivesIrInTheEventsOrder) {
  std::istringstream out("# callgrind format\nversion: 1\nevents: Dr Ir Dw\nfn=main\n1 5 6 7\ntotals: 11 2500 13\n");
  EXPECT_EQ(callgrind_total_ir(out), std::optional<std::uint64_t>(2500));
}

TEST(Callgrind, SummaryLineServesWhenThereIsNoTotals) {
  std::istringstream out("events: Ir\nsummary: 42\n");
  EXPECT_EQ(callgrind_total_ir(out), std::optional<std::uint64_t>(42));
}

TEST(Callgrind, NoIrMeansNoCount) {
  std::istringstream none("events: Dr\ntotals: 5\n");
  EXPECT_FALSE(callgrind_total_ir(none).has_value());
  EXPECT_FALSE(callgrind_total_ir(std::string("/nonexistent/callgrind.out")).has_value());
}

}  // namespace
}  // namespace rcb::test
