#pragma once
// Reading what callgrind wrote: the total instruction count (event `Ir`) of
// one output file. Callgrind's format puts the event names on an `events:`
// line and the grand totals, in the same order, on a `totals:` line (older
// versions: `summary:`).

#include <cstdint>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace rcb {

[[nodiscard]] inline std::optional<std::uint64_t> callgrind_total_ir(std::istream& in) {
  std::vector<std::string> events;
  std::optional<std::uint64_t> summary, totals;
  const auto ir_of = [&](const std::string& rest) -> std::optional<std::uint64_t> {
    std::istringstream fields(rest);
    std::string v;
    for (std::size_t i = 0; fields >> v; ++i)
      if (i < events.size() && events[i] == "Ir") {
        try {
          return std::stoull(v);
        } catch (const std::exception&) {
          return std::nullopt;
        }
      }
    return std::nullopt;
  };
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("events:", 0) == 0) {
      events.clear();
      std::istringstream names(line.substr(7));
      for (std::string e; names >> e;) events.push_back(e);
    } else if (line.rfind("totals:", 0) == 0) {
      totals = ir_of(line.substr(7));
    } else if (line.rfind("summary:", 0) == 0) {
      summary = ir_of(line.substr(8));
    }
  }
  return totals ? totals : summary;
}

[[nodiscard]] inline std::optional<std::uint64_t> callgrind_total_ir(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  return callgrind_total_ir(in);
}

}  // namespace rcb
