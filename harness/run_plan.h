#pragma once
// The cells a `rcbench run` selection expands to, for the commands that run
// cells without the run's rounds: `rcbench ab`'s serving child
// (harness/ab.cpp) expands its options exactly as `run` does, so both
// sides of an A/B see the cells a run would.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "harness/engine/topology.h"
#include "harness/kernels.h"
#include "harness/session.h"

namespace rcb {

struct PlannedCell {
  Cell cell;
  const CellKernels* kernels = nullptr;
};

struct CellPlan {
  RunOptions opt;  // checked, with the thread counts chosen
  Placement placement;
  WorkShare share;
  std::vector<PlannedCell> cells;
  std::vector<std::string> notes;  // the combinations that cannot run, and why
};

// Timed iterations per repetition: --min-time over the counted pass's
// median iteration, rounded to the nearest power of two (in ratio), so two
// runs whose estimates differ by a few percent time the same number of
// iterations; a repetition then lasts 0.7-1.4 times --min-time.
[[nodiscard]] inline std::uint64_t iterations_per_repetition(double min_time, double seconds_per_iteration) {
  const double wanted = min_time / std::max(seconds_per_iteration, 1e-7);
  if (wanted <= 1) return 1;
  return std::uint64_t{1} << static_cast<int>(std::min(std::round(std::log2(wanted)), 40.0));
}

// Throws UsageError on bad options, as `rcbench run` would.
[[nodiscard]] CellPlan plan_cells(const RunOptions& opt, const Topology& topo);

}  // namespace rcb
