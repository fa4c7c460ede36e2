#pragma once
// Google Benchmark's own JSON writer, kept open so that rcbench can rewrite
// the results file after every benchmark: what the JSONReporter has written
// so far is closed and parsed into a document on demand. Both metrics
// (wall time through Google Benchmark's runner, instructions through
// callgrind) write through this, so every results file has one schema.

#include <benchmark/benchmark.h>

#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace rcb {

class GbJson {
 public:
  using Run = benchmark::BenchmarkReporter::Run;

  GbJson() {
    json_.SetOutputStream(&text_);
    json_.SetErrorStream(&errors_);
  }
  GbJson(const GbJson&) = delete;
  GbJson& operator=(const GbJson&) = delete;

  bool context(const benchmark::BenchmarkReporter::Context& ctx) { return json_.ReportContext(ctx); }
  void runs(const std::vector<Run>& runs) { json_.ReportRuns(runs); }

  // Everything reported so far as one JSON document ({"context", "benchmarks"}).
  [[nodiscard]] nlohmann::json document() const;

 private:
  benchmark::JSONReporter json_;
  std::ostringstream text_;
  std::ostringstream errors_;
};

// Google Benchmark appends "/manual_time" to the names of manually timed
// benchmarks ("X/manual_time_median" for aggregates); rcbench's names are
// <workload>/<strategy>/threads:<n>.
[[nodiscard]] std::string strip_manual_time(std::string name);

}  // namespace rcb
