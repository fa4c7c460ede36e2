#include "harness/summary_format.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "harness/compare.h"

namespace rcb {

namespace {

using nlohmann::json;

// One benchmark, as the summary needs it; absent facts stay empty.
struct Row {
  std::string name, strategy, workload;
  std::optional<std::int64_t> threads, repetitions, disturbed;
  std::optional<double> median, ci_low, ci_high, half_width, cycles, items_per_second;
  std::optional<bool> precision_reached;
  std::string not_reached_why;
  bool incomplete = false, unstable = false, failed = false;
  std::string error;
  std::map<std::string, double> figures;  // the workload's own, median over repetitions
};

std::optional<double> number(const json& j, const char* key) {
  if (!j.is_object()) return std::nullopt;
  const auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}
std::optional<std::int64_t> integer(const json& j, const char* key) {
  if (const auto v = number(j, key)) return static_cast<std::int64_t>(*v);
  return std::nullopt;
}
bool flag(const json& j, const char* key) {
  if (!j.is_object()) return false;
  const auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}
std::string text(const json& j, const char* key) {
  if (!j.is_object()) return {};
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::optional<double> median_of(std::vector<double> v) {
  if (v.empty()) return std::nullopt;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::vector<Row> rows_of(const json& results) {
  struct Acc {
    Row row;
    json summary, median_entry;
    std::vector<double> ns, cyc, ips;
    std::map<std::string, std::vector<double>> figures;
    std::int64_t iterations = 0, disturbed = 0;
  };
  std::vector<Acc> accs;
  std::map<std::string, std::size_t> index;
  const auto benchmarks = results.find("benchmarks");
  if (benchmarks == results.end() || !benchmarks->is_array()) return {};
  for (const json& b : *benchmarks) {
    std::string name = text(b, "run_name");
    if (name.empty()) name = text(b, "name");
    auto [it, fresh] = index.emplace(name, accs.size());
    if (fresh) accs.emplace_back().row.name = name;
    Acc& a = accs[it->second];
    const json& rc = b.contains("rcbench") ? b["rcbench"] : json();
    if (a.row.strategy.empty()) a.row.strategy = text(rc, "strategy");
    if (a.row.workload.empty()) a.row.workload = text(rc, "workload");
    if (!a.row.threads) a.row.threads = integer(rc, "threads");
    if (!a.row.threads) a.row.threads = integer(b, "threads");
    if (flag(b, "error_occurred")) {
      a.row.failed = true;
      if (a.row.error.empty()) a.row.error = text(b, "error_message");
    }
    const bool is_median = text(b, "run_type") == "aggregate" && text(b, "aggregate_name") == "median";
    if (rc.is_object() && rc.contains("summary") && rc["summary"].is_object() && (is_median || a.summary.is_null()))
      a.summary = rc["summary"];
    if (is_median) a.median_entry = b;
    if (text(b, "run_type") == "iteration") {
      ++a.iterations;
      if (rc.is_object() && flag(rc.value("repetition", json()), "disturbed")) ++a.disturbed;
      // The medians read the repetitions the run's statistics read, no others.
      if (!in_statistics(b)) continue;
      if (const auto v = number(b, "ns_per_item")) a.ns.push_back(*v);
      if (const auto v = number(b, "cycles_per_item")) a.cyc.push_back(*v);
      if (const auto v = number(b, "items_per_second")) a.ips.push_back(*v);
      if (rc.is_object() && rc.contains("workload_figures") && rc["workload_figures"].is_object())
        for (const auto& [name, v] : rc["workload_figures"].items())
          if (v.is_number()) a.figures[name].push_back(v.get<double>());
    }
  }
  std::vector<Row> out;
  for (Acc& a : accs) {
    Row& r = a.row;
    const json& s = a.summary;
    const json& m = a.median_entry;
    r.median = number(s, "median_ns_per_item");
    if (!r.median) r.median = number(m, "ns_per_item");
    if (!r.median) r.median = median_of(a.ns);
    r.ci_low = number(s, "ns_per_item_ci95_low");
    if (!r.ci_low) r.ci_low = number(m, "ns_per_item_ci95_low");
    r.ci_high = number(s, "ns_per_item_ci95_high");
    if (!r.ci_high) r.ci_high = number(m, "ns_per_item_ci95_high");
    r.half_width = number(s, "ci_half_width");
    if (!r.half_width && r.ci_low && r.ci_high && r.median && *r.median > 0)
      r.half_width = (*r.ci_high - *r.ci_low) / 2 / *r.median;
    r.cycles = number(m, "cycles_per_item");
    if (!r.cycles) r.cycles = median_of(a.cyc);
    r.items_per_second = number(m, "items_per_second");
    if (!r.items_per_second) r.items_per_second = median_of(a.ips);
    if (!r.items_per_second && r.median && *r.median > 0) r.items_per_second = 1e9 / *r.median;
    r.repetitions = integer(s, "repetitions");
    if (!r.repetitions) r.repetitions = a.iterations;
    r.disturbed = integer(s, "disturbed_repetitions");
    if (!r.disturbed) r.disturbed = a.disturbed;
    if (s.is_object() && s.contains("precision_reached") && s["precision_reached"].is_boolean())
      r.precision_reached = s["precision_reached"].get<bool>();
    r.not_reached_why = text(s, "not_reached_why");
    r.incomplete = flag(s, "incomplete");
    r.unstable = flag(s, "unstable");
    for (const auto& [name, values] : a.figures) r.figures[name] = *median_of(values);
    out.push_back(std::move(r));
  }
  return out;
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}
std::string si(double v) {  // 81300000 -> "81.3M"
  const char* units[] = {"", "k", "M", "G", "T"};
  int u = 0;
  while (v >= 1000 && u < 4) v /= 1000, ++u;
  return fmt("%.3g", v) + units[u];
}

// Terminal columns of UTF-8 text: bytes that do not continue a character.
std::size_t columns(const std::string& s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char ch) { return (static_cast<unsigned char>(ch) & 0xC0) != 0x80; }));
}

// --format console
void print_console(std::ostream& os, const std::vector<Row>& rows) {
  std::vector<std::array<std::string, 6>> cells;
  for (const Row& r : rows) {
    std::array<std::string, 6> c;
    c[0] = r.name;
    std::vector<std::string> flags;
    if (r.failed) {
      flags.push_back("FAILED: " + (r.error.empty() ? std::string("no reason given") : r.error));
    } else {
      // The ± column stays aligned when a benchmark has too few samples for an interval.
      if (r.median) c[1] = fmt("%.3f ns/item", *r.median) + (r.half_width ? fmt(" ±%4.1f%%", *r.half_width * 100) : " ±  n/a");
      if (r.cycles) c[2] = fmt("%.2f cyc/item", *r.cycles);
      if (r.items_per_second) c[3] = si(*r.items_per_second) + " items/s";
      if (r.repetitions) c[4] = std::to_string(*r.repetitions) + " reps";
      if (r.disturbed && *r.disturbed > 0) flags.push_back("disturbed " + std::to_string(*r.disturbed));
      if (!r.not_reached_why.empty()) flags.push_back("not reached: " + r.not_reached_why);
      if (r.unstable) flags.push_back("unstable");
      if (r.incomplete) flags.push_back("INCOMPLETE");
    }
    // The workload's figures, as exact as they were written.
    for (const auto& [name, v] : r.figures) c[5] += (c[5].empty() ? "" : " ") + name + "=" + fmt("%.10g", v);
    for (const auto& f : flags) c[5] += (c[5].empty() ? "" : ", ") + f;
    cells.push_back(std::move(c));
  }
  std::array<std::size_t, 6> width{};
  for (const auto& c : cells)
    for (std::size_t i = 0; i < c.size(); ++i) width[i] = std::max(width[i], columns(c[i]));
  for (const auto& c : cells) {
    std::string line = c[0] + std::string(width[0] - columns(c[0]), ' ');
    for (std::size_t i = 1; i < 5; ++i)
      if (width[i] > 0)  // skip a column no benchmark has (no cycles on this machine)
        line += "  " + std::string(width[i] - columns(c[i]), ' ') + c[i];  // numbers right-aligned
    if (!c[5].empty()) line += "  " + c[5];
    os << line << "\n";
  }
}

// The csv and md columns, as text; "" for an absent fact.
std::vector<std::string> table_cells(const Row& r) {
  const auto num = [](const std::optional<double>& v) { return v ? fmt("%.10g", *v) : std::string(); };
  const auto integer_text = [](const std::optional<std::int64_t>& v) { return v ? std::to_string(*v) : std::string(); };
  return {r.name,
          r.strategy,
          r.workload,
          integer_text(r.threads),
          num(r.median),
          num(r.ci_low),
          num(r.ci_high),
          integer_text(r.repetitions),
          integer_text(r.disturbed),
          r.precision_reached ? (*r.precision_reached ? "true" : "false") : "",
          r.failed ? "failed" : r.not_reached_why,
          r.incomplete ? "true" : "false"};
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char ch : s) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return q + "\"";
}

