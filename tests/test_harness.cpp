// Harness pieces that need no benchmark run: frequency control against a
// fake sysfs tree (set, then restore exactly), placement parsing, results
// files on files, links, devices and FIFOs, quietness, the end-of-run
// summary. This is not a benchmark.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <fstream>
#include <sstream>
#include <thread>

#include "harness/build_info.h"
#include "harness/engine/frequency.h"
#include "harness/engine/topology.h"
#include "harness/environment.h"
#include "harness/results_file.h"
#include "harness/selection.h"
#include "harness/summary_format.h"

namespace rcb {
namespace {

namespace fs = std::filesystem;

// Every name a suite lists is a strategy or workload of the registries, and
// every strategy and workload is in some suite besides `all`.
TEST(Suites, NameOnlyRegisteredCellsAndLeaveNoneOut) {
  const std::vector<std::string> strategies = strategy_names(), workloads = workload_names();
  std::set<std::string> strategies_seen, workloads_seen;
  for (const Suite& suite : kSuites) {
    const bool all = suite.strategies.empty() && suite.workloads.empty();
    for (const auto n : suite.strategies) {
      EXPECT_TRUE(contains(strategies, n)) << suite.name << " lists an unknown strategy " << n;
      if (!all) strategies_seen.emplace(n);
    }
    for (const auto n : suite.workloads) {
      EXPECT_TRUE(contains(workloads, n)) << suite.name << " lists an unknown workload " << n;
      if (!all) workloads_seen.emplace(n);
    }
  }
  for (const auto& s : strategies) EXPECT_TRUE(strategies_seen.count(s)) << s << " is in no suite but all";
  for (const auto& w : workloads) EXPECT_TRUE(workloads_seen.count(w)) << w << " is in no suite but all";
  EXPECT_NE(find_suite(kDefaultSuite), nullptr);
}

TEST(Suites, SelectionFollowsSuiteThenNarrowsOrNamesExactly) {
  const std::vector<std::string> strategies = strategy_names(), workloads = workload_names();
  RunOptions opt;
  Selection sel = select_cells(opt, kDefaultSuite, strategies, workloads);
  EXPECT_EQ(sel.suite, "headline");
  EXPECT_EQ(sel.strategies.size(), find_suite("headline")->strategies.size());

  opt.suite = "all";
  sel = select_cells(opt, kDefaultSuite, strategies, workloads);
  EXPECT_EQ(sel.strategies, strategies);
  EXPECT_EQ(sel.workloads, workloads);

  opt.suite = "seeds";
  opt.workloads = {"fib"};
  sel = select_cells(opt, kDefaultSuite, strategies, workloads);
  EXPECT_EQ(sel.workloads, std::vector<std::string>{"fib"});
  EXPECT_TRUE(contains(sel.strategies, "gil"));

  opt.workloads = {"pyvm_fib"};  // not a seed workload
  EXPECT_THROW((void)select_cells(opt, kDefaultSuite, strategies, workloads), UsageError);

  opt.suite.clear();  // named cells, no suite: exactly those
  opt.strategies = {"gil"};
  sel = select_cells(opt, kDefaultSuite, strategies, workloads);
  EXPECT_EQ(sel.suite, "custom");
  EXPECT_EQ(sel.strategies, std::vector<std::string>{"gil"});
  EXPECT_EQ(sel.workloads, std::vector<std::string>{"pyvm_fib"});

  opt.strategies.clear();
  opt.workloads.clear();
  opt.suite = "nosuch";
  EXPECT_THROW((void)select_cells(opt, kDefaultSuite, strategies, workloads), UsageError);
}

class FakeSysfs : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("rcbench-sysfs-" + std::to_string(getpid()));
    fs::remove_all(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  void put(const std::string& rel, const std::string& value) {
    const fs::path p = root_ / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << value << "\n";
  }
  std::string get(const std::string& rel) {
    std::string s;
    std::getline(std::ifstream(root_ / rel), s);
    return s;
  }
  fs::path root_;
};

TEST_F(FakeSysfs, AbsentCpufreqIsReportedNotFaked) {
  put("devices/system/cpu/online", "0-1");
  FrequencyControl f(root_.string());
  f.inspect({0, 1});
  f.apply();
  EXPECT_FALSE(f.available());
  EXPECT_FALSE(f.controlled());
  const auto j = f.to_json();
  EXPECT_EQ(j["state"], "unavailable");
  EXPECT_NE(j["why"].get<std::string>().find("does not exist"), std::string::npos);
}

TEST_F(FakeSysfs, SetsPerformanceAndTurboOffThenRestoresEveryValue) {
  put("devices/system/cpu/cpu0/cpufreq/scaling_governor", "powersave");
  put("devices/system/cpu/cpu1/cpufreq/scaling_governor", "schedutil");
  put("devices/system/cpu/intel_pstate/no_turbo", "0");
  {
    FrequencyControl f(root_.string());
    f.inspect({0, 1});
    f.apply();
    EXPECT_TRUE(f.controlled());
    EXPECT_EQ(get("devices/system/cpu/cpu0/cpufreq/scaling_governor"), "performance");
    EXPECT_EQ(get("devices/system/cpu/cpu1/cpufreq/scaling_governor"), "performance");
    EXPECT_EQ(get("devices/system/cpu/intel_pstate/no_turbo"), "1");
    EXPECT_EQ(f.to_json()["state"], "controlled");
  }  // the destructor restores, as on an error path
  EXPECT_EQ(get("devices/system/cpu/cpu0/cpufreq/scaling_governor"), "powersave");
  EXPECT_EQ(get("devices/system/cpu/cpu1/cpufreq/scaling_governor"), "schedutil");
  EXPECT_EQ(get("devices/system/cpu/intel_pstate/no_turbo"), "0");
}

TEST_F(FakeSysfs, RestoreIsIdempotentAndBoostIsHandled) {
  put("devices/system/cpu/cpu0/cpufreq/scaling_governor", "ondemand");
  put("devices/system/cpu/cpufreq/boost", "1");
  FrequencyControl f(root_.string());
  f.inspect({0});
  f.apply();
  EXPECT_EQ(get("devices/system/cpu/cpufreq/boost"), "0");
  f.restore();
  put("devices/system/cpu/cpu0/cpufreq/scaling_governor", "changed-by-someone-else");
  f.restore();  // a second restore (atexit after the signal path) writes nothing
  EXPECT_EQ(get("devices/system/cpu/cpufreq/boost"), "1");
  EXPECT_EQ(get("devices/system/cpu/cpu0/cpufreq/scaling_governor"), "changed-by-someone-else");
}

TEST(Calibration, GivesAPlausibleClock) {
  const double ghz = measure_ghz(3);
  EXPECT_GT(ghz, 0.2);  // loose on purpose: this checks the method, not the machine
  EXPECT_LT(ghz, 8.0);
}

TEST(Placement, ParsesListsAndRejectsJunk) {
  EXPECT_EQ(parse_placement("compact").kind, Placement::Kind::compact);
  EXPECT_EQ(parse_placement("scatter").kind, Placement::Kind::scatter);
  const Placement p = parse_placement("0,2,4-6");
  EXPECT_EQ(p.cpus, (std::vector<int>{0, 2, 4, 5, 6}));
  for (const char* bad : {"", "x", "1,,2", "3-1", "-1", "1-", "0,2a"})
    EXPECT_THROW((void)parse_placement(bad), std::invalid_argument) << bad;
}

TEST(Placement, RefusesACpuListedTwice) {
  for (const char* twice : {"0,0", "0-2,1", "3,1,3"}) {
    try {
      (void)parse_placement(twice);
      ADD_FAILURE() << twice << " was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("listed twice"), std::string::npos) << e.what();
    }
  }
}

TEST(Placement, AssignsEveryThreadAnAllowedCpu) {
  Topology topo;
  ASSERT_GE(topo.pu_count(), 1u);
  for (const auto& p : {parse_placement("compact"), parse_placement("scatter")}) {
    const auto cpus = topo.assign(p, static_cast<std::uint32_t>(topo.pu_count()));
    std::vector<int> sorted = cpus;
    std::sort(sorted.begin(), sorted.end());
    std::vector<int> allowed = topo.allowed_pus();
    std::sort(allowed.begin(), allowed.end());
    EXPECT_EQ(sorted, allowed) << p.describe();  // each PU once
  }
}

TEST(ResultsFile, WritesAtomicallyAndRefusesUnwritablePaths) {
  const fs::path dir = fs::temp_directory_path() / ("rcbench-out-" + std::to_string(getpid()));
  fs::remove_all(dir);
  const fs::path out = dir / "sub" / "r.json";
  EXPECT_EQ(check_writable(out), "");  // creates the directories
  write_json_atomically(out, {{"a", 1}});
  write_json_atomically(out, {{"a", 2}});
  std::ifstream in(out);
  EXPECT_EQ(nlohmann::json::parse(in)["a"], 2);
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir / "sub")) ++files;
  EXPECT_EQ(files, 1u);  // no temporary left behind
  EXPECT_NE(check_writable(dir / "sub"), "");  // a directory
  EXPECT_NE(check_writable("/proc/rcbench/x.json"), "");
  fs::remove_all(dir);
}

class OutputDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("rcbench-output-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  static nlohmann::json read(const fs::path& p) {
    std::ifstream in(p);
    return nlohmann::json::parse(in);
  }
  [[nodiscard]] std::size_t entries() const {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_)) ++n;
    return n;
  }
  fs::path dir_;
};

TEST_F(OutputDir, RegularFileIsReplacedAtEveryCheckpoint) {
  const ResultsOutput out((dir_ / "r.json").string());
  EXPECT_EQ(out.kind(), ResultsOutput::Kind::file);
  out.checkpoint({{"a", 1}});
  EXPECT_EQ(read(dir_ / "r.json")["a"], 1);
  out.finish({{"a", 2}});
  EXPECT_EQ(read(dir_ / "r.json")["a"], 2);
  EXPECT_EQ(entries(), 1u);  // no temporary left
  EXPECT_EQ(out.describe(), (dir_ / "r.json").string());
}

TEST_F(OutputDir, SymlinkStaysALinkAndItsTargetIsReplaced) {
  fs::create_directories(dir_ / "data");
  std::ofstream(dir_ / "data" / "real.json") << "old\n";
  fs::create_symlink("data/real.json", dir_ / "link.json");  // relative, as `ln -s` makes them
  EXPECT_EQ(check_writable(dir_ / "link.json"), "");
  const ResultsOutput out((dir_ / "link.json").string());
  EXPECT_EQ(out.target(), dir_ / "data" / "real.json");
  out.checkpoint({{"a", 1}});
  out.finish({{"a", 2}});
  EXPECT_TRUE(fs::is_symlink(dir_ / "link.json"));
  EXPECT_EQ(fs::read_symlink(dir_ / "link.json"), fs::path("data/real.json"));
  EXPECT_EQ(read(dir_ / "data" / "real.json")["a"], 2);
  EXPECT_NE(out.describe().find("link to"), std::string::npos);
  // A dangling link: the file is created where it points.
  fs::create_symlink("data/new.json", dir_ / "dangling.json");
  write_json_atomically(dir_ / "dangling.json", {{"b", 3}});
  EXPECT_TRUE(fs::is_symlink(dir_ / "dangling.json"));
  EXPECT_EQ(read(dir_ / "data" / "new.json")["b"], 3);
}

