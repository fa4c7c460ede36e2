#pragma once
// Was a repetition disturbed? Decided from what the operating system saw,
// never guessed from the timing itself (a slow repetition may be a true one).
//
// A repetition is disturbed when, over its timed iterations:
//   - a worker that never blocked by itself lost more than kMaxLostShare of
//     its wall time (its CPU time fell short of its wall time: preempted,
//     or stolen by the hypervisor where the guest accounts steal). Brief
//     preemptions by kernel threads happen in most repetitions and cost a
//     few microseconds each; they are recorded, and judged by the time they
//     took, not by their number;
//   - a worker that did block by itself (a GIL, a full log pool, an empty
//     queue), whose lost time is partly its own, was switched out
//     involuntarily more than kMaxPreemptionsPerSecond times per second of
//     wall time (about one per scheduler tick); not judged when the strategy
//     runs helper threads of its own, which on a 2-CPU machine preempt
//     workers as part of what is measured;
//   - the host stole more than kMaxStealShare of the CPUs' time (the steal
//     column of /proc/stat, which counts in 10 ms ticks).

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "harness/engine/usage.h"

namespace rcb {

inline constexpr double kMaxLostShare = 0.01;
inline constexpr double kMaxStealShare = 0.01;
inline constexpr double kMaxPreemptionsPerSecond = 100;

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
  std::int64_t blocking_preempted = 0;
  double blocking_wall_s = 0;
  for (const ThreadUsage& u : workers) {
    d.involuntary_switches += u.involuntary;
    d.voluntary_switches += u.voluntary;
    if (u.voluntary == 0) {
      d.min_cpu_over_wall = std::min(d.min_cpu_over_wall, u.cpu_over_wall());
    } else {
      blocking_preempted += u.involuntary;
      blocking_wall_s += static_cast<double>(u.wall_ns) * 1e-9;
    }
  }
  if (d.min_cpu_over_wall < 1 - kMaxLostShare)
    d.reasons.push_back("a worker had the CPU " + std::to_string(static_cast<int>(100 * d.min_cpu_over_wall + 0.5)) +
                        "% of its wall time");
  if (!own_helper_threads && blocking_preempted > kMaxPreemptionsPerSecond * blocking_wall_s)
    d.reasons.push_back(std::to_string(blocking_preempted) + " involuntary switch(es) of blocking workers in " +
                        std::to_string(static_cast<int>(1000 * blocking_wall_s + 0.5)) + " ms");
  const double cpu_seconds = wall_s * static_cast<double>(workers.size());
  if (cpu_seconds > 0 && steal_s > kMaxStealShare * cpu_seconds)
    d.reasons.push_back("host steal " + std::to_string(static_cast<int>(1000 * steal_s + 0.5)) + " ms");
  d.disturbed = !d.reasons.empty();
  return d;
}

// The CPUs of one multi-thread repetition must run at one speed: on these
// VMs the host slowed one vCPU for minutes at a time (a lone process took
// 0.30 s on CPU 0 and 0.46 s on CPU 1, three times in a row), invisibly to
// rusage and steal, and every 2-thread figure then carried the slow CPU.
// Speeds are the effective GHz each CPU's calibration measured (engine/
// frequency.h) around the repetition. 10% is well above the calibration's
// own scatter between back-to-back runs on one CPU (a few percent) and far
// below the slowdowns seen (35-40%).
inline constexpr double kMaxCpuSpeedSpread = 0.10;

struct CpuSpeed {
  int cpu = -1;
  double ghz = 0;
};

// "CPU 1 ran at 62% of CPU 0's speed" for the slowest and the fastest
// (`verb` "ran" or "runs"), or "" when they are within the bound.
[[nodiscard]] inline std::string uneven_cpu_speeds(const std::vector<CpuSpeed>& speeds, const char* verb = "ran") {
  if (speeds.size() < 2) return {};
  const auto [slow, fast] = std::minmax_element(speeds.begin(), speeds.end(),
                                                [](const CpuSpeed& a, const CpuSpeed& b) { return a.ghz < b.ghz; });
  if (fast->ghz <= 0 || slow->ghz >= (1 - kMaxCpuSpeedSpread) * fast->ghz) return {};
  return "CPU " + std::to_string(slow->cpu) + " " + verb + " at " +
         std::to_string(static_cast<int>(100 * slow->ghz / fast->ghz + 0.5)) + "% of CPU " + std::to_string(fast->cpu) +
         "'s speed";
}

// Marks `d` disturbed when the slowest CPU ran below (1 - spread) of the
// fastest; the reason names both.
inline void judge_cpu_speeds(const std::vector<CpuSpeed>& speeds, Disturbance& d) {
  std::string why = uneven_cpu_speeds(speeds);
  if (why.empty()) return;
  d.reasons.push_back(std::move(why));
  d.disturbed = true;
}

}  // namespace rcb
