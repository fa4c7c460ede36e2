// rcbench history's store and queries on small results files written here:
// what is keyed, what is refused, and that diff judges as compare judges.
// No benchmark runs, no timing.

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "harness/commands.h"
#include "harness/history.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A wall-time results file: each cell's 7 repetitions at `ns` times
// 1 + i/1000 (i = 0..6), with the run's interval [min, max] as 7
// repetitions give it.
struct FileSpec {
  std::string commit = "aaaa000000000000000000000000000000000001";
  std::string cpu = "Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz";
  std::string schema = "rcbench/2";
  std::string date = "2026-01-01T00:00:00+00:00";
  double floor_ns = 0.6;
  std::map<std::string, double> ns = {{"shared_list/atomic/threads:1", 12.0}, {"fib/plain/threads:1", 3.0}};
};

json cell_entries(const std::string& name, double ns) {
  json out = json::array();
  const auto slash = name.find('/');
  const json ident = {{"workload", name.substr(0, slash)},
                      {"strategy", name.substr(slash + 1, name.find('/', slash + 1) - slash - 1)},
                      {"repetition", {{"in_statistics", true}}}};
  for (int i = 0; i < 7; ++i) {
    const double v = ns * (1 + i / 1000.0);
    out.push_back({{"name", name}, {"run_name", name}, {"run_type", "iteration"}, {"threads", 1},
                   {"iterations", 10}, {"real_time", v * 100}, {"time_unit", "ns"}, {"ns_per_item", v},
                   {"atomic_rmw", 2.0}, {"rcbench", ident}});
  }
  out.push_back({{"name", name + "_median"}, {"run_name", name}, {"run_type", "aggregate"},
                 {"aggregate_name", "median"}, {"real_time", ns * 100.3}, {"time_unit", "ns"},
                 {"ns_per_item", ns * 1.003}, {"ns_per_item_ci95_low", ns}, {"ns_per_item_ci95_high", ns * 1.006},
                 {"atomic_rmw", 2.0}});
  return out;
}

json results(const FileSpec& s) {
  json benchmarks = json::array();
  for (const auto& [name, ns] : s.ns)
    for (auto& e : cell_entries(name, ns)) benchmarks.push_back(e);
  return {{"context",
           {{"date", s.date},
            {"host_name", "vm"},
            {"rcbench",
             {{"schema", s.schema},
              {"metric", "time"},
              {"topology", {{"cpu_model", s.cpu}, {"packages", 1}, {"cores", 2}, {"pus", 2}, {"numa_nodes", 1}}},
              {"probe", {{"plain_pair_ns", s.floor_ns}}},
              {"build", {{"git_commit", s.commit}, {"git_dirty", false}, {"compiler", "gcc 12.2.0"}}},
              {"options", {{"suite", "headline"}, {"size", "quick"}}}}}}},
          {"benchmarks", benchmarks}};
}

class HistoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("rcbench_history_test_" + std::to_string(getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    opt_.db = (dir_ / "h.sqlite").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const FileSpec& s) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path) << results(s).dump();
    return path;
  }
  std::string write_gz(const std::string& name, const FileSpec& s) {
    const std::string path = (dir_ / name).string(), text = results(s).dump();
    gzFile f = gzopen(path.c_str(), "wb");
    gzwrite(f, text.data(), static_cast<unsigned>(text.size()));
    gzclose(f);
    return path;
  }
  // compare's own verdicts for the two files, by name.
  static std::map<std::string, std::string> compare_verdicts(const std::string& a, const std::string& b) {
    const rcb::Comparison c = rcb::compare(rcb::load_results(a, "BASE"), rcb::load_results(b, "NEW"), {});
    std::map<std::string, std::string> out;
    for (const auto& r : c.rows) out[r.name] = rcb::to_string(r.verdict);
    return out;
  }

  fs::path dir_;
  rcb::HistoryOptions opt_;
};

TEST_F(HistoryTest, AddingTheSameFileTwiceChangesNothing) {
  FileSpec second;
  second.commit = "bbbb000000000000000000000000000000000002";
  const std::string a = write("a.json", FileSpec{}), b = write("b.json", second);
  const rcb::AddSummary first = rcb::history_add({a, b}, opt_);
  EXPECT_EQ(first.added, 2);
  EXPECT_EQ(first.cells, 4);
  const rcb::HistoryCounts before = rcb::history_counts(opt_.db);
  EXPECT_EQ(before.machines, 1);
  EXPECT_EQ(before.runs, 2);
  EXPECT_EQ(before.cells, 4);
  // Again, in one call twice over, and compressed: the same content is the same run.
  const rcb::AddSummary again = rcb::history_add({a, a, write_gz("a.json.gz", FileSpec{})}, opt_);
  EXPECT_EQ(again.added, 0);
  EXPECT_EQ(again.already, 3);
  const rcb::HistoryCounts after = rcb::history_counts(opt_.db);
  EXPECT_EQ(after.runs, before.runs);
  EXPECT_EQ(after.cells, before.cells);
  EXPECT_EQ(after.machines, before.machines);
}

