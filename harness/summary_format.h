#pragma once
// What the terminal shows when a run ends (`run --format`), read back from
// the results document alone, so a summary printed later from a saved file
// is the same as the one printed at the end of the run.
//
//   console  one aligned line per benchmark:
//            name  median ns/item ±CI half-width %  cyc/item  items/s  reps  flags
//            (the workload's own figures first, as name=value: fork_cow's
//            KiB dirtied, blocked_owner's peak retention; flags: "disturbed
//            N", "not reached: budget", "INCOMPLETE", "FAILED: why")
//   json     the document itself
//   csv      a header and one row per benchmark (kSummaryCsvColumns)
//   md       a Markdown table with the csv's columns
//
// A benchmark is every entry with one run_name; its figures come from the
// `rcbench.summary` its entries carry, falling back to the median aggregate
// and then to the iteration entries for files written before the summary.

#include <array>
#include <iosfwd>
#include <string_view>

#include <nlohmann/json.hpp>

namespace rcb {

inline constexpr std::array<std::string_view, 4> kSummaryFormats{"console", "json", "csv", "md"};
[[nodiscard]] bool is_summary_format(std::string_view format);

inline constexpr std::array<std::string_view, 12> kSummaryCsvColumns{
    "name",         "strategy",           "workload",           "threads",
    "median_ns_per_item", "ci95_low",     "ci95_high",          "repetitions",
    "disturbed_repetitions", "precision_reached", "not_reached_why", "incomplete"};

// Throws std::invalid_argument for a format not in kSummaryFormats.
void print_summary(std::ostream& os, const nlohmann::json& results, std::string_view format);

}  // namespace rcb
