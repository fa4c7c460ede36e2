#include "harness/compare.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "harness/commands.h"
#include "harness/selection.h"
#include "harness/engine/stats.h"

namespace rcb {

namespace {

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// Enough digits to see a 1% change at any magnitude.
std::string fmt_value(double v) {
  const double a = std::abs(v);
  if (a >= 1000) return fmt("%.0f", v);
  if (a >= 10) return fmt("%.2f", v);
  return fmt("%.3f", v);
}

double ns_per_unit(const std::string& unit) {
  if (unit == "ns") return 1;
  if (unit == "us") return 1e3;
  if (unit == "ms") return 1e6;
  if (unit == "s") return 1e9;
  return 0;
}

const char* per_item_counter(const std::string& metric) {
  return metric == "instructions" ? "instructions_per_item" : "ns_per_item";
}

// Up to `most` names, then how many more: error messages stay one line.
std::string some(const std::vector<std::string>& names, std::size_t most = 5) {
  std::vector<std::string> head(names.begin(), names.begin() + static_cast<std::ptrdiff_t>(std::min(most, names.size())));
  std::string s = join(head);
  if (names.size() > most) s += " and " + std::to_string(names.size() - most) + " more";
  return s.empty() ? "none" : s;
}

void fill_identity(BenchmarkSamples& b, const nlohmann::json& entry) {
  if (const auto it = entry.find("rcbench"); it != entry.end() && it->is_object()) {
    b.strategy = it->value("strategy", "");
    b.workload = it->value("workload", "");
  }
  if (b.strategy.empty() || b.workload.empty()) {  // a plain Google Benchmark file: <workload>/<strategy>/...
    const auto a = b.name.find('/');
    const auto z = a == std::string::npos ? a : b.name.find('/', a + 1);
    if (z != std::string::npos) {
      b.workload = b.name.substr(0, a);
      b.strategy = b.name.substr(a + 1, z - a - 1);
    }
  }
}

}  // namespace

const char* to_string(Verdict v) {
  switch (v) {
    case Verdict::regression: return "regression";
    case Verdict::improvement: return "improvement";
    case Verdict::same: return "same";
    case Verdict::noise: return "noise";
    case Verdict::insufficient: return "insufficient data";
    case Verdict::failed: return "failed";
    case Verdict::base_failed: return "failed in BASE";
  }
  return "?";
}

ResultsFile load_results(const std::string& path, const char* role) {
  const std::string who = std::string(role) + " '" + path + "'";
  if (!std::filesystem::exists(path)) throw UsageError(who + " does not exist");
  std::ifstream in(path);
  if (!in) throw UsageError(who + " cannot be read");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::parse_error& e) {
    throw UsageError(who + " is not a results file: not JSON (" + e.what() + ")");
  }
  if (!j.is_object() || !j.contains("benchmarks") || !j["benchmarks"].is_array())
    throw UsageError(who + " is not a results file: no \"benchmarks\" array (expected the JSON that `rcbench run` writes)");

  ResultsFile f;
  f.path = path;
  const nlohmann::json context = j.value("context", nlohmann::json::object());
  f.contexts = {context};
  f.metric = "time";
  if (context.contains("rcbench") && context["rcbench"].is_object())
    f.metric = context["rcbench"].value("metric", "time");
  const std::string counter = per_item_counter(f.metric);

  std::map<std::string, std::size_t> index;
  std::map<std::string, bool> all_have_counter;
  for (const auto& e : j["benchmarks"]) {
    if (!e.is_object() || !e.contains("name")) continue;
    // Aggregates (mean, median, stddev, cv) are summaries, not samples.
    if (e.value("run_type", "iteration") != "iteration") continue;
    const std::string name = e.value("run_name", e["name"].get<std::string>());
    auto [it, fresh] = index.emplace(name, f.benchmarks.size());
    if (fresh) {
      f.benchmarks.push_back({});
      f.benchmarks.back().name = name;
      fill_identity(f.benchmarks.back(), e);
      all_have_counter[name] = true;
    }
    BenchmarkSamples& b = f.benchmarks[it->second];
    if (e.value("error_occurred", false)) {
      if (b.error.empty()) b.error = e.value("error_message", std::string("error"));
      continue;
    }
    if (!e.contains("real_time") || !e["real_time"].is_number())
      throw UsageError(who + " is not a results file: benchmark '" + name + "' has no numeric real_time");
    double per_iteration = e["real_time"].get<double>();
    if (f.metric == "time") {
      const double scale = ns_per_unit(e.value("time_unit", "ns"));
      if (scale == 0)
        throw UsageError(who + ": benchmark '" + name + "' has unknown time_unit '" + e.value("time_unit", "") + "'");
      per_iteration *= scale;
    }
    b.per_iteration.push_back(per_iteration);
    if (e.contains(counter) && e[counter].is_number())
      b.per_item.push_back(e[counter].get<double>());
    else
      all_have_counter[name] = false;
  }
  for (auto& b : f.benchmarks)
    if (!all_have_counter[b.name]) b.per_item.clear();
  return f;
}

