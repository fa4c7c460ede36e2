#include "harness/gb_json.h"

#include <regex>

namespace rcb {

nlohmann::json GbJson::document() const {
  // Google Benchmark 1.7.1 prints a NaN counter (the cv of a counter that
  // is always 0) as a bare NaN, which is not JSON; it becomes null.
  static const std::regex not_a_number(R"(:\s*-?(nan|NaN|inf|Infinity)\b)");
  const std::string text = std::regex_replace(text_.str(), not_a_number, ": null");
  return nlohmann::json::parse(text + "\n  ]\n}\n");
}

std::string strip_manual_time(std::string name) {
  constexpr std::string_view tag = "/manual_time";
  for (auto pos = name.find(tag); pos != std::string::npos; pos = name.find(tag)) name.erase(pos, tag.size());
  return name;
}

}  // namespace rcb
