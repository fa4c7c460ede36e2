#pragma once
// CPU frequency: control it where we may, measure it always.
//
// Control follows pyperf's `system tune`: governor `performance` first
// (changing the governor can reset intel_pstate's no_turbo), then turbo off;
// every original value is recorded and written back on exit, on error and on
// Ctrl-C. Where cpufreq is absent or read-only (VMs, containers) nothing is
// changed and the results say exactly that.
//
// Measurement: an unrolled chain of dependent adds retires one add per cycle
// on every x86-64 core of the last 15 years, so adds / seconds is the
// effective clock. It is timed at N and 2N adds so fixed overhead cancels;
// of several tries the shortest N and shortest 2N timings are kept
// (disturbance only ever lengthens a timing).

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace rcb {

// A calibration is disturbed when even its shortest legs had the CPU for
// less than this share of their wall time: what it measured was contention.
inline constexpr double kCalibrationMinCpuShare = 0.97;

struct Calibration {
  double ghz = 0;
  double cpu_over_wall = 1;  // of the legs kept
  bool disturbed = false;
};

// Effective GHz of the calling thread's CPU, from dependent adds.
[[nodiscard]] Calibration calibrate(int tries = 5);
[[nodiscard]] double measure_ghz(int tries = 5);

// Effective GHz measured on a given OS CPU (a short-lived pinned thread, so
// the caller's own affinity is never touched). -1: unpinned.
class Topology;
[[nodiscard]] Calibration calibrate_on(const Topology& topo, int os_cpu, int tries = 5);
[[nodiscard]] double measure_ghz_on(const Topology& topo, int os_cpu, int tries = 5);

struct FileChange {
  std::string path;
  std::string original;
  std::string wanted;
};

// Sets governor/turbo for the run and restores them. Restoring is
// idempotent, so the destructor, the SIGINT path and atexit can all call it.
class FrequencyControl {
 public:
  // root: "/sys" normally; tests point it at a fake tree.
  explicit FrequencyControl(std::string root = "/sys");
  ~FrequencyControl();
  FrequencyControl(const FrequencyControl&) = delete;
  FrequencyControl& operator=(const FrequencyControl&) = delete;

  // Looks at what exists and what we may write; changes nothing.
  void inspect(const std::vector<int>& cpus);
  // Applies performance governor and turbo off where possible.
  void apply();
  void restore();

  [[nodiscard]] bool available() const { return available_; }
  [[nodiscard]] bool controlled() const { return !applied_.empty(); }
  // What the results file records: state, what was changed, what could not
  // be changed and why.
  [[nodiscard]] nlohmann::json to_json() const;
  // Warnings a user should act on (turbo on, governor not performance).
  [[nodiscard]] std::vector<std::string> warnings() const;

 private:
  std::string root_;
  bool available_ = false;
  std::string why_unavailable_;
  std::vector<FileChange> planned_;
  std::vector<FileChange> applied_;
  std::vector<std::string> not_changed_;  // "path: reason"
  std::vector<std::string> governors_;    // as found, per CPU
  std::optional<bool> turbo_on_;
  bool restored_ = false;
};

// Reads the 1-minute load average, if /proc/loadavg exists.
[[nodiscard]] std::optional<double> load_average_1min();

}  // namespace rcb
