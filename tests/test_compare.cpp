// rcbench compare: the rank test against an independent brute force, the
// verdict rules, and what counts as bad input. Nothing here times anything.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
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

  base.benchmarks[0] = BenchmarkSamples{};
  base.benchmarks[0].name = "a";
  base.benchmarks[0].error = "teardown failed";
  next.benchmarks[0].error.clear();
  next.benchmarks[0].per_item = next.benchmarks[0].per_iteration = around(1, 5);
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

// A strong-scaling ns_per_item is wall time per item of a fixed total, a
// weak one per-thread time per item: at 2 threads they differ by 2x with
// nothing changed.
TEST(CompareVerdict, DifferentScalingsAreBadInput) {
  ResultsFile weak = file("time", {{"b", {1}}}), strong = file("time", {{"b", {1}}});
  weak.scaling = "weak";
  strong.scaling = "strong";
  try {
    (void)compare(weak, strong, {});
    FAIL() << "expected UsageError";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("measures weak scaling but NEW 'time.json' measures strong scaling: "
                                         "compare files of the same --scaling"),
              std::string::npos)
        << e.what();
  }
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

TEST_F(LoadResults, ScalingIsReadAndASideMayNotMixIt) {
  const std::string old = write("old.json", R"({"context": {"rcbench": {}}, "benchmarks": []})");
  const std::string strong = write("s.json", R"({"context": {"rcbench": {"scaling": "strong"}}, "benchmarks": []})");
  EXPECT_EQ(load_results(old, "BASE").scaling, "weak");  // written before --scaling existed
  EXPECT_EQ(load_results(strong, "BASE").scaling, "strong");
  EXPECT_THROW((void)load_side(old + "," + strong, "BASE"), UsageError);
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

TEST_F(LoadResults, ADirectoryIsBadInputOnEitherSideAndInAnyPooledFile) {
  const std::string good = write("good.json", R"({"context": {}, "benchmarks": []})");
  const std::string folder = (dir_ / "a-folder").string();
  std::filesystem::create_directories(folder);
  EXPECT_NE(load_error(folder).find("is a directory"), std::string::npos) << load_error(folder);
  EXPECT_THROW((void)load_side(good + "," + folder, "NEW"), UsageError);
  EXPECT_THROW((void)load_side(folder + "," + good, "BASE"), UsageError);
  // UsageError is exit 2 in main: bad input, not "a regression" (1).
  EXPECT_THROW((void)cmd_compare(good, folder, {}), UsageError);
  EXPECT_THROW((void)cmd_compare(folder, good + "," + good, {}), UsageError);
}

TEST_F(LoadResults, AnUnreadableFileIsBadInput) {
  const std::string locked = write("locked.json", R"({"context": {}, "benchmarks": []})");
  std::filesystem::permissions(locked, std::filesystem::perms::none);
  if (std::ifstream(locked).good()) GTEST_SKIP() << "running as root: permissions do not stop reading";
  EXPECT_NE(load_error(locked).find("cannot be read"), std::string::npos) << load_error(locked);
  EXPECT_THROW((void)load_side(write("ok.json", R"({"context": {}, "benchmarks": []})") + "," + locked, "NEW"),
               UsageError);
}

// A results file of `rcbench run`'s shape: `reps` repetitions of one
// benchmark with ns_per_item `values`, and optionally the median
// aggregate's interval.
std::string time_results(const std::vector<double>& values, std::optional<Interval> ci = std::nullopt) {
  nlohmann::json benchmarks = nlohmann::json::array();
  for (std::size_t i = 0; i < values.size(); ++i)
    benchmarks.push_back({{"name", "w/s/threads:1"}, {"run_name", "w/s/threads:1"}, {"run_type", "iteration"},
                          {"repetitions", values.size()}, {"repetition_index", i}, {"iterations", 10},
                          {"real_time", values[i] * 1000}, {"time_unit", "ns"}, {"ns_per_item", values[i]},
                          {"rcbench", {{"strategy", "s"}, {"workload", "w"}}}});
  nlohmann::json median{{"name", "w/s/threads:1_median"}, {"run_name", "w/s/threads:1"}, {"run_type", "aggregate"},
                        {"aggregate_name", "median"}, {"real_time", 0}, {"time_unit", "ns"}};
  if (ci) {
    median["ns_per_item_ci95_low"] = ci->low;
    median["ns_per_item_ci95_high"] = ci->high;
  }
  benchmarks.push_back(median);
  return nlohmann::json{{"context", {{"rcbench", {{"metric", "time"}}}}}, {"benchmarks", benchmarks}}.dump();
}

CompareOptions in_format(const char* format) {
  CompareOptions o;
  o.format = format;
  return o;
}

std::string captured_compare(const std::string& base, const std::string& next, const CompareOptions& opt,
                             int* status = nullptr) {
  ::testing::internal::CaptureStdout();
  int rc = -1;
  try {
    rc = cmd_compare(base, next, opt);
  } catch (...) {
    (void)::testing::internal::GetCapturedStdout();
    throw;
  }
  if (status) *status = rc;
  return ::testing::internal::GetCapturedStdout();
}

using ComparePooledAdvice = TempDir;

TEST_F(ComparePooledAdvice, CountsAndAdviceDescribeWhatWasPooled) {
  // Two files of 10 repetitions per side: 2 samples per side for the test
  // (one per run), from 20 repetitions each; no rank test can reach 0.05.
  const std::string b1 = write("b1.json", time_results(around(100, 10)));
  const std::string b2 = write("b2.json", time_results(around(101, 10)));
  const std::string n1 = write("n1.json", time_results(around(130, 10)));
  const std::string n2 = write("n2.json", time_results(around(131, 10)));
  const std::string out = captured_compare(b1 + "," + b2, n1 + "," + n2, {});
  EXPECT_NE(out.find("2 runs (20 repetitions) vs 2 runs (20 repetitions)"), std::string::npos) << out;
  EXPECT_NE(out.find("BASE had 2 file(s) (20 repetitions"), std::string::npos) << out;
  EXPECT_NE(out.find("at least 4 files"), std::string::npos) << out;
  EXPECT_EQ(out.find("2 vs 2 repetitions"), std::string::npos) << out;
  EXPECT_EQ(out.find("-r 10"), std::string::npos) << out;  // more repetitions per file cannot help

  // Per side: one file of 10 against two files is 1 run against 2.
  const std::string mixed = captured_compare(b1, n1 + "," + n2, {});
  EXPECT_NE(mixed.find("BASE had 1 file(s) (10 repetitions"), std::string::npos) << mixed;
  EXPECT_NE(mixed.find("NEW had 2 file(s) (20 repetitions"), std::string::npos) << mixed;

  // One file per side: repetitions, and the advice is -r.
  const std::string single = captured_compare(write("b3.json", time_results({100, 101, 99})),
                                              write("n3.json", time_results({130, 131, 129})), {});
  EXPECT_NE(single.find("3 repetitions vs 3 repetitions"), std::string::npos) << single;
  EXPECT_NE(single.find("run it with -r 10"), std::string::npos) << single;
}

TEST_F(ComparePooledAdvice, JsonSaysWhatEachSampleIs) {
  const std::string b = write("b.json", time_results(around(100, 10)));
  const std::string n = write("n.json", time_results(around(100, 10)));
  const auto j = nlohmann::json::parse(captured_compare(b + "," + b, n + "," + n + "," + n, in_format("json")));
  const auto& row = j["benchmarks"][0];
  EXPECT_EQ(row["base"]["samples_are"], "runs");
  EXPECT_EQ(row["base"]["n"], 2);
  EXPECT_EQ(row["base"]["repetitions"], 20);
  EXPECT_EQ(row["new"]["n"], 3);
  EXPECT_EQ(row["new"]["files"], 3);
  EXPECT_EQ(row["new"]["repetitions"], 30);
}

// --- Google Benchmark's own files --------------------------------------------

std::string data(const std::string& name) {
  // Not __FILE__: ccache's base_dir (CMakeLists.txt) makes it relative.
  return (std::filesystem::path(RCBENCH_TEST_DATA_DIR) / name).string();
}

TEST(GoogleBenchmarkFiles, RegressionLinesNameTheBenchmarkNotEmptyStrategies) {
  ResultsFile base = load_results(data("gbench-own.json"), "BASE");
  ASSERT_EQ(base.benchmarks.size(), 2u);
  for (const auto& b : base.benchmarks) {
    EXPECT_EQ(b.strategy, "") << b.name;  // "BM_copy/64/threads:2" is not <workload>/<strategy>/threads:<n>
    EXPECT_EQ(b.workload, "") << b.name;
  }
  ResultsFile next = base;
  for (auto* f : {&base, &next})
    for (auto& b : f->benchmarks) b.per_iteration = around(b.per_iteration.front() * (f == &next ? 1.3 : 1.0), 8);
  const std::string table = format_table(compare(base, next, {}));
  EXPECT_NE(table.find("REGRESSION: BM_copy/64: "), std::string::npos) << table;
  EXPECT_NE(table.find("REGRESSION: BM_copy/64/threads:2: "), std::string::npos) << table;
  EXPECT_EQ(table.find("strategy ,"), std::string::npos) << table;
}

// --- output formats ------------------------------------------------------------

TEST(CompareFormat, MarkdownIsATableWithASummary) {
  int status = -1;
  const std::string md = captured_compare(data("instructions-base.json"), data("instructions-atomic-slower.json"),
                                          in_format("md"), &status);
  EXPECT_EQ(status, kExitFailed);
  EXPECT_EQ(md.rfind("| benchmark | base | new | change | 95% intervals (base; new) | verdict | why |\n", 0), 0u) << md;
  EXPECT_NE(md.find("|---|"), std::string::npos) << md;
  EXPECT_NE(md.find("| `shared_list/atomic/threads:1` | 12.00 instructions/item | 12.60 instructions/item | +5.0% | – "
                    "| **regression** | exact counts |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| `shared_list/newcomer/threads:1` | – | – | – | – | added |"), std::string::npos) << md;
  EXPECT_NE(md.find("\n**FAIL** (instructions, threshold 1%, alpha 0.05): 2 compared: 1 regression(s)"),
            std::string::npos)
      << md;
  // Every table row has the header's seven cells.
  std::istringstream lines(md);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("|", 0) != 0) continue;
    EXPECT_EQ(std::count(line.begin(), line.end(), '|'), 8) << line;
  }
}

