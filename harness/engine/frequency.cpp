#include "harness/engine/frequency.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <thread>

#include "harness/engine/topology.h"
#include "harness/engine/usage.h"

namespace rcb {

namespace {

// 64 dependent adds per turn; the loop's own add/branch run in parallel on
// other ports, so the chain's latency (1 cycle an add) is the bound. The
// addend is a register, not an immediate: recent Intel cores (Golden Cove
// and later) fold `add reg, imm` chains at rename and would read 4-6x fast.
[[gnu::noinline]] std::uint64_t add_chain(std::uint64_t turns, std::uint64_t step) {
  std::uint64_t x = 0;
  for (std::uint64_t i = 0; i < turns; ++i) {
    asm volatile(
        ".rept 64\n\t"
        "add %1, %0\n\t"
        ".endr"
        : "+r"(x)
        : "r"(step));
  }
  return x;
}

// One timed leg: wall seconds and the thread's CPU seconds over the same span.
struct Leg {
  double wall = 0, cpu = 0;
};

Leg time_leg(std::uint64_t turns) {
  const std::int64_t c0 = thread_cpu_ns();
  const auto t0 = std::chrono::steady_clock::now();
  volatile std::uint64_t step = 1;  // unknown to the compiler and the renamer
  const auto x = add_chain(turns, step);
  const auto t1 = std::chrono::steady_clock::now();
  const std::int64_t c1 = thread_cpu_ns();
  asm volatile("" ::"r"(x));
  return {std::chrono::duration<double>(t1 - t0).count(), static_cast<double>(c1 - c0) * 1e-9};
}

std::optional<std::string> read_line(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::string s;
  if (!in || !std::getline(in, s)) return std::nullopt;
  return s;
}

bool write_value(const std::string& path, const std::string& value) {
  std::ofstream out(path);
  out << value << '\n';
  return static_cast<bool>(out.flush());
}

}  // namespace

Calibration calibrate(int tries) {
  // 6.4M adds, ~2 ms at 3 GHz: shorter timings scattered by +-5% between
  // back-to-back calibrations on the development VM, this by +-1.5%.
  constexpr std::uint64_t kTurns = 100'000;
  (void)time_leg(kTurns);  // warm up: wake the core from idle
  // Preemption and interrupts only ever lengthen a timing, so the shortest
  // of several is the undisturbed one. Take the shortest N and the shortest
  // 2N separately, then subtract: the difference of one try's pair would
  // explode whenever only its N leg was disturbed.
  Leg best_n{std::numeric_limits<double>::infinity(), 0};
  Leg best_2n{std::numeric_limits<double>::infinity(), 0};
  for (int i = 0; i < tries; ++i) {
    if (const Leg l = time_leg(kTurns); l.wall < best_n.wall) best_n = l;
    if (const Leg l = time_leg(2 * kTurns); l.wall < best_2n.wall) best_2n = l;
  }
  Calibration c;
  const double dt = best_2n.wall - best_n.wall;
  c.ghz = dt > 0 ? static_cast<double>(kTurns * 64) / dt * 1e-9 : 0.0;
  // Even the shortest legs lost CPU time to someone else: the figure is
  // contention, not frequency, and must not be read as drift.
  c.cpu_over_wall = std::min(best_n.cpu / best_n.wall, best_2n.cpu / best_2n.wall);
  c.disturbed = !(c.cpu_over_wall >= kCalibrationMinCpuShare) || c.ghz <= 0;
  return c;
}

double measure_ghz(int tries) { return calibrate(tries).ghz; }

Calibration calibrate_on(const Topology& topo, int os_cpu, int tries) {
  Calibration c;
  std::thread t([&] {
    if (os_cpu >= 0) (void)topo.bind_current_thread(os_cpu, nullptr);
    c = calibrate(tries);
    // One retry: a disturbance lasting the whole first attempt is rare twice.
    if (c.disturbed) c = calibrate(tries);
  });
  t.join();
  return c;
}

double measure_ghz_on(const Topology& topo, int os_cpu, int tries) { return calibrate_on(topo, os_cpu, tries).ghz; }

FrequencyControl::FrequencyControl(std::string root) : root_(std::move(root)) {}

FrequencyControl::~FrequencyControl() { restore(); }

void FrequencyControl::inspect(const std::vector<int>& cpus) {
  namespace fs = std::filesystem;
  const fs::path cpu_dir = fs::path(root_) / "devices/system/cpu";
  planned_.clear();
  governors_.clear();
  not_changed_.clear();
  if (!fs::exists(cpu_dir / "cpu0/cpufreq")) {
    available_ = false;
    why_unavailable_ = (cpu_dir / "cpu0/cpufreq").string() +
                       " does not exist: this kernel exposes no cpufreq (usual in VMs and containers), "
                       "so the frequency can be neither read nor set; it is measured instead";
    return;
  }
  available_ = true;
  for (int c : cpus) {
    const fs::path gov = cpu_dir / ("cpu" + std::to_string(c)) / "cpufreq/scaling_governor";
    const auto cur = read_line(gov);
    if (!cur) {
      not_changed_.push_back(gov.string() + ": not readable");
      continue;
    }
    governors_.push_back(*cur);
    if (*cur == "performance") continue;
    if (access(gov.c_str(), W_OK) != 0)
      not_changed_.push_back(gov.string() + ": not writable (need root), governor stays '" + *cur + "'");
    else
      planned_.push_back({gov.string(), *cur, "performance"});
  }
  // Turbo: intel_pstate's no_turbo (1 = off) or the generic boost (0 = off).
  const fs::path no_turbo = cpu_dir / "intel_pstate/no_turbo";
  const fs::path boost = cpu_dir / "cpufreq/boost";
  FileChange turbo;
  if (auto v = read_line(no_turbo)) {
    turbo_on_ = (*v == "0");
    turbo = {no_turbo.string(), *v, "1"};
  } else if (auto b = read_line(boost)) {
    turbo_on_ = (*b == "1");
    turbo = {boost.string(), *b, "0"};
  }
  if (turbo_on_.value_or(false)) {
    if (access(turbo.path.c_str(), W_OK) != 0)
      not_changed_.push_back(turbo.path + ": not writable (need root), turbo stays on");
    else
      planned_.push_back(turbo);  // after the governors, as pyperf orders it
  }
}

void FrequencyControl::apply() {
  for (const auto& ch : planned_) {
    if (write_value(ch.path, ch.wanted))
      applied_.push_back(ch);
    else
      not_changed_.push_back(ch.path + ": write failed");
  }
  restored_ = applied_.empty();
}

void FrequencyControl::restore() {
  if (restored_) return;
  restored_ = true;
  // Reverse order: turbo back before governors, mirroring apply().
  for (auto it = applied_.rbegin(); it != applied_.rend(); ++it) (void)write_value(it->path, it->original);
}

nlohmann::json FrequencyControl::to_json() const {
  nlohmann::json j;
  j["cpufreq_available"] = available_;
  if (!available_) {
    j["state"] = "unavailable";
    j["why"] = why_unavailable_;
  } else {
    j["state"] = applied_.empty() ? (not_changed_.empty() ? "already-tuned" : "not-controlled") : "controlled";
    j["governors_found"] = governors_;
    if (turbo_on_) j["turbo_on_before"] = *turbo_on_;
  }
  nlohmann::json changed = nlohmann::json::array();
  for (const auto& c : applied_) changed.push_back({{"path", c.path}, {"from", c.original}, {"to", c.wanted}});
  j["changed"] = changed;
  j["not_changed"] = not_changed_;
  j["restored"] = restored_ || applied_.empty();
  return j;
}

std::vector<std::string> FrequencyControl::warnings() const {
  std::vector<std::string> w;
  if (!available_) {
    w.push_back("no cpufreq: frequency cannot be controlled here; compare runs by the calibrated GHz and "
                "cycles per item, and watch the drift flags");
    return w;
  }
  const bool not_perf = std::any_of(governors_.begin(), governors_.end(),
                                    [](const std::string& g) { return g != "performance"; });
  if (not_perf && applied_.empty()) w.push_back("governor is not 'performance' and could not be set (run as root)");
  if (turbo_on_.value_or(false) &&
      std::none_of(applied_.begin(), applied_.end(), [](const FileChange& c) {
        return c.path.find("turbo") != std::string::npos || c.path.find("boost") != std::string::npos;
      }))
    w.push_back("turbo is on and could not be turned off: results will vary with temperature and load");
  return w;
}

std::optional<double> load_average_1min() {
  std::ifstream in("/proc/loadavg");
  double l = 0;
  if (!(in >> l)) return std::nullopt;
  return l;
}

}  // namespace rcb
