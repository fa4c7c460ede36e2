#pragma once
// What the operating system saw a thread, or the machine, do over a span of
// time: the raw material for telling a disturbed repetition from a clean one
// (harness/engine/disturbance.h). Read outside every timed region.
//
// Thread CPU time comes from the scheduler's own clock, which leaves out time
// the thread spent preempted and, on a paravirtualised guest, time the
// hypervisor stole. So wall time minus CPU time is time the thread lost,
// whether to its own blocking (counted in voluntary switches) or to someone
// else (involuntary switches, steal).

#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace rcb {

[[nodiscard]] inline std::int64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

[[nodiscard]] inline std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// One thread's usage, as a point in time or (after subtraction) a span.
struct ThreadUsage {
  std::int64_t wall_ns = 0;
  std::int64_t cpu_ns = 0;
  std::int64_t involuntary = 0;  // context switches forced on the thread
  std::int64_t voluntary = 0;    // times the thread blocked by itself

  [[nodiscard]] static ThreadUsage now() {
    ThreadUsage u;
    rusage ru{};
    getrusage(RUSAGE_THREAD, &ru);
    u.involuntary = ru.ru_nivcsw;
    u.voluntary = ru.ru_nvcsw;
    u.cpu_ns = thread_cpu_ns();
    u.wall_ns = steady_ns();
    return u;
  }
  [[nodiscard]] ThreadUsage operator-(const ThreadUsage& start) const {
    return {wall_ns - start.wall_ns, cpu_ns - start.cpu_ns, involuntary - start.involuntary,
            voluntary - start.voluntary};
  }
  ThreadUsage& operator+=(const ThreadUsage& span) {
    wall_ns += span.wall_ns;
    cpu_ns += span.cpu_ns;
    involuntary += span.involuntary;
    voluntary += span.voluntary;
    return *this;
  }
  // Of a span: the share of wall time the thread had a CPU.
  [[nodiscard]] double cpu_over_wall() const {
    return wall_ns > 0 ? static_cast<double>(cpu_ns) / static_cast<double>(wall_ns) : 1.0;
  }
};

// Seconds the hypervisor stole from the given CPUs so far (the `steal`
// column of /proc/stat, in clock ticks), or nothing where it is not reported.
[[nodiscard]] inline std::optional<double> steal_seconds(const std::vector<int>& cpus) {
  std::ifstream in("/proc/stat");
  if (!in) return std::nullopt;
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  double total = 0;
  bool found = false;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("cpu", 0) != 0 || line.size() < 4 || line[3] < '0' || line[3] > '9') continue;
    std::istringstream f(line);
    std::string name;
    f >> name;
    const int cpu = std::stoi(name.substr(3));
    bool wanted = false;
    for (int c : cpus) wanted = wanted || c == cpu || c < 0;
    if (!wanted) continue;
    // user nice system idle iowait irq softirq steal
    std::uint64_t v[8] = {};
    for (auto& x : v) f >> x;
    total += static_cast<double>(v[7]) / tick;
    found = true;
  }
  if (!found) return std::nullopt;
  return total;
}

}  // namespace rcb