TEST(CompareFormat, JsonAndConsoleAndBadFormat) {
  const auto j = nlohmann::json::parse(
      captured_compare(data("instructions-base.json"), data("instructions-atomic-slower.json"), in_format("json")));
  EXPECT_EQ(j["schema"], "rcbench-compare/1");
  const std::string table =
      captured_compare(data("instructions-base.json"), data("instructions-atomic-slower.json"), {});
  EXPECT_EQ(table.rfind("rcbench compare:", 0), 0u);
  EXPECT_THROW((void)captured_compare(data("instructions-base.json"), data("instructions-base.json"),
                                      in_format("html")),
               UsageError);
}

// --- intervals -----------------------------------------------------------------

ResultsFile with_interval(ResultsFile f, double low, double high) {
  f.benchmarks.front().ci95 = Interval{low, high};
  return f;
}

TEST(CompareIntervals, OverlappingIntervalsMakeASignificantChangeNoise) {
  // The rank test alone would call this a regression (see
  // ClearSlowdownIsARegressionAndFails); the runs' own intervals say the
  // medians may be one.
  const auto c = compare(with_interval(file("time", {{"b", around(100, 10)}}), 90, 112),
                         with_interval(file("time", {{"b", around(120, 10)}}), 108, 130), {});
  EXPECT_EQ(only_row(c).verdict, Verdict::noise);
  EXPECT_NE(only_row(c).why.find("intervals overlap"), std::string::npos) << only_row(c).why;
  EXPECT_EQ(c.exit_status(), kExitOk);
}

