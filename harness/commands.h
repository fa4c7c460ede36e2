#pragma once
// The rcbench subcommands. main.cpp parses the command line (CLI11) and
// calls these; each returns the process exit status.
//
// Exit statuses, for scripts: 0 success; 1 a benchmark failed verification
// (checksum or leak) or, for compare, a regression; 2 bad input (unknown
// name, bad number, unwritable file); 128 + the signal when a signal ended the
// run (130 SIGINT, 143 SIGTERM, 129 SIGHUP), after writing what finished.

#include <stdexcept>
#include <string>
#include <vector>

#include "harness/compare.h"
#include "harness/session.h"

namespace rcb {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitInterrupted = 130;  // 128 + SIGINT
inline constexpr int kExitHangup = 129;       // 128 + SIGHUP
inline constexpr int kExitTerminated = 143;   // 128 + SIGTERM

// Bad input: reported as one line, exit status 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

[[nodiscard]] std::vector<std::string> strategy_names();
[[nodiscard]] std::vector<std::string> workload_names();

// `rcbench list`: strategies and workloads, or with --suites the named suites.
int cmd_list(bool suites_only);
int cmd_env(bool as_json);
// `rcbench probe`: the hardware floor (harness/engine/probe.h), pinned by `placement`.
int cmd_probe(const std::string& placement, bool as_json);
int cmd_run(const RunOptions& opt);
// `rcbench run --metric instructions`: each single-threaded cell under
// callgrind (harness/instructions.cpp).
int cmd_run_instructions(const RunOptions& opt);
// The hidden `rcbench _instructions` that cmd_run_instructions runs under
// valgrind: one cell, one warm-up iteration, `iterations` counted ones.
int cmd_count_instructions(const std::string& strategy, const std::string& workload, Size size, int iterations);
int cmd_compare(const std::string& base, const std::string& next, const CompareOptions& opt);

}  // namespace rcb