std::size_t Comparison::count(Verdict v) const {
  return static_cast<std::size_t>(std::count_if(rows.begin(), rows.end(), [v](const Row& r) { return r.verdict == v; }));
}

int Comparison::exit_status() const {
  return count(Verdict::regression) + count(Verdict::failed) > 0 ? kExitFailed : kExitOk;
}

namespace {

bool all_equal(const std::vector<double>& v) {
  return std::all_of(v.begin(), v.end(), [&](double x) { return x == v.front(); });
}

Row judge(const BenchmarkSamples& a, const BenchmarkSamples& b, const std::string& metric, double alpha,
          double threshold) {
  Row r;
  r.name = a.name;
  r.strategy = b.strategy.empty() ? a.strategy : b.strategy;
  r.workload = b.workload.empty() ? a.workload : b.workload;
  const bool per_item = !a.per_item.empty() && !b.per_item.empty();
  r.unit = std::string(metric == "instructions" ? "instructions" : "ns") + (per_item ? "/item" : "/iteration");
  r.base = per_item ? a.per_item : a.per_iteration;
  r.next = per_item ? b.per_item : b.per_iteration;
  r.test = "none";

  if (!b.error.empty()) {
    r.verdict = Verdict::failed;
    r.why = "NEW's run reported: " + b.error;
    return r;
  }
  if (r.base.empty()) {
    r.verdict = Verdict::base_failed;
    r.why = a.error.empty() ? "no repetitions in BASE" : "BASE's run reported: " + a.error;
    return r;
  }
  if (r.next.empty()) {
    r.verdict = Verdict::insufficient;
    r.why = "no repetitions in NEW";
    return r;
  }
  r.base_median = median(r.base);
  r.new_median = median(r.next);
  if (r.base_median <= 0) {
    r.verdict = Verdict::insufficient;
    r.why = "BASE's median is zero";
    return r;
  }
  r.change = r.new_median / r.base_median - 1;
  const bool beyond = std::abs(r.change) > threshold;
  const Verdict moved = r.change > 0 ? Verdict::regression : Verdict::improvement;

  if (metric == "instructions" && all_equal(r.base) && all_equal(r.next)) {
    // Repeatable counts: a difference is a difference, no test needed.
    r.test = "direct";
    r.verdict = beyond ? moved : Verdict::same;
    return r;
  }
  const double floor = min_attainable_p(r.base.size(), r.next.size());
  if (floor >= alpha) {
    r.verdict = Verdict::insufficient;
    r.why = std::to_string(r.base.size()) + " vs " + std::to_string(r.next.size()) +
            " repetitions: the smallest p-value possible is " + fmt("%.3g", floor);
    return r;
  }
  const RankTest t = mann_whitney(r.base, r.next);
  r.p = t.p;
  r.test = t.exact ? "exact" : "normal";
  if (!beyond)
    r.verdict = Verdict::same;
  else
    r.verdict = t.p < alpha ? moved : Verdict::noise;
  return r;
}

// Context facts that make two runs' numbers incomparable if they differ.
void note_differences(const ResultsFile& a, const ResultsFile& b, std::vector<std::string>& notes) {
  const auto get = [](const nlohmann::json& ctx, const nlohmann::json::json_pointer& p) -> std::string {
    if (!ctx.contains(p)) return "";
    const auto& v = ctx.at(p);
    return v.is_string() ? v.get<std::string>() : v.dump();
  };
  using P = nlohmann::json::json_pointer;
  // Instruction counts follow the code (compiler, libraries, valgrind's
  // idea of the CPU), not the machine's speed, so the host only matters
  // for wall time.
  std::vector<std::pair<const char*, P>> facts{
      {"size", P("/rcbench/options/size")},
      {"compiler", P("/rcbench/build/compiler")},
      {"build type", P("/rcbench/build/build_type")},
      {"allocator", P("/rcbench/build/allocator")},
      {"counted iterations", P("/rcbench/options/iterations")},
      {"valgrind", P("/rcbench/valgrind")},
  };
  if (a.metric != "instructions") facts.emplace_back("host", P("/host_name"));
  const nlohmann::json none = nlohmann::json::object();
  const auto& ca = a.contexts.empty() ? none : a.contexts.front();
  const auto& cb = b.contexts.empty() ? none : b.contexts.front();
  for (const auto& [what, ptr] : facts) {
    const std::string x = get(ca, ptr), y = get(cb, ptr);
    if (x != y && !x.empty() && !y.empty())
      notes.push_back(std::string("BASE and NEW differ in ") + what + " (" + x + " vs " + y +
                      "): their numbers may differ for that reason alone");
  }
  if (a.metric == "instructions") return;
  // The same bar `rcbench run` warns at: other work competing for the CPUs.
  for (const auto* side : {&a, &b}) {
    std::string loads;
    for (const auto& ctx : side->contexts) {
      const P load("/rcbench/load_average_1min");
      if (ctx.contains(load) && ctx.at(load).is_number() && ctx.at(load).get<double>() > 0.5)
        loads += (loads.empty() ? "" : ", ") + fmt("%.2f", ctx.at(load).get<double>());
    }
    if (!loads.empty())
      notes.push_back(std::string(side == &a ? "BASE" : "NEW") + " started at load average " + loads +
                      ": other work was competing for the CPUs, so wall-time verdicts are less reliable");
  }
}

// Everything moving together, the untouched cells included, is more often
// the machine than the code: say so, without changing any verdict.
void note_shift(const Comparison& c, std::vector<std::string>& notes) {
  std::vector<double> changes;
  for (const auto& r : c.rows)
    if (!r.base.empty() && !r.next.empty() && r.base_median > 0) changes.push_back(r.change);
  if (changes.size() < 3) return;
  // Beyond the threshold everywhere: a real change in one strategy leaves
  // the others inside it.
  const double t = c.threshold;
  const bool all_up = std::all_of(changes.begin(), changes.end(), [t](double x) { return x > t; });
  const bool all_down = std::all_of(changes.begin(), changes.end(), [t](double x) { return x < -t; });
  const double typical = median(changes);
  if (all_up || all_down)
    notes.push_back("every benchmark moved the same way, beyond the threshold (median " + fmt("%+.1f%%", 100 * typical) +
                    "): that is more often the machine (load, frequency) than the code; rerun BASE and NEW "
                    "alternately and pool the files (see docs/regressions.md)");
}

}  // namespace

