#pragma once
// Turning the command line's names into the cells to run, shared by both
// metrics of `rcbench run`, so both accept and reject the same input.

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "harness/commands.h"
#include "harness/suites.h"

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

// What a run selects, before thread counts and --filter.
struct Selection {
  std::string suite;  // a suite's name, or "custom": exactly the named strategies and workloads
  std::vector<std::string> strategies, workloads;
};

// --suite NAME: the suite's cells, which --strategy and --workload narrow
// (naming one outside the suite is an error, not a silent empty run).
// Without --suite, named strategies or workloads select exactly those
// ("custom"), and naming neither runs `default_suite`.
[[nodiscard]] inline Selection select_cells(const RunOptions& opt, std::string_view default_suite,
                                            const std::vector<std::string>& all_strategies,
                                            const std::vector<std::string>& all_workloads) {
  Selection sel;
  if (opt.suite.empty() && (!opt.strategies.empty() || !opt.workloads.empty())) {
    sel.suite = "custom";
    sel.strategies = resolve(opt.strategies, all_strategies, "strategy");
    sel.workloads = resolve(opt.workloads, all_workloads, "workload");
    return sel;
  }
  const std::string name = opt.suite.empty() ? std::string(default_suite) : opt.suite;
  const Suite* suite = find_suite(name);
  if (!suite) {
    std::vector<std::string> names;
    for (const Suite& s : kSuites) names.emplace_back(s.name);
    throw UsageError("unknown suite '" + name + "' (valid: " + join(names) + "; see rcbench list --suites)");
  }
  sel.suite = name;
  const auto members = [](std::span<const std::string_view> listed, const std::vector<std::string>& all) {
    return listed.empty() ? all : std::vector<std::string>(listed.begin(), listed.end());
  };
  const auto narrow = [&](const std::vector<std::string>& asked, const std::vector<std::string>& in_suite,
                          const std::vector<std::string>& all, const char* what) {
    const auto named = resolve(asked, all, what);  // unknown names fail as ever
    if (asked.empty()) return in_suite;
    for (const auto& n : named)
      if (!contains(in_suite, n))
        throw UsageError(std::string(what) + " '" + n + "' is not in suite '" + name + "' (its " + what +
                         " list: " + join(in_suite) + "); leave out --suite to name any");
    return named;
  };
  sel.strategies = narrow(opt.strategies, members(suite->strategies, all_strategies), all_strategies, "strategy");
  sel.workloads = narrow(opt.workloads, members(suite->workloads, all_workloads), all_workloads, "workload");
  return sel;
}

// The name contract of every results file: <workload>/<strategy>/threads:<n>.
[[nodiscard]] inline std::string cell_name(std::string_view workload, std::string_view strategy, std::uint32_t threads) {
  return std::string(workload) + "/" + std::string(strategy) + "/threads:" + std::to_string(threads);
}

}  // namespace rcb