TEST_F(OutputDir, FifoIsWrittenOnceAtTheEnd) {
  const fs::path fifo = dir_ / "pipe";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(check_writable(fifo), "");  // must not block: no reader yet
  const ResultsOutput out(fifo.string());
  EXPECT_EQ(out.kind(), ResultsOutput::Kind::stream);
  out.checkpoint({{"a", 1}});  // nothing: would block without a reader, and a reader wants one document
  std::string got;
  std::thread reader([&] {
    std::ifstream in(fifo);
    got.assign(std::istreambuf_iterator<char>(in), {});
  });
  out.finish({{"a", 2}});
  reader.join();
  EXPECT_EQ(nlohmann::json::parse(got)["a"], 2);
  struct stat st {};
  ASSERT_EQ(::stat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(entries(), 1u);
}

TEST(ResultsOutputDevice, DevNullIsWrittenNotReplaced) {
  EXPECT_EQ(check_writable("/dev/null"), "");
  const ResultsOutput out("/dev/null");
  EXPECT_EQ(out.kind(), ResultsOutput::Kind::stream);
  out.checkpoint({{"a", 1}});
  out.finish({{"a", 1}});
  write_json_atomically("/dev/null", {{"a", 1}});  // the old entry point follows the same rule
  struct stat st {};
  ASSERT_EQ(::stat("/dev/null", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_NE(out.describe().find("character device"), std::string::npos);
}

TEST(ResultsOutputDevice, WriteErrorOnDevFullIsAnError) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  const ResultsOutput out("/dev/full");
  out.checkpoint({{"a", 1}});  // nothing written yet
  try {
    out.finish({{"a", 1}});
    ADD_FAILURE() << "writing /dev/full succeeded";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/dev/full"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(std::strerror(ENOSPC)), std::string::npos) << e.what();
  }
}

TEST_F(OutputDir, DashWritesStdoutAndSendsMessagesToStderr) {
  EXPECT_EQ(&messages_stream("-"), &std::cerr);
  EXPECT_EQ(&messages_stream("/dev/stdout"), &std::cerr);
  EXPECT_EQ(&messages_stream("r.json"), &std::cout);
  EXPECT_EQ(check_writable("-"), "");
  const ResultsOutput out("-");
  EXPECT_TRUE(out.to_stdout());
  EXPECT_EQ(out.describe(), "stdout");
  // Catch fd 1 in a file for the duration.
  std::cout.flush();
  const int saved = ::dup(1);
  const int file = ::open((dir_ / "stdout").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(file, 0);
  ::dup2(file, 1);
  out.checkpoint({{"a", 1}});
  out.finish({{"a", 2}});
  ::dup2(saved, 1);
  ::close(saved);
  ::close(file);
  EXPECT_EQ(read(dir_ / "stdout")["a"], 2);  // one document: the checkpoint wrote nothing
}

TEST_F(OutputDir, RefusesDirectoriesAndLinkLoops) {
  EXPECT_NE(check_writable(dir_).find("directory"), std::string::npos);
  fs::create_symlink("loop", dir_ / "loop");
  EXPECT_NE(check_writable(dir_ / "loop"), "");
}

TEST(Quietness, LoadAtMostCpusMinusOneIsQuiet) {
  EXPECT_TRUE(quietness_json(0.9, 2)["quiet"].get<bool>());
  EXPECT_TRUE(quietness_json(1.0, 2)["quiet"].get<bool>());
  EXPECT_FALSE(quietness_json(1.1, 2)["quiet"].get<bool>());
  EXPECT_FALSE(quietness_json(0.2, 1)["quiet"].get<bool>());
  const auto unknown = quietness_json(std::nullopt, 4);
  EXPECT_TRUE(unknown["load_average_1min"].is_null());
  EXPECT_EQ(unknown["cpus"], 4);
  const auto now = quietness_json();
  EXPECT_GE(now["cpus"].get<unsigned>(), 1u);
  EXPECT_TRUE(now.contains("quiet"));
}

TEST(Quietness, WaitPollsUntilQuietOrTimeout) {
  std::vector<double> loads{3.0, 2.5, 0.5};
  std::size_t calls = 0;
  const auto source = [&]() -> std::optional<double> { return loads[std::min(calls++, loads.size() - 1)]; };
  std::ostringstream log;
  EXPECT_TRUE(wait_for_quiet(10, log, source, 2, std::chrono::milliseconds(1)));
  EXPECT_EQ(calls, 3u);
  EXPECT_NE(log.str().find("waiting"), std::string::npos) << log.str();
  calls = 0;
  loads = {3.0};
  std::ostringstream log2;
  EXPECT_FALSE(wait_for_quiet(0, log2, source, 2, std::chrono::milliseconds(1)));
  EXPECT_EQ(calls, 1u);
  EXPECT_NE(log2.str().find("not quiet"), std::string::npos) << log2.str();
}

TEST(BuildInfo, VersionLineNamesVersionAndCommit) {
  const std::string v = version_line();
  EXPECT_EQ(v.rfind("rcbench ", 0), 0u) << v;
  EXPECT_NE(v.find("commit "), std::string::npos) << v;
}

// Two benchmarks in the results schema: one measured (disturbed once, its
// precision not reached in the budget, short of its minimum repetitions),
// one failed.
nlohmann::json small_results() {
  const nlohmann::json summary = {{"repetitions", 3},
                                  {"disturbed_repetitions", 1},
                                  {"median_ns_per_item", 12.5},
                                  {"ns_per_item_ci95_low", 12.0},
                                  {"ns_per_item_ci95_high", 13.0},
                                  {"ci_half_width", 0.04},
                                  {"precision_reached", false},
                                  {"not_reached_why", "budget"},
                                  {"incomplete", true},
                                  {"cv", 0.03},
                                  {"unstable", false}};
  const nlohmann::json rc = {{"strategy", "atomic"}, {"workload", "shared_list"}, {"threads", 1}, {"summary", summary}};
  nlohmann::json doc = {{"context", {{"rcbench", {{"interrupted", true}}}}}, {"benchmarks", nlohmann::json::array()}};
  for (int i = 0; i < 3; ++i) {
    nlohmann::json it = {{"name", "shared_list/atomic/threads:1"}, {"run_name", "shared_list/atomic/threads:1"},
                         {"run_type", "iteration"}, {"repetitions", 6}, {"repetition_index", i}, {"threads", 1},
                         {"time_unit", "ns"}, {"ns_per_item", 12.0 + 0.5 * i}, {"items_per_second", 8e7},
                         {"cycles_per_item", 30.0}, {"rcbench", rc}};
    it["rcbench"]["repetition"] = {{"disturbed", i == 2}, {"reasons", nlohmann::json::array()}};
    doc["benchmarks"].push_back(it);
  }
  doc["benchmarks"].push_back({{"name", "shared_list/atomic/threads:1_median"},
                               {"run_name", "shared_list/atomic/threads:1"}, {"run_type", "aggregate"},
                               {"aggregate_name", "median"}, {"threads", 1}, {"ns_per_item", 12.5},
                               {"ns_per_item_ci95_low", 12.0}, {"ns_per_item_ci95_high", 13.0},
                               {"items_per_second", 8e7}, {"cycles_per_item", 31.25}, {"rcbench", rc}});
  doc["benchmarks"].push_back({{"name", "fib/biased/threads:2"}, {"run_name", "fib/biased/threads:2"},
                               {"run_type", "iteration"}, {"threads", 2}, {"error_occurred", true},
                               {"error_message", "checksum mismatch"},
                               {"rcbench", {{"strategy", "biased"}, {"workload", "fib"}, {"threads", 2}}}});
  return doc;
}

TEST(Summary, ConsoleHasOneAlignedLinePerBenchmarkWithFlags) {
  std::ostringstream os;
  print_summary(os, small_results(), "console");
  const std::string s = os.str();
  std::istringstream lines(s);
  std::string first, second, extra;
  std::getline(lines, first);
  std::getline(lines, second);
  EXPECT_FALSE(std::getline(lines, extra)) << s;
  EXPECT_EQ(first.rfind("shared_list/atomic/threads:1", 0), 0u) << s;
  for (const char* part : {"12.500 ns/item ± 4.0%", "31.25 cyc/item", "80M items/s", "3 reps", "disturbed 1",
                           "not reached: budget", "INCOMPLETE"})
    EXPECT_NE(first.find(part), std::string::npos) << part << " in " << first;
  EXPECT_EQ(second.rfind("fib/biased/threads:2", 0), 0u) << s;
  EXPECT_NE(second.find("FAILED: checksum mismatch"), std::string::npos) << second;
  // The name column is padded to the longest name.
  EXPECT_EQ(first.find("  "), std::string("shared_list/atomic/threads:1").size()) << first;
}

// A workload's own figures (blocked_owner's retention) follow the numbers,
// exact, as the results file has them.
TEST(Summary, ConsoleShowsTheWorkloadsOwnFigures) {
  nlohmann::json doc = small_results();
  for (auto& b : doc["benchmarks"])
    if (b["run_type"] == "iteration" && b["rcbench"]["workload"] == "shared_list")
      b["rcbench"]["workload_figures"] = {{"peak_retained_objects", 300001.0}, {"peak_retained_bytes", 14400040.0}};
  std::ostringstream os;
  print_summary(os, doc, "console");
  const std::string first = os.str().substr(0, os.str().find('\n'));
  EXPECT_NE(first.find("peak_retained_bytes=14400040 peak_retained_objects=300001, disturbed 1"), std::string::npos)
      << first;
}

// The console's medians read the repetitions the run's statistics read: a
// disturbed repetition (in_statistics false) far from the others moves none.
TEST(Summary, MediansLeaveOutTheRepetitionsTheRunLeftOut) {
  nlohmann::json doc = small_results();
  const double cycles[] = {30.0, 40.0, 300.0};
  int i = 0;
  for (auto& b : doc["benchmarks"]) {
    if (b["run_type"] == "aggregate") b.erase("cycles_per_item");
    if (b["run_type"] != "iteration" || b["rcbench"]["workload"] != "shared_list") continue;
    b["cycles_per_item"] = cycles[i];
    b["rcbench"]["workload_figures"] = {{"peak_retained_objects", cycles[i]}};
    b["rcbench"]["repetition"]["in_statistics"] = i != 2;
    ++i;
  }
  std::ostringstream os;
  print_summary(os, doc, "console");
  const std::string first = os.str().substr(0, os.str().find('\n'));
  EXPECT_NE(first.find("35.00 cyc/item"), std::string::npos) << first;  // 40.00 with the disturbed one
  EXPECT_NE(first.find("peak_retained_objects=35"), std::string::npos) << first;
}

TEST(Summary, CsvHasTheContractColumns) {
  std::ostringstream os;
  print_summary(os, small_results(), "csv");
  EXPECT_EQ(os.str(),
            "name,strategy,workload,threads,median_ns_per_item,ci95_low,ci95_high,repetitions,"
            "disturbed_repetitions,precision_reached,not_reached_why,incomplete\n"
            "shared_list/atomic/threads:1,atomic,shared_list,1,12.5,12,13,3,1,false,budget,true\n"
            "fib/biased/threads:2,biased,fib,2,,,,1,0,,failed,false\n");
}

TEST(Summary, MarkdownAndJson) {
  std::ostringstream md;
  print_summary(md, small_results(), "md");
  EXPECT_EQ(md.str().rfind("| name | strategy | workload | threads |", 0), 0u) << md.str();
  EXPECT_NE(md.str().find("| shared_list/atomic/threads:1 | atomic | shared_list | 1 | 12.5 | 12 | 13 | 3 | 1 | "
                          "false | budget | true |"),
            std::string::npos)
      << md.str();
  std::ostringstream js;
  print_summary(js, small_results(), "json");
  EXPECT_EQ(nlohmann::json::parse(js.str()), small_results());
  std::ostringstream junk;
  EXPECT_THROW(print_summary(junk, small_results(), "xml"), std::invalid_argument);
}

}  // namespace
}  // namespace rcb
