#pragma once
// Turning the command line's names into the cells to run, shared by both
// metrics of `rcbench run`, so both accept and reject the same input.

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "harness/commands.h"

namespace rcb {

[[nodiscard]] inline std::string join(const std::vector<std::string>& v, const char* sep = ", ") {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

[[nodiscard]] inline bool contains(const std::vector<std::string>& v, std::string_view x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// Every selected name must exist; an empty selection means all of them.
[[nodiscard]] inline std::vector<std::string> resolve(const std::vector<std::string>& asked,
                                                      const std::vector<std::string>& valid, const char* what) {
  if (asked.empty()) return valid;
  std::vector<std::string> out;
  for (const auto& a : asked) {
    if (!contains(valid, a)) throw UsageError(std::string("unknown ") + what + " '" + a + "' (valid: " + join(valid) + ")");
    if (!contains(out, a)) out.push_back(a);
  }
  return out;
}

// The name contract of every results file: <workload>/<strategy>/threads:<n>.
[[nodiscard]] inline std::string cell_name(std::string_view workload, std::string_view strategy, std::uint32_t threads) {
  return std::string(workload) + "/" + std::string(strategy) + "/threads:" + std::to_string(threads);
}

}  // namespace rcb
