#pragma once
// `rcbench history`: results files across commits and machines, in one
// SQLite file.
//
//   rcbench history add FILE... [--db DB] [--machine NAME]
//   rcbench history show CELL_REGEX [--machine M] [--format md|csv|json]
//   rcbench history diff REV1 REV2 [--machine M] [--format md|csv|json]
//
// What a row is keyed on, and why:
//   machine  a fingerprint of the CPU model and topology (packages, cores,
//            PUs, NUMA nodes) as the file's context.rcbench.topology records
//            them: figures move with the processor, so a series never mixes
//            two kinds of machine. The probe's floor figure (plain_pair_ns)
//            is kept with each run, not hashed into the key: it is measured
//            anew by every run and moves by a few percent on one machine,
//            which would split one machine into many; diff notes a floor
//            that moved by more than 10% between its two sides. Files without a
//            topology (instruction files before it was recorded) fall back
//            to Google Benchmark's num_cpus, mhz_per_cpu and caches.
//   run      one results file, unique by a hash of its JSON text: adding a
//            file twice (or its .json.gz) changes nothing.
//   cell     the samples `rcbench compare` reads from that file, exactly
//            (parse_results), with their median, interval, clean repetition
//            count and the median aggregate's counters.
// `diff` rebuilds each side from those samples and judges it with compare()
// itself: there is one rule for "regression", in compare.cpp.
//
// When not to use it: many writers at once (a CI matrix appending in
// parallel). SQLite takes one writer at a time; docs/regressions.md says how
// a merge step feeds one file, and what would replace SQLite.
//
// Exit statuses as compare's: 0 fine, 1 a regression or failure (diff),
// 2 bad input (missing file, unknown schema, unknown revision, empty db).

#include <optional>
#include <string>
#include <vector>

#include "harness/compare.h"

namespace rcb {

// The database layout this build writes and reads (meta.schema).
inline constexpr const char* kHistorySchema = "rcbench-history/1";

struct HistoryOptions {
  std::string db = "results/history.sqlite";
  std::string machine;           // add: the human name; show/diff: a name or fingerprint prefix
  std::string commit;            // add: the commit, where a file records none (or to override it)
  std::string format = "md";     // md, csv or json
  CompareOptions compare;        // diff: alpha and threshold, as compare takes them
};

// What `add` did, for its message and for tests.
struct AddSummary {
  int added = 0, already = 0;
  long cells = 0;
};

// Records every file in one transaction, or none: any file refused (missing,
// not a results file, an unknown schema) throws UsageError before anything is
// written.
[[nodiscard]] AddSummary history_add(const std::vector<std::string>& files, const HistoryOptions& opt);

// Rows in the store, for tests and for `add`'s message.
struct HistoryCounts {
  long machines = 0, runs = 0, cells = 0;
};
[[nodiscard]] HistoryCounts history_counts(const std::string& db);

// `diff` as its --format json prints it ("rcbench-history-diff/1"): per
// machine, compare's own JSON of the comparison. Throws UsageError for an
// unknown or ambiguous revision, an empty store, or no machine at both.
[[nodiscard]] nlohmann::json history_diff(const std::string& rev1, const std::string& rev2, const HistoryOptions& opt);

int cmd_history_add(const std::vector<std::string>& files, const HistoryOptions& opt);
int cmd_history_show(const std::string& cell_regex, const HistoryOptions& opt);
int cmd_history_diff(const std::string& rev1, const std::string& rev2, const HistoryOptions& opt);

// The text of a results file, plain or gzip-compressed (by content, not by
// name). Throws UsageError naming `path` when it cannot be read.
[[nodiscard]] std::string read_results_text(const std::string& path);

// A 64-bit FNV-1a hash as 16 hex digits: a content key, not a security one.
[[nodiscard]] std::string content_hash(const std::string& text);

}  // namespace rcb
