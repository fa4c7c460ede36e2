// Harness pieces that need no benchmark run: frequency control against a
// fake sysfs tree (set, then restore exactly), placement parsing, atomic
// results files. This is not a benchmark.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "harness/engine/frequency.h"
#include "harness/results_file.h"
#include "harness/engine/topology.h"

namespace rcb {
namespace {

namespace fs = std::filesystem;

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

}  // namespace
}  // namespace rcb
