#pragma once
// `rcbench env` and the block every results file carries: the topology, the
// frequency-control state, a calibration figure, whether the machine was
// quiet, and warnings a user should act on. One function builds it, so the
// two can never disagree.

#include <chrono>
#include <functional>
#include <iosfwd>
#include <optional>

#include <nlohmann/json.hpp>

#include "harness/engine/frequency.h"
#include "harness/engine/topology.h"

namespace rcb {

[[nodiscard]] nlohmann::json environment_json(const Topology& topo, const FrequencyControl& freq);

// Quiet: the 1-minute load average is at most cpus - 1, so at least one CPU
// is idle on average and a benchmark thread does not queue behind other
// work. {"load_average_1min": 0.4 or null, "cpus": 2, "quiet": true,
// "rule": "..."}; an unreadable load average counts as quiet (nothing known
// against it) with load_average_1min null.
[[nodiscard]] nlohmann::json quietness_json(std::optional<double> load_1min, unsigned cpus);
// The same for now: /proc/loadavg and the online CPUs.
[[nodiscard]] nlohmann::json quietness_json();
[[nodiscard]] unsigned online_cpus();

// `run --wait-quiet S`: reads the load average every second until the
// machine is quiet or `seconds` have passed, saying what it waits for on
// `log`. Returns whether the machine is quiet. seconds = 0 checks once.
bool wait_for_quiet(double seconds, std::ostream& log);
// The same with the load source, CPU count and poll interval given (tests).
bool wait_for_quiet(double seconds, std::ostream& log, const std::function<std::optional<double>()>& load_1min,
                    unsigned cpus, std::chrono::milliseconds poll);

}  // namespace rcb