TEST(CompareIntervals, DisjointIntervalsAndASignificantTestAreARegression) {
  const auto c = compare(with_interval(file("time", {{"b", around(100, 10)}}), 98, 102),
                         with_interval(file("time", {{"b", around(120, 10)}}), 118, 122), {});
  EXPECT_EQ(only_row(c).verdict, Verdict::regression);
  EXPECT_TRUE(only_row(c).p.has_value());
  EXPECT_EQ(c.exit_status(), kExitFailed);
}

TEST(CompareIntervals, TooFewForTheRankTestTheIntervalsDecide) {
  const auto base = file("time", {{"b", {100, 101, 99}}});
  const auto next = file("time", {{"b", {130, 131, 129}}});
  ASSERT_EQ(only_row(compare(base, next, {})).verdict, Verdict::insufficient);  // today's behaviour without them
  const auto apart = compare(with_interval(base, 99, 101), with_interval(next, 129, 131), {});
  EXPECT_EQ(only_row(apart).verdict, Verdict::regression);
  EXPECT_EQ(only_row(apart).test, "intervals");
  EXPECT_FALSE(only_row(apart).p.has_value());
  const auto touching = compare(with_interval(base, 95, 130), with_interval(next, 125, 135), {});
  EXPECT_EQ(only_row(touching).verdict, Verdict::noise);
  // Within the threshold stays the same whatever the intervals.
  const auto small = compare(with_interval(base, 99, 101), with_interval(file("time", {{"b", {102, 103, 102}}}), 102, 103), {});
  EXPECT_EQ(only_row(small).verdict, Verdict::same);
}