Comparison compare(const ResultsFile& base, const ResultsFile& next, const CompareOptions& opt) {
  if (base.metric != next.metric)
    throw UsageError("BASE '" + base.path + "' measures " + base.metric + " but NEW '" + next.path + "' measures " +
                     next.metric + ": compare files of the same metric");
  Comparison c;
  c.base_path = base.path;
  c.new_path = next.path;
  c.metric = base.metric;
  c.alpha = opt.alpha;
  c.threshold = opt.threshold.value_or(base.metric == "instructions" ? kInstructionsThreshold : kTimeThreshold);

  std::map<std::string, const BenchmarkSamples*> in_new;
  for (const auto& b : next.benchmarks) in_new[b.name] = &b;
  std::map<std::string, bool> in_base;
  for (const auto& a : base.benchmarks) {
    in_base[a.name] = true;
    if (const auto it = in_new.find(a.name); it != in_new.end())
      c.rows.push_back(judge(a, *it->second, c.metric, c.alpha, c.threshold));
    else
      c.removed.push_back(a.name);
  }
  for (const auto& b : next.benchmarks)
    if (!in_base.count(b.name)) c.added.push_back(b.name);

  if (c.rows.empty()) {
    std::vector<std::string> a_names, b_names;
    for (const auto& a : base.benchmarks) a_names.push_back(a.name);
    for (const auto& b : next.benchmarks) b_names.push_back(b.name);
    throw UsageError("no benchmarks in common: BASE '" + base.path + "' has " + some(a_names) + "; NEW '" +
                     next.path + "' has " + some(b_names));
  }
  note_differences(base, next, c.notes);
  if (c.metric != "instructions") note_shift(c, c.notes);
  return c;
}

