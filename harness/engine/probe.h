#pragma once
// The hardware floor: what an incref+decref pair costs on this machine with
// nothing of rcbench around it, measured by the same binary with the same
// pinning as the run it goes with. Every results file records it
// (`context.rcbench.probe`), so a strategy's cost can be read in units of
// the machine's own plain pair, locked pair and bounced cache line rather
// than in nanoseconds that mean different things on different processors.
//
//   plain_pair_ns           ++count; if (--count == 0) ...   one thread
//   atomic_pair_ns          fetch_add(relaxed); fetch_sub(release) == 1   one thread
//   contended_pair_ns       the atomic pair on ONE line by two pinned threads
//   separate_lines_pair_ns  the atomic pair by two pinned threads, each on its own line
//   plain_pair_ns_per_cpu   the plain pair on each CPU alone: their speeds
//
// Each figure is the median of several timed loops (ns per pair per thread,
// the span from the first thread's start to the last thread's finish, as
// ns_per_item is), so it compares directly with hot_object's ns_per_item.

#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace rcb {

class Topology;

struct ProbeResult {
  double plain_pair_ns = 0;
  double atomic_pair_ns = 0;
  double contended_pair_ns = 0;       // 0: fewer than two CPUs to pin to
  double separate_lines_pair_ns = 0;  // 0: fewer than two CPUs to pin to
  std::vector<int> cpus;              // where the threads were pinned
  // The plain pair on each of those CPUs alone: a vCPU the host slows shows
  // here as a longer pair (seen: 0.30 s against 0.46 s for one process).
  std::vector<std::pair<int, double>> plain_pair_ns_per_cpu;
  [[nodiscard]] nlohmann::json to_json() const;
};

// cpus: the first one or two CPUs the run places its threads on.
[[nodiscard]] ProbeResult run_probe(const Topology& topo, const std::vector<int>& cpus);

}  // namespace rcb