TEST(CompareIntervals, OneSideWithoutAnIntervalKeepsTodaysRules) {
  const auto c = compare(with_interval(file("time", {{"b", {100, 101, 99}}}), 99, 101),
                         file("time", {{"b", {130, 131, 129}}}), {});
  EXPECT_EQ(only_row(c).verdict, Verdict::insufficient);
  EXPECT_FALSE(only_row(c).base_ci.has_value());
}

using IntervalFiles = TempDir;

TEST_F(IntervalFiles, ReadFromTheMedianAggregateShownAndDroppedWhenPooled) {
  const std::string b = write("b.json", time_results({100, 101, 99}, Interval{99, 101}));
  const std::string n = write("n.json", time_results({130, 131, 129}, Interval{129, 131}));
  const ResultsFile f = load_results(b, "BASE");
  ASSERT_TRUE(f.benchmarks.front().ci95.has_value());
  EXPECT_DOUBLE_EQ(f.benchmarks.front().ci95->low, 99);
  EXPECT_DOUBLE_EQ(f.benchmarks.front().ci95->high, 101);
  EXPECT_FALSE(load_results(write("plain.json", time_results({100, 101, 99})), "BASE").benchmarks.front().ci95);

  int status = -1;
  const std::string table = captured_compare(b, n, {}, &status);
  EXPECT_EQ(status, kExitFailed);
  EXPECT_NE(table.find("95% intervals (base; new)"), std::string::npos) << table;
  EXPECT_NE(table.find("+30.0%, 95% intervals disjoint\n"), std::string::npos) << table;  // no p: 3 per side
  EXPECT_NE(table.find("[99.00, 101.00]; [129.00, 131.00]"), std::string::npos) << table;
  const auto j = nlohmann::json::parse(captured_compare(b, n, in_format("json")));
  EXPECT_EQ(j["benchmarks"][0]["base"]["ci95"], nlohmann::json::array({99.0, 101.0}));
  EXPECT_NE(captured_compare(b, n, in_format("md")).find("[99.00, 101.00]; [129.00, 131.00]"), std::string::npos);

  // Pooled, each file's interval describes only that file's median.
  EXPECT_FALSE(pool({load_results(b, "BASE"), load_results(b, "BASE")}, true).benchmarks.front().ci95);
}

