#include "harness/environment.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <thread>

#include "harness/build_info.h"
#include "harness/engine/disturbance.h"
#include "harness/commands.h"

namespace rcb {

nlohmann::json environment_json(const Topology& topo, const FrequencyControl& freq) {
  nlohmann::json j;
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  j["host"] = host;
  j["topology"] = topo.summary();
  j["frequency_control"] = freq.to_json();
  // Each allowed PU's effective clock, so a slow or throttled core shows.
  nlohmann::json cal = nlohmann::json::object();
  for (int cpu : topo.allowed_pus()) cal[std::to_string(cpu)] = measure_ghz_on(topo, cpu, 5);
  j["calibration_ghz"] = cal;
  j["calibration_method"] =
      "64-add dependent chain timed at N and 2N turns (fixed overhead cancels), shortest of 5 tries for each, on a thread pinned "
      "to the PU; 1 add retires per cycle, so adds/second is the effective clock";
  j["perf_counters"] =
      "not used: hypervisors usually hide APERF/MPERF and PMU counters; cycles are estimated from calibration";
  auto warnings = freq.warnings();
  const nlohmann::json quiet = quietness_json();
  j["quietness"] = quiet;
  if (!quiet["load_average_1min"].is_null()) j["load_average_1min"] = quiet["load_average_1min"];
  if (!quiet["quiet"].get<bool>())
    warnings.push_back("not quiet: " + quiet["rule"].get<std::string>() +
                       "; other processes compete for the CPUs and will add noise");
  j["warnings"] = warnings;
  return j;
}

unsigned online_cpus() {
  const long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<unsigned>(n) : 1U;
}

namespace {
std::string load_text(double load) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", load);
  return buf;
}
bool is_quiet(double load, unsigned cpus) { return load <= static_cast<double>(cpus) - 1.0; }
}  // namespace

nlohmann::json quietness_json(std::optional<double> load_1min, unsigned cpus) {
  nlohmann::json j;
  j["cpus"] = cpus;
  if (!load_1min) {
    j["load_average_1min"] = nullptr;
    j["quiet"] = true;
    j["rule"] = "load average unreadable; counted as quiet";
    return j;
  }
  const bool quiet = is_quiet(*load_1min, cpus);
  j["load_average_1min"] = *load_1min;
  j["quiet"] = quiet;
  j["rule"] = "load average " + load_text(*load_1min) + (quiet ? " <= " : " > ") + std::to_string(cpus) +
              " CPUs - 1";
  return j;
}

nlohmann::json quietness_json() { return quietness_json(load_average_1min(), online_cpus()); }

bool wait_for_quiet(double seconds, std::ostream& log) {
  return wait_for_quiet(seconds, log, [] { return load_average_1min(); }, online_cpus(), std::chrono::seconds(1));
}

bool wait_for_quiet(double seconds, std::ostream& log, const std::function<std::optional<double>()>& load_1min,
                    unsigned cpus, std::chrono::milliseconds poll) {
  using clock = std::chrono::steady_clock;
  const auto deadline = clock::now() + std::chrono::duration_cast<clock::duration>(
                                           std::chrono::duration<double>(std::isfinite(seconds) ? seconds : 0.0));
  bool said = false;
  for (;;) {
    const std::optional<double> load = load_1min();
    if (!load || is_quiet(*load, cpus)) {
      if (said) log << "machine quiet: load average " << (load ? load_text(*load) : "unknown") << "\n";
      return true;
    }
    if (clock::now() + poll > deadline) {
      log << "machine not quiet after " << seconds << " s: load average " << load_text(*load) << " > " << cpus
          << " CPUs - 1\n";
      return false;
    }
    if (!said) {
      log << "waiting up to " << seconds << " s for the load average (" << load_text(*load) << ") to fall to "
          << cpus - 1 << " or less\n";
      said = true;
    }
    std::this_thread::sleep_for(poll);
  }
}

int cmd_env(bool as_json) {
  Topology topo;
  FrequencyControl freq;
  freq.inspect(topo.allowed_pus());  // inspect only: `env` never changes anything
  nlohmann::json j = environment_json(topo, freq);
  j["build"] = build_info();
  if (as_json) {
    std::cout << j.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << "host: " << j["host"].get<std::string>() << "\n";
  std::cout << "topology: " << topo.summary_text() << "\n";
  const auto& f = j["frequency_control"];
  std::cout << "frequency control: " << f["state"].get<std::string>() << "\n";
  if (f.contains("why")) std::cout << "  " << f["why"].get<std::string>() << "\n";
  if (f.contains("governors_found")) std::cout << "  governors: " << f["governors_found"].dump() << "\n";
  if (f.contains("turbo_on_before")) std::cout << "  turbo on: " << (f["turbo_on_before"].get<bool>() ? "yes" : "no") << "\n";
  for (const auto& n : f["not_changed"]) std::cout << "  cannot change: " << n.get<std::string>() << "\n";
  std::cout << "calibration (effective GHz per PU):";
  std::vector<CpuSpeed> speeds;
  for (const auto& [cpu, ghz] : j["calibration_ghz"].items()) {
    char buf[64];
    std::snprintf(buf, sizeof buf, " cpu%s %.3f", cpu.c_str(), ghz.get<double>());
    std::cout << buf;
    speeds.push_back({std::stoi(cpu), ghz.get<double>()});
  }
  std::cout << "\n";
  if (const std::string uneven = uneven_cpu_speeds(speeds, "runs"); !uneven.empty())
    std::cout << "warning: " << uneven << ": a multi-thread figure carries the slow CPU (rcbench run marks such "
              << "repetitions disturbed and runs them again)\n";
  const auto& q = j["quietness"];
  std::cout << "quiet: " << (q["quiet"].get<bool>() ? "yes" : "no") << " (" << q["rule"].get<std::string>() << ")\n";
  std::cout << "build: " << j["build"]["compiler"].get<std::string>() << ", " << j["build"]["build_type"].get<std::string>()
            << ", " << j["build"]["allocator"].get<std::string>()
            << (j["build"].value("allocator_policy", nlohmann::json::object()).value("allow_decommit", true)
                    ? ""
                    : " (decommit off)")
            << ", commit "
            << j["build"]["git_commit"].get<std::string>().substr(0, 12) << "\n";
  for (const auto& w : j["warnings"]) std::cout << "warning: " << w.get<std::string>() << "\n";
  return kExitOk;
}

}  // namespace rcb
