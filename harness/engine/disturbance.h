#pragma once
// Was a repetition disturbed? Decided from what the operating system saw,
// never guessed from the timing itself (a slow repetition may be a true one).
//
// A repetition is disturbed when, over its timed iterations:
//   - a worker that never blocked by itself still lost more than
//     kMaxLostShare of its wall time (CPU time < wall time: preempted, or
//     stolen by the hypervisor where the guest accounts steal);
//   - a worker was switched out involuntarily, unless the strategy runs
//     helper threads of its own (a commit thread on a 2-CPU machine preempts
//     workers as part of what is measured; only outside causes count there);
//   - the host stole more than kMaxStealShare of the CPUs' time (the steal
//     column of /proc/stat, which counts in 10 ms ticks).
// Workers that block by themselves (a GIL, a full log pool, an empty queue)
// lose wall time legitimately, so CPU-over-wall is judged only for workers
// whose voluntary switch count stayed zero.

#include <cstdint>
#include <string>
#include <vector>

#include "harness/engine/usage.h"

namespace rcb {

inline constexpr double kMaxLostShare = 0.01;
inline constexpr double kMaxStealShare = 0.01;

struct Disturbance {
  bool disturbed = false;
  std::vector<std::string> reasons;
  std::int64_t involuntary_switches = 0;  // over all workers
  std::int64_t voluntary_switches = 0;
  double min_cpu_over_wall = 1;           // over workers that never blocked
  double steal_s = 0;
};

[[nodiscard]] inline Disturbance judge_disturbance(const std::vector<ThreadUsage>& workers, double steal_s,
                                                   double wall_s, bool own_helper_threads) {
  Disturbance d;
  d.steal_s = steal_s;
  for (const ThreadUsage& u : workers) {
    d.involuntary_switches += u.involuntary;
    d.voluntary_switches += u.voluntary;
    if (u.voluntary == 0) d.min_cpu_over_wall = std::min(d.min_cpu_over_wall, u.cpu_over_wall());
  }
  if (d.min_cpu_over_wall < 1 - kMaxLostShare)
    d.reasons.push_back("a worker had the CPU " + std::to_string(static_cast<int>(100 * d.min_cpu_over_wall + 0.5)) +
                        "% of its wall time");
  if (d.involuntary_switches > 0 && !own_helper_threads)
    d.reasons.push_back(std::to_string(d.involuntary_switches) + " involuntary context switch(es)");
  const double cpu_seconds = wall_s * static_cast<double>(workers.size());
  if (cpu_seconds > 0 && steal_s > kMaxStealShare * cpu_seconds)
    d.reasons.push_back("host steal " + std::to_string(static_cast<int>(1000 * steal_s + 0.5)) + " ms");
  d.disturbed = !d.reasons.empty();
  return d;
}

}  // namespace rcb
