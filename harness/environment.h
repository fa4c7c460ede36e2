#pragma once
// `rcbench env` and the block every results file carries: the topology, the
// frequency-control state, a calibration figure, and warnings a user should
// act on. One function builds it, so the two can never disagree.

#include <nlohmann/json.hpp>

#include "harness/engine/frequency.h"
#include "harness/engine/topology.h"

namespace rcb {

[[nodiscard]] nlohmann::json environment_json(const Topology& topo, const FrequencyControl& freq);

}  // namespace rcb
