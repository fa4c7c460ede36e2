#pragma once
// `rcbench compare BASE NEW`: did anything get slower, beyond noise?
//
// Each benchmark present in both files is judged on its repetitions (the
// "iteration" entries of one run_name), never on Google Benchmark's
// aggregates, because a rank test needs the samples themselves.
//
// The value compared: the per-repetition `ns_per_item` counter when every
// repetition on both sides has it (per item, so it does not depend on the
// time unit or the iteration count Google Benchmark chose), else
// `real_time` in nanoseconds per iteration. For instruction-count files
// (context.rcbench.metric == "instructions"): the `instructions_per_item`
// counter, else `instructions_per_iteration`; never real_time, which holds
// the wall time under valgrind. (Files written before that change, with
// time_unit "s" and no instructions_per_iteration, held instructions per
// iteration in real_time; they are still read that way.)
//
// The verdict, with change = median(NEW) / median(BASE) - 1:
//   regression   change > +threshold and Mann-Whitney p < alpha
//   improvement  change < -threshold and p < alpha
//   same         |change| <= threshold
//   noise        |change| > threshold but p >= alpha: rerun with more repetitions
//   insufficient data  too few repetitions for any outcome to reach alpha
//                (smallest attainable p = 2 / C(n1 + n2, n1): at alpha 0.05 that
//                takes 4 per side, or 3 against 5); never fails
//   failed       NEW's run of it reported an error (checksum, leak): fails
// Where both sides carry a distribution-free 95% interval of the median
// (ns_per_item_ci95_low/high on the median aggregate, one file per side),
// the evidence must also agree with it: a change beyond the threshold is a
// regression or improvement only if the two intervals do not overlap (and,
// where the rank test can reach alpha, p < alpha too); overlapping
// intervals make it noise. With too few repetitions for the rank test,
// disjoint intervals alone decide. docs/regressions.md says why.
// Instruction counts repeat exactly single-threaded, so when every
// repetition on each side has the same count (one repetition each, usually)
// they are compared directly on the threshold alone, no rank test.
// Benchmarks in only one file are listed as added or removed, not errors.
//
// BASE and NEW may each be several comma-separated files, runs taken
// alternately (A B A B ...), so that drift in the machine's load falls on
// both sides alike. Then each file counts once, by its median, in the test:
// repetitions inside one run share that run's conditions (load, frequency,
// placement) and are not independent samples, which makes a rank test over
// them see a shift between two runs as significant however it arose.
//
// Exit status: 0 nothing regressed, 1 a regression or a failure, 2 bad input
// (a missing, unreadable or directory path on either side, in any of its
// comma-separated files; not a results file; different metrics or
// scalings; nothing in common; an unknown --format).

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace rcb {

struct CompareOptions {
  double alpha = 0.05;
  // The per-item figure a wall-time file is judged on: ns_per_item, or
  // cycles_per_item (ns per item times the calibrated clock of the CPU
  // around each repetition; the run's canary), which held up better across
  // runs on a VM whose speed moves (docs/measurement.md, section 4). Its
  // interval is computed from the repetitions, as the run computes ns's.
  std::string figure = "ns_per_item";
  std::optional<double> threshold;  // a fraction (0.05 = 5%); unset: the metric's default
  std::string format = "console";   // "console" (the table), "json" (for scripts), "md" (for a pull request)
};

// Defaults, each with its reason.
// 5% for wall time: below that, a shared 2-core VM's drift between two runs
// minutes apart is as large as the effect, whatever the rank test says.
// 1% for instructions: counts repeat exactly, so 1% is a real change in
// per-operation work (one extra atomic per 20 increfs moves atomic's count by more).
inline constexpr double kTimeThreshold = 0.05;
inline constexpr double kInstructionsThreshold = 0.01;

// A 95% confidence interval of a median, in the per-item unit.
struct Interval {
  double low = 0, high = 0;
  [[nodiscard]] bool overlaps(const Interval& o) const { return low <= o.high && o.low <= high; }
};

// One benchmark's repetitions, as read from a results file.
struct BenchmarkSamples {
  std::string name;
  std::string strategy, workload;  // from the rcbench block, or from an rcbench-shaped name; else empty
  std::vector<double> per_item;     // the per-item counter; empty unless every repetition has it
  std::vector<double> per_iteration;  // ns per iteration, or instructions per iteration
  std::string error;                // set when a repetition failed
  // The run's own interval of median(per_item), from the median aggregate;
  // absent in files without one, and after pooling several files.
  std::optional<Interval> ci95;
  std::size_t files = 1;         // how many results files these samples came from
  std::size_t repetitions = 0;  // repetitions read, over all those files
  // Repetitions the run itself left out of its statistics (disturbed ones,
  // "in_statistics": false); never read as samples.
  std::size_t left_out = 0;
  bool per_run = false;         // each value is one file's median (pooled sides), not a repetition
};

struct ResultsFile {
  std::string path;     // several, comma-separated, when a side pools files
  std::string metric;  // "time" or "instructions"
  // "weak" or "strong" (context.rcbench.scaling; files without it are weak):
  // ns_per_item is per-thread time per item under weak scaling, wall time per
  // item of a fixed total under strong, so the two are never compared.
  std::string scaling;
  std::string unit = "ns";  // of the per-item figure: ns, cycles or instructions
  // A figure asked for by name (cycles_per_item) has no stand-in: a cell
  // some repetition of which lacks it is judged insufficient, never on ns
  // per iteration, which would be another unit under the same heading.
  bool figure_required = false;
  std::vector<nlohmann::json> contexts;  // one per file read
  std::vector<BenchmarkSamples> benchmarks;  // in file order
};

// Whether the run counted this repetition entry in its own statistics:
// rcbench marks each one ("rcbench.repetition.in_statistics"); other tools'
// files have no mark, and every repetition counts. Every consumer reads the
// same samples through this.
[[nodiscard]] bool in_statistics(const nlohmann::json& entry);

// Reads a results file; `role` ("BASE" or "NEW") names it in errors.
// Throws UsageError for a missing file or one that is not a results file.
// `figure` is CompareOptions::figure (a wall-time file's per-item counter).
[[nodiscard]] ResultsFile load_results(const std::string& path, const char* role,
                                       const std::string& figure = "ns_per_item");

// The same, from a document already parsed (`rcbench history add` reads
// .json.gz files too, and keeps the document for what compare ignores).
[[nodiscard]] ResultsFile parse_results(const nlohmann::json& doc, const std::string& path, const char* role,
                                        const std::string& figure = "ns_per_item");

// One side of a comparison: one file, or several comma-separated ones
// (all of one metric).
[[nodiscard]] std::vector<ResultsFile> load_side(const std::string& paths, const char* role,
                                                 const std::string& figure = "ns_per_item");

// The files of one side as one: repetitions of a benchmark are pooled, or,
// with one_value_per_file, each file contributes only its median.
[[nodiscard]] ResultsFile pool(const std::vector<ResultsFile>& files, bool one_value_per_file);

enum class Verdict { regression, improvement, same, noise, insufficient, failed, base_failed };
[[nodiscard]] const char* to_string(Verdict v);

// What one side of a row was built from: `samples` values for the test,
// each a repetition or (files > 1) one file's median of `repetitions`.
struct SideCount {
  std::size_t samples = 0, files = 1, repetitions = 0;
  std::size_t left_out = 0;  // repetitions the run left out of its statistics
  bool per_run = false;
};

struct Row {
  std::string name, strategy, workload;
  std::string unit;  // "ns/item", "ns/iteration", "instructions/item", "instructions/iteration"
  std::vector<double> base, next;
  SideCount base_count, new_count;
  std::optional<Interval> base_ci, new_ci;  // only when both sides have one
  double base_median = 0, new_median = 0, change = 0;
  std::optional<double> p;  // absent: direct comparison or no test possible
  std::string test;         // "exact", "normal", "direct", "none"
  Verdict verdict = Verdict::same;
  std::string why;          // for failed / insufficient data / noise
  // "strategy S, workload W (name)", or the name alone when the file does
  // not say (Google Benchmark's own files).
  [[nodiscard]] std::string label() const;
};

struct Comparison {
  std::string base_path, new_path, metric;
  double alpha = 0.05, threshold = 0.05;
  std::vector<Row> rows;
  std::vector<std::string> added, removed;
  std::vector<std::string> notes;  // differences between the runs' contexts
  [[nodiscard]] std::size_t count(Verdict v) const;
  [[nodiscard]] int exit_status() const;
};

// Throws UsageError when the files measure different metrics or scalings,
// or share no benchmark.
[[nodiscard]] Comparison compare(const ResultsFile& base, const ResultsFile& next, const CompareOptions& opt);

[[nodiscard]] std::string format_table(const Comparison& c);
[[nodiscard]] nlohmann::json to_json(const Comparison& c);
// A GitHub-flavoured Markdown table and a one-line summary, to paste into a
// pull request.
[[nodiscard]] std::string format_markdown(const Comparison& c);

}  // namespace rcb
