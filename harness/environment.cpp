#include "harness/environment.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "harness/build_info.h"
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
  if (auto load = load_average_1min()) {
    j["load_average_1min"] = *load;
    if (*load > 0.5)
      warnings.push_back("load average " + std::to_string(*load).substr(0, 4) +
                         ": other processes compete for the CPUs and will add noise");
  }
  j["warnings"] = warnings;
  return j;
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
  for (const auto& [cpu, ghz] : j["calibration_ghz"].items()) {
    char buf[64];
    std::snprintf(buf, sizeof buf, " cpu%s %.3f", cpu.c_str(), ghz.get<double>());
    std::cout << buf;
  }
  std::cout << "\n";
  if (j.contains("load_average_1min")) std::cout << "load average (1 min): " << j["load_average_1min"] << "\n";
  std::cout << "build: " << j["build"]["compiler"].get<std::string>() << ", " << j["build"]["build_type"].get<std::string>()
            << ", " << j["build"]["allocator"].get<std::string>() << ", commit "
            << j["build"]["git_commit"].get<std::string>().substr(0, 12) << "\n";
  for (const auto& w : j["warnings"]) std::cout << "warning: " << w.get<std::string>() << "\n";
  return kExitOk;
}

}  // namespace rcb