std::string format_table(const Comparison& c) {
  std::ostringstream out;
  const bool instr = c.metric == "instructions";
  out << "rcbench compare: " << (instr ? "instructions (callgrind)" : "wall time") << ", median of repetitions; "
      << "regression = more than " << fmt("%.1f", 100 * c.threshold) << "% "
      << (instr ? "more instructions" : "slower")
      << (instr ? " (counts that repeat exactly are compared directly; others need " : " and ")
      << "Mann-Whitney p < " << fmt("%g", c.alpha) << (instr ? ")" : "") << "\n";
  out << "BASE " << c.base_path << "\nNEW  " << c.new_path << "\n\n";

  std::size_t w = 9;
  for (const auto& r : c.rows) w = std::max(w, r.name.size());
  char line[512];
  std::snprintf(line, sizeof line, "%-*s  %12s  %12s  %-18s  %8s  %8s  %7s  %s\n", static_cast<int>(w), "benchmark", "base",
                "new", "unit", "change", "p", "n", "verdict");
  out << line;
  for (const auto& r : c.rows) {
    const bool has_values = !r.base.empty() && !r.next.empty() && r.base_median > 0;
    const std::string p = r.p ? fmt("%.4f", *r.p) : (r.test == "direct" ? "exact" : "-");
    const std::string n = std::to_string(r.base.size()) + "/" + std::to_string(r.next.size());
    std::string verdict = to_string(r.verdict);
    if (r.verdict == Verdict::regression || r.verdict == Verdict::failed)
      std::transform(verdict.begin(), verdict.end(), verdict.begin(), [](unsigned char ch) { return std::toupper(ch); });
    std::snprintf(line, sizeof line, "%-*s  %12s  %12s  %-18s  %8s  %8s  %7s  %s\n", static_cast<int>(w), r.name.c_str(),
                  r.base.empty() ? "-" : fmt_value(r.base_median).c_str(),
                  r.next.empty() ? "-" : fmt_value(r.new_median).c_str(), r.unit.c_str(),
                  has_values ? fmt("%+.1f%%", 100 * r.change).c_str() : "-", p.c_str(), n.c_str(), verdict.c_str());
    out << line;
  }
  for (const auto& name : c.added) out << "added (only in NEW, not judged):    " << name << "\n";
  for (const auto& name : c.removed) out << "removed (only in BASE, not judged): " << name << "\n";

  out << "\n";
  for (const auto& r : c.rows) {
    if (r.verdict == Verdict::regression)
      out << "REGRESSION: strategy " << r.strategy << ", workload " << r.workload << " (" << r.name << "): "
          << fmt_value(r.base_median) << " -> " << fmt_value(r.new_median) << " " << r.unit << ", "
          << fmt("%+.1f%%", 100 * r.change) << (r.p ? ", p = " + fmt("%.4f", *r.p) : std::string(", exact counts"))
          << "\n";
    else if (r.verdict == Verdict::failed)
      out << "FAILED: " << r.name << ": " << r.why << "\n";
    else if (!r.why.empty())
      out << "note: " << r.name << ": " << to_string(r.verdict) << ": " << r.why << "\n";
  }
  if (c.count(Verdict::insufficient) > 0)
    out << "note: insufficient data never fails the comparison; at alpha " << fmt("%g", c.alpha)
        << " a rank test needs at least 4 repetitions per side (run with -r 10 for a useful answer)\n";
  if (c.count(Verdict::noise) > 0)
    out << "note: noise = a change beyond the threshold that the rank test cannot tell from the spread; "
           "rerun with more runs of each side, taken alternately (see docs/regressions.md)\n";
  for (const auto& n : c.notes) out << "note: " << n << "\n";
  out << c.rows.size() << " compared: " << c.count(Verdict::regression) << " regression(s), "
      << c.count(Verdict::improvement) << " improvement(s), " << c.count(Verdict::same) << " same, "
      << c.count(Verdict::noise) << " noise, " << c.count(Verdict::insufficient) << " insufficient data, "
      << c.count(Verdict::failed) << " failed; " << c.added.size() << " added, " << c.removed.size() << " removed\n";
  return out.str();
}