TEST_F(HistoryTest, AnUnknownSchemaIsRefusedInOneLineAndNothingIsWritten) {
  FileSpec future;
  future.schema = "rcbench/3";
  const std::string good = write("good.json", FileSpec{}), bad = write("future.json", future);
  try {
    (void)rcb::history_add({good, bad}, opt_);
    FAIL() << "a file of schema rcbench/3 was recorded";
  } catch (const rcb::UsageError& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    EXPECT_NE(what.find("schema 'rcbench/3'"), std::string::npos) << what;
    EXPECT_NE(what.find("future.json"), std::string::npos) << what;
  }
  EXPECT_FALSE(fs::exists(opt_.db)) << "the good file must not be recorded without the bad one";
  json no_schema = results(FileSpec{});
  no_schema["context"]["rcbench"].erase("schema");
  std::ofstream(dir_ / "none.json") << no_schema.dump();
  EXPECT_THROW((void)rcb::history_add({(dir_ / "none.json").string()}, opt_), rcb::UsageError);
}

TEST_F(HistoryTest, AnOlderSchemaIsReadAsCompareReadsIt) {
  FileSpec old;
  old.schema = "rcbench/1";
  const std::string path = write("old.json", old);
  ASSERT_EQ(rcb::history_add({path}, opt_).added, 1);
  EXPECT_EQ(rcb::history_counts(opt_.db).cells, 2);
}

TEST_F(HistoryTest, DiffJudgesAPlantedRegressionExactlyAsCompare) {
  FileSpec slower;
  slower.commit = "bbbb000000000000000000000000000000000002";
  slower.date = "2026-01-02T00:00:00+00:00";
  slower.ns["shared_list/atomic/threads:1"] *= 1.25;
  slower.ns["fib/plain/threads:1"] *= 1.01;
  const std::string a = write("a.json", FileSpec{}), b = write("b.json", slower);
  (void)rcb::history_add({a, b}, opt_);
  const json d = rcb::history_diff("aaaa", "bbbb", opt_);
  EXPECT_EQ(d["exit_status"], rcb::kExitFailed);
  ASSERT_EQ(d["comparisons"].size(), 1u);
  std::map<std::string, std::string> got;
  for (const auto& row : d["comparisons"][0]["comparison"]["benchmarks"]) got[row["name"]] = row["verdict"];
  EXPECT_EQ(got["shared_list/atomic/threads:1"], "regression");
  EXPECT_EQ(got["fib/plain/threads:1"], "same");
  EXPECT_EQ(got, compare_verdicts(a, b));
}

TEST_F(HistoryTest, AMovedFloorIsNotedBesideTheVerdicts) {
  FileSpec later;
  later.commit = "bbbb000000000000000000000000000000000002";
  later.floor_ns = 0.8;  // same CPU and topology: the same machine, now a third slower at the floor
  (void)rcb::history_add({write("a.json", FileSpec{}), write("b.json", later)}, opt_);
  const json d = rcb::history_diff("aaaa", "bbbb", opt_);
  ASSERT_EQ(d["comparisons"].size(), 1u);
  EXPECT_NE(d["comparisons"][0]["comparison"]["notes"].dump().find("floor (plain_pair_ns) moved +33%"),
            std::string::npos)
      << d["comparisons"][0]["comparison"]["notes"];
}

TEST_F(HistoryTest, MachinesAreKeptApart) {
  FileSpec epyc;
  epyc.cpu = "AMD EPYC 9R14 96-Core Processor";
  epyc.commit = "bbbb000000000000000000000000000000000002";
  epyc.ns["shared_list/atomic/threads:1"] *= 1.5;  // another CPU, not a regression
  (void)rcb::history_add({write("xeon.json", FileSpec{}), write("epyc.json", epyc)}, opt_);
  EXPECT_EQ(rcb::history_counts(opt_.db).machines, 2);
  try {
    (void)rcb::history_diff("aaaa", "bbbb", opt_);
    FAIL() << "a Xeon run was compared with an EPYC run";
  } catch (const rcb::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("compares a machine only with itself"), std::string::npos) << e.what();
  }
  // Both machines at both commits, slower on the Xeon only: two comparisons, one regression.
  FileSpec xeon_slower, epyc_first = epyc;
  xeon_slower.commit = epyc.commit;
  xeon_slower.ns["shared_list/atomic/threads:1"] *= 1.25;
  epyc_first.commit = FileSpec{}.commit;
  (void)rcb::history_add({write("xeon2.json", xeon_slower), write("epyc1.json", epyc_first)}, opt_);
  const json d = rcb::history_diff("aaaa", "bbbb", opt_);
  ASSERT_EQ(d["comparisons"].size(), 2u);
  for (const auto& c : d["comparisons"]) {
    const bool xeon = c["cpu_model"].get<std::string>().find("Xeon") != std::string::npos;
    EXPECT_EQ(c["comparison"]["counts"]["regression"], xeon ? 1 : 0) << c["cpu_model"];
  }
}

TEST_F(HistoryTest, RevisionsMustNameOneRecordedCommit) {
  FileSpec other;
  other.commit = "aaaa000000000000000000000000000000000009";
  (void)rcb::history_add({write("a.json", FileSpec{}), write("b.json", other)}, opt_);
  EXPECT_THROW((void)rcb::history_diff("aaaa", "aaaa0000000000000000000000000000000000009", opt_), rcb::UsageError);
  EXPECT_THROW((void)rcb::history_diff("cccc", "aaaa000000000000000000000000000000000009", opt_), rcb::UsageError);
  // One commit on both sides: nothing to compare, and the message says what would.
  try {
    (void)rcb::history_diff("aaaa000000000000000000000000000000000009", "aaaa000000000000000000000000000000000009", opt_);
    ADD_FAILURE() << "a diff of one commit with itself was taken";
  } catch (const rcb::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("both revisions are commit aaaa00000000"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW((void)rcb::history_diff("aaaa000000000000000000000000000000000001",
                                          "aaaa000000000000000000000000000000000009", opt_));
}

}  // namespace
