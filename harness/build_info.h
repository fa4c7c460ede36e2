#pragma once
// How this binary was built and from which commit: recorded in every
// results file so a number can be traced back to the code that made it.

#include <string>

#include <nlohmann/json.hpp>

namespace rcb {

[[nodiscard]] nlohmann::json build_info();
// `rcbench --version`: "rcbench 0.3.0, commit 0123abcd4567 (modified), gcc 12.2.0, Release".
[[nodiscard]] std::string version_line();

}  // namespace rcb