// Disturbed repetitions (in_statistics false) far above the clean ones: the
// run's statistics left them out, and so must compare.
TEST_F(IntervalFiles, RepetitionsTheRunLeftOutAreNoSamples) {
  nlohmann::json doc = nlohmann::json::parse(time_results(around(100, 6)));
  for (int k = 0; k < 4; ++k) {
    nlohmann::json rep = doc["benchmarks"][0];
    rep["real_time"] = 300000;
    rep["ns_per_item"] = 300;
    rep["rcbench"]["repetition"] = {{"disturbed", true}, {"in_statistics", false}};
    doc["benchmarks"].push_back(rep);
  }
  const std::string b = write("b.json", doc.dump());
  const std::string n = write("n.json", time_results(around(100.5, 6)));
  const ResultsFile f = load_results(b, "BASE");
  EXPECT_EQ(f.benchmarks.front().per_item.size(), 6u);
  EXPECT_EQ(f.benchmarks.front().left_out, 4u);
  int status = -1;
  const std::string table = captured_compare(b, n, {}, &status);
  EXPECT_EQ(status, kExitOk) << table;
  EXPECT_NE(table.find("(4 disturbed repetition(s) left out)"), std::string::npos) << table;
  EXPECT_NE(table.find("with no correction for multiple comparisons"), std::string::npos) << table;
  const auto j = nlohmann::json::parse(captured_compare(n, b, in_format("json")));
  EXPECT_EQ(j["benchmarks"][0]["verdict"], "same") << j.dump(1);
  EXPECT_EQ(j["benchmarks"][0]["new"]["left_out"], 4);
}

// --- instruction files -----------------------------------------------------------

TEST(InstructionFiles, CountsComeFromTheCountersNeverFromRealTime) {
  const ResultsFile f = load_results(data("instructions-base.json"), "BASE");
  ASSERT_EQ(f.metric, "instructions");
  ASSERT_EQ(f.benchmarks.size(), 3u);
  // real_time in this file is valgrind's wall time (4e7 ns); the count is 1200036.
  EXPECT_EQ(f.benchmarks[1].per_iteration, (std::vector<double>{1200036}));
  EXPECT_EQ(f.benchmarks[1].per_item, (std::vector<double>{12.00036}));
}

TEST(InstructionFiles, OldFormWithTheCountInRealTimeIsStillRead) {
  const ResultsFile old = load_results(data("instructions-base-oldform.json"), "BASE");
  EXPECT_EQ(old.benchmarks[1].per_iteration, (std::vector<double>{1200036}));
  // An old baseline against a new run, as the CI gate meets them.
  int status = -1;
  const std::string out =
      captured_compare(data("instructions-base-oldform.json"), data("instructions-atomic-slower.json"), {}, &status);
  EXPECT_EQ(status, kExitFailed);
  EXPECT_NE(out.find("REGRESSION: strategy atomic, workload shared_list (shared_list/atomic/threads:1): 12.00 -> "
                     "12.60 instructions/item, +5.0%"),
            std::string::npos)
      << out;
  const std::string same =
      captured_compare(data("instructions-base-oldform.json"), data("instructions-base.json"), {}, &status);
  EXPECT_NE(same.find("3 compared: 0 regression"), std::string::npos) << same;
  EXPECT_EQ(status, kExitOk);
}

using InstructionFileShapes = TempDir;

TEST_F(InstructionFileShapes, PerIterationFallsBackToInstructionsOverIterationsAndRefusesNoCount) {
  const std::string counted = write("c.json", R"({
    "context": {"rcbench": {"metric": "instructions"}},
    "benchmarks": [{"name": "a/b/threads:1", "run_type": "iteration", "iterations": 4,
                    "real_time": 7.5e7, "time_unit": "ns", "instructions": 4000}]})");
  const ResultsFile f = load_results(counted, "NEW");
  EXPECT_EQ(f.benchmarks[0].per_iteration, (std::vector<double>{1000}));

  // New form (time_unit ns) without any count: refused, not read as a count.
  const std::string bare = write("b.json", R"({
    "context": {"rcbench": {"metric": "instructions"}},
    "benchmarks": [{"name": "a/b/threads:1", "run_type": "iteration", "iterations": 4,
                    "real_time": 7.5e7, "time_unit": "ns"}]})");
  try {
    (void)load_results(bare, "BASE");
    FAIL() << "expected UsageError";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("has no instruction count"), std::string::npos) << e.what();
  }
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
