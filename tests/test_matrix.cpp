// Every cell of the matrix, run through the very kernels `rcbench run` uses
// (harness/strategy_kernels.h, linked from rcbench_harness): the timed
// instantiation Uncounted<S>, which every wall-time figure comes from, and
// the counting one S through the counted pass that sizes repetitions, each
// at 1, 2 and 3 threads (an odd count catches pairing bugs); in a build
// configured with RCBENCH_TIME_COUNTED, S's timed repetitions too. A repetition
// fails on a wrong checksum in any iteration and on any object left live at
// the end; the asan and tsan presets add use-after-free, double free and data
// races. One test per cell, so ctest spreads the matrix over the cores.
// This is not a benchmark.

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "harness/cells.h"
#include "harness/commands.h"
#include "harness/kernels.h"

namespace rcb::test {
namespace {

#if defined(__SANITIZE_THREAD__)
constexpr bool kThreadSanitizer = true;
#else
constexpr bool kThreadSanitizer = false;
#endif

const std::vector<CellKernels>& cells() {
  static const std::vector<CellKernels> k = all_kernels();
  return k;
}

RepetitionPlan plan_for(std::uint32_t threads) {
  RepetitionPlan plan;
  plan.threads = threads;
  plan.size = Size::quick;
  plan.iterations = 2;
  plan.bind = [](std::uint32_t) { return -1; };  // unpinned: ctest runs cells side by side
  return plan;
}

class Cells : public ::testing::TestWithParam<std::size_t> {};

TEST_P(Cells, TimedAndCountedInstantiationsRunCleanAtOneTwoAndThreeThreads) {
  const CellKernels& k = cells().at(GetParam());
  // ThreadSanitizer cannot follow fork() of a threaded process; test_fork_cow
  // covers those workloads in the release and asan builds.
  if (kThreadSanitizer && k.forks_processes) GTEST_SKIP() << "forks: not under ThreadSanitizer";
  int runs = 0;
  for (const std::uint32_t threads : {1u, 2u, 3u}) {
    if (!k.multi_threaded && threads > 1) continue;
    if (!k.supports(threads).ok) continue;
    SCOPED_TRACE("threads=" + std::to_string(threads));
    const RepetitionPlan plan = plan_for(threads);
    const Repetition timed = k.repetition(plan);
    EXPECT_EQ(timed.error, "") << "Uncounted<" << k.strategy << "> x " << k.workload;
    EXPECT_EQ(timed.iterations, plan.iterations);
    EXPECT_GT(timed.seconds, 0.0);
    // The counting instantiation S, through the counted pass that sizes repetitions: it fails on a
    // wrong checksum in any iteration and on any object left live.
    const CountedPass pass = k.counted(threads, Size::quick, 0.0, plan.bind, WorkShare{});
    EXPECT_EQ(pass.error, "") << k.strategy << " x " << k.workload;
    EXPECT_GE(pass.iterations, 2u);
    if constexpr (kTimeCountedBuild) {
      const Repetition counting = k.repetition_counted(plan);
      EXPECT_EQ(counting.error, "") << k.strategy << " x " << k.workload;
      EXPECT_EQ(counting.checksum, timed.checksum);
    }
    ++runs;
  }
  ASSERT_GT(runs, 0) << "no thread count of 1-3 runs this cell";
}

std::string cell_test_name(const ::testing::TestParamInfo<std::size_t>& info) {
  const CellKernels& k = cells().at(info.param);
  return k.strategy + "_" + k.workload;
}

// The reduced product of the sanitizer builds (harness/cells.h) still has
// every strategy and every workload; in release builds, every cell.
TEST(Coverage, EveryStrategyAndEveryWorkloadHasACellInThisBuild) {
  std::set<std::string> strategies, workloads;
  for (const CellKernels& k : cells()) {
    strategies.insert(k.strategy);
    workloads.insert(k.workload);
  }
  for (const std::string& s : strategy_names()) EXPECT_TRUE(strategies.contains(s)) << s;
  for (const std::string& w : workload_names()) EXPECT_TRUE(workloads.contains(w)) << w;
  if (!kReducedMatrix) EXPECT_EQ(cells().size(), strategy_names().size() * workload_names().size());
}

TEST(Coverage, EverySanitizerFocusNamesARealCell) {
  const std::vector<std::string> s = strategy_names(), w = workload_names();
  for (const SanitizerFocus& f : kSanitizerFocus) {
    EXPECT_NE(std::find(s.begin(), s.end(), f.strategy), s.end()) << f.strategy;
    EXPECT_NE(std::find(w.begin(), w.end(), f.workload), w.end()) << f.workload;
  }
}

INSTANTIATE_TEST_SUITE_P(Matrix, Cells, ::testing::Range<std::size_t>(0, cells().size()), cell_test_name);

}  // namespace
}  // namespace rcb::test