void print_csv(std::ostream& os, const std::vector<Row>& rows) {
  for (std::size_t i = 0; i < kSummaryCsvColumns.size(); ++i) os << (i ? "," : "") << kSummaryCsvColumns[i];
  os << "\n";
  for (const Row& r : rows) {
    const auto c = table_cells(r);
    for (std::size_t i = 0; i < c.size(); ++i) os << (i ? "," : "") << csv_field(c[i]);
    os << "\n";
  }
}

void print_md(std::ostream& os, const std::vector<Row>& rows) {
  os << "|";
  for (const auto& col : kSummaryCsvColumns) os << " " << col << " |";
  os << "\n|";
  for (std::size_t i = 0; i < kSummaryCsvColumns.size(); ++i) os << (i >= 3 && i <= 8 ? "---:|" : "---|");
  os << "\n";
  for (const Row& r : rows) {
    os << "|";
    for (const auto& cell : table_cells(r)) {
      std::string escaped;
      for (char ch : cell) escaped += ch == '|' ? std::string("\\|") : std::string(1, ch);
      os << " " << escaped << " |";
    }
    os << "\n";
  }
}

}  // namespace

bool is_summary_format(std::string_view format) {
  return std::find(kSummaryFormats.begin(), kSummaryFormats.end(), format) != kSummaryFormats.end();
}

void print_summary(std::ostream& os, const nlohmann::json& results, std::string_view format) {
  if (format == "json") {
    os << results.dump(2) << "\n";
    return;
  }
  if (!is_summary_format(format))
    throw std::invalid_argument("bad --format '" + std::string(format) + "' (valid: console, json, csv, md)");
  const auto rows = rows_of(results);  // this file's Row, not compare.h's
  if (format == "console") print_console(os, rows);
  else if (format == "csv") print_csv(os, rows);
  else print_md(os, rows);
}

}  // namespace rcb
