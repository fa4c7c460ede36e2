#pragma once
// How this binary was built and from which commit: recorded in every
// results file so a number can be traced back to the code that made it.

#include <nlohmann/json.hpp>

namespace rcb {

[[nodiscard]] nlohmann::json build_info();

}  // namespace rcb