nlohmann::json to_json(const Comparison& c) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& r : c.rows) {
    nlohmann::json row{{"name", r.name},
                       {"strategy", r.strategy},
                       {"workload", r.workload},
                       {"unit", r.unit},
                       {"base", {{"n", r.base.size()}, {"median", r.base_median}, {"values", r.base}}},
                       {"new", {{"n", r.next.size()}, {"median", r.new_median}, {"values", r.next}}},
                       {"change", r.change},
                       {"p_value", r.p ? nlohmann::json(*r.p) : nlohmann::json(nullptr)},
                       {"test", r.test},
                       {"verdict", to_string(r.verdict)}};
    if (!r.why.empty()) row["why"] = r.why;
    rows.push_back(std::move(row));
  }
  nlohmann::json counts;
  for (const Verdict v : {Verdict::regression, Verdict::improvement, Verdict::same, Verdict::noise,
                          Verdict::insufficient, Verdict::failed, Verdict::base_failed})
    counts[to_string(v)] = c.count(v);
  return {{"schema", "rcbench-compare/1"},
          {"base", c.base_path},
          {"new", c.new_path},
          {"metric", c.metric},
          {"alpha", c.alpha},
          {"threshold", c.threshold},
          {"benchmarks", rows},
          {"added", c.added},
          {"removed", c.removed},
          {"counts", counts},
          {"notes", c.notes},
          {"exit_status", c.exit_status()}};
}

std::vector<ResultsFile> load_side(const std::string& paths, const char* role) {
  std::vector<ResultsFile> files;
  std::stringstream in(paths);
  for (std::string p; std::getline(in, p, ',');)
    if (!p.empty()) files.push_back(load_results(p, role));
  if (files.empty()) throw UsageError(std::string(role) + ": no results file given");
  for (const auto& f : files)
    if (f.metric != files.front().metric)
      throw UsageError(std::string(role) + " mixes metrics: '" + files.front().path + "' measures " +
                       files.front().metric + ", '" + f.path + "' " + f.metric);
  return files;
}

ResultsFile pool(const std::vector<ResultsFile>& files, bool one_value_per_file) {
  const auto collapse = [&](std::vector<double>& v) {
    if (one_value_per_file && !v.empty()) v = {median(v)};
  };
  ResultsFile side;
  side.metric = files.front().metric;
  std::map<std::string, std::size_t> index;
  for (const auto& f : files) {
    side.path += (side.path.empty() ? "" : ",") + f.path;
    side.contexts.insert(side.contexts.end(), f.contexts.begin(), f.contexts.end());
    for (BenchmarkSamples b : f.benchmarks) {
      collapse(b.per_item);
      collapse(b.per_iteration);
      auto [it, fresh] = index.emplace(b.name, side.benchmarks.size());
      if (fresh) {
        side.benchmarks.push_back(std::move(b));
        continue;
      }
      BenchmarkSamples& into = side.benchmarks[it->second];
      // The per-item counter serves only if every file had it.
      if (into.per_item.empty() || b.per_item.empty())
        into.per_item.clear();
      else
        into.per_item.insert(into.per_item.end(), b.per_item.begin(), b.per_item.end());
      into.per_iteration.insert(into.per_iteration.end(), b.per_iteration.begin(), b.per_iteration.end());
      if (into.error.empty()) into.error = b.error;
    }
  }
  return side;
}

int cmd_compare(const std::string& base_path, const std::string& new_path, const CompareOptions& opt) {
  if (!(opt.alpha > 0 && opt.alpha < 1)) throw UsageError("--alpha must lie between 0 and 1 (such as 0.05)");
  if (opt.threshold && !(*opt.threshold >= 0)) throw UsageError("--threshold must not be negative");
  const std::vector<ResultsFile> base_files = load_side(base_path, "BASE"), new_files = load_side(new_path, "NEW");
  // Several runs per side: the run is the unit (see compare.h).
  const bool per_run = base_files.size() > 1 || new_files.size() > 1;
  const ResultsFile base = pool(base_files, per_run);
  const ResultsFile next = pool(new_files, per_run);
  const Comparison c = compare(base, next, opt);
  if (opt.json)
    std::printf("%s\n", to_json(c).dump(2).c_str());
  else
    std::fputs(format_table(c).c_str(), stdout);
  return c.exit_status();
}

}  // namespace rcb
