// rcbench: the command line. Parsing only; the work is in the cmd_* functions.

#include <CLI/CLI.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <iostream>
#include <optional>
#include <regex>
#include <string_view>

#include "harness/ab.h"
#include "harness/allocator_policy.h"
#include "harness/build_info.h"
#include "harness/commands.h"
#include "harness/history.h"
#include "harness/engine/topology.h"
#include "harness/kernels.h"
#include "harness/suites.h"
#include "harness/summary_format.h"

namespace {

// "a,b,c" -> {a, b, c}. An empty item ("a,,b", "") is a typo, never "all".
std::vector<std::string> split_list(const std::string& s, const char* option) {
  if (s.empty())
    throw rcb::UsageError(std::string(option) + " is empty (leave it out for the default, or give names such as " +
                          (std::string(option) == "--threads" ? "1,2" : "atomic,plain") + ")");
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = s.find(',', start);
    out.push_back(s.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (out.back().empty())
      throw rcb::UsageError(std::string("bad ") + option + " '" + s + "': an empty item between commas");
    if (comma == std::string::npos) return out;
    start = comma + 1;
  }
}

std::vector<std::uint32_t> parse_threads(const std::string& s) {
  std::vector<std::uint32_t> out;
  for (const auto& item : split_list(s, "--threads")) {
    std::size_t used = 0;
    long v = -1;
    try {
      v = std::stol(item, &used);
    } catch (const std::exception&) {
    }
    if (used != item.size() || v < 1 || v > 4096)
      throw rcb::UsageError("bad thread count '" + item + "' (valid: positive integers such as 1,2,4)");
    const auto t = static_cast<std::uint32_t>(v);
    if (std::find(out.begin(), out.end(), t) != out.end())
      throw rcb::UsageError("bad --threads '" + s + "': " + item + " is listed twice");
    out.push_back(t);
  }
  return out;
}

// The whole of `s` as a finite number, or nullopt ("nan", "inf", "1x", "").
std::optional<double> finite_number(const std::string& s) {
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(s, &used);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (used != s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

// Seconds: finite and > 0, or >= 0 where zero means "not at all".
// A whole number 0 .. 2^64-1, as the results file records it; CLI11 would
// take "-3" as 2^64 - 3.
std::uint64_t parse_seed(const std::string& s) {
  std::uint64_t v = 0;
  const auto [end, err] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || err != std::errc() || end != s.data() + s.size())
    throw rcb::UsageError("bad --seed '" + s + "': must be a whole number from 0 to 18446744073709551615");
  return v;
}

double parse_seconds(const std::string& s, const char* option, bool zero_allowed, const char* example) {
  const auto v = finite_number(s);
  if (!v || *v < 0 || (*v == 0 && !zero_allowed))
    throw rcb::UsageError(std::string("bad ") + option + " '" + s + "': must be a finite number of seconds " +
                          (zero_allowed ? ">= 0" : "> 0 (positive)") + ", such as " + example);
  return *v;
}

// A finite fraction >= 0 (thresholds): "0.05".
double parse_fraction(const std::string& s, const char* option) {
  const auto v = finite_number(s);
  if (!v || *v < 0)
    throw rcb::UsageError(std::string("bad ") + option + " '" + s + "': must be a finite number >= 0, such as 0.05");
  return *v;
}

// "5" or "5%" -> 0.05.
double parse_percent(std::string s, const char* option) {
  if (!s.empty() && s.back() == '%') s.pop_back();
  std::size_t used = 0;
  double v = -1;
  try {
    v = std::stod(s, &used);
  } catch (const std::exception&) {
  }
  if (s.empty() || used != s.size() || !(v >= 0))
    throw rcb::UsageError(std::string("bad ") + option + " '" + s + "' (valid: a percentage such as 5 or 0.5%)");
  return v / 100;
}

// --precision: a percentage strictly between 0 and 100 -> a fraction.
double parse_precision(const std::string& given) {
  std::string s = given;
  if (!s.empty() && s.back() == '%') s.pop_back();
  const auto v = finite_number(s);
  if (!v || *v <= 0 || *v >= 100)
    throw rcb::UsageError("bad --precision '" + given +
                          "': must be a percentage above 0 and below 100, such as 2 or 0.5%");
  return *v / 100;
}

void check_filter(const std::string& filter) {
  try {
    const std::regex compiled(filter, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    throw rcb::UsageError("bad --filter '" + filter + "': not an ECMAScript regular expression: " + e.what());
  }
}

}  // namespace

int cmd_list_impl(bool suites_only) {
  if (suites_only) {
    for (const rcb::Suite& s : rcb::kSuites) {
      std::printf("suite     %-14s %s\n", std::string(s.name).c_str(), std::string(s.question).c_str());
      const auto names = [](std::span<const std::string_view> v) {
        std::string out;
        for (const auto n : v) out += (out.empty() ? "" : ",") + std::string(n);
        return out.empty() ? std::string("all") : out;
      };
      std::printf("          %-14s strategies %s\n", "", names(s.strategies).c_str());
      std::printf("          %-14s workloads  %s\n", "", names(s.workloads).c_str());
    }
    return rcb::kExitOk;
  }
  for (const rcb::StrategyInfo& s : rcb::strategy_infos())
    std::printf("strategy  %-14s %s\n", std::string(s.name).c_str(), std::string(s.description).c_str());
  for (const rcb::WorkloadInfo& w : rcb::workload_infos())
    std::printf("workload  %-14s %s; stresses %s\n", std::string(w.name).c_str(), std::string(w.models).c_str(),
                std::string(w.pattern).c_str());
  return rcb::kExitOk;
}

int rcb::cmd_list(bool suites_only) { return cmd_list_impl(suites_only); }

// The subcommands a user may name (the hidden _instructions and _serve are accepted too).
constexpr std::string_view kSubcommands = "list, env, probe, run, compare, ab, history";

namespace {

// The text of run's options as given, checked into RunOptions after parsing
// (CLI11 would accept "-3" for an unsigned, "nan" for a double).
struct RunArgs {
  rcb::RunOptions opt;
  std::string strategies, workloads, threads, size = "quick", scaling = "weak";
  std::string min_time, precision, max_time, wait_quiet, drift_threshold, cv_threshold, seed, metric = "time";
};

bool given(const CLI::App* sub, const char* name) {
  const CLI::Option* o = sub->get_option_no_throw(name);
  return o != nullptr && o->count() > 0;
}

// Which cells, at which size and placement: `run`, `ab` and `_serve` share these.
constexpr std::array<const char*, 9> kSelectionOptions = {"--suite",  "--strategy",  "--workload",
                                                          "--threads", "--size",     "--scaling",
                                                          "--filter", "--placement", "--min-time"};

void add_selection_options(CLI::App* sub, RunArgs& a) {
  sub->add_option("--suite", a.opt.suite,
                  "a named set of cells (see `rcbench list --suites`): headline (the default), seeds, cpython, "
                  "scalable, library, pyvm or all; --strategy, --workload and --filter narrow it");
  sub->add_option("-s,--strategy", a.strategies,
                  "comma-separated strategies (see `rcbench list`); without --suite, exactly these (with every "
                  "workload unless --workload says otherwise)");
  sub->add_option("-w,--workload", a.workloads,
                  "comma-separated workloads; without --suite, exactly these (with every strategy unless "
                  "--strategy says otherwise)");
  sub->add_option("-t,--threads", a.threads, "comma-separated thread counts (default: 1 and every allowed CPU)");
  sub->add_option("--size", a.size, "quick (the whole matrix in about a minute on 2 cores), full, or reference (the pyvm_* programs at "
                  "the sizes of shared/reference_programs.py: seconds per iteration)")
      ->capture_default_str();
  sub->add_option("--scaling", a.scaling,
                  "weak: each of N threads does the full per-thread work (CPython's ftscalingbench; speedup = "
                  "T1*N/TN). strong: a fixed total of U units of work, U = lcm of the thread counts, divided "
                  "among the threads (speedup = T1/TN; ns_per_item is wall time per item of the total)")
      ->capture_default_str();
  sub->add_option("--min-time", a.min_time, "seconds per repetition, > 0 (default: 0.05 quick, 0.5 full)");
  sub->add_option("--filter", a.opt.filter,
                  "run only benchmarks whose <workload>/<strategy>/threads:<n> matches this ECMAScript regex");
  sub->add_option("--placement", a.opt.placement, "compact, scatter, or a CPU list such as 0,2,4-7")
      ->capture_default_str();
  sub->add_flag("--oversubscribe", a.opt.oversubscribe, "allow more threads than CPUs (labelled in the results)");
}

void add_measurement_options(CLI::App* run, RunArgs& a) {
  rcb::RunOptions& opt = a.opt;
  run->add_option("-r,--repetitions", opt.repetitions,
                  "the fewest repetitions per benchmark; more run until --precision is reached")
      ->capture_default_str();
  run->add_option("--precision", a.precision,
                  "wanted 95% confidence half-width of each median, in percent above 0 and below 100 (default: 2)");
  run->add_option("--max-time", a.max_time,
                  "seconds for the whole run, > 0 (default: what the selection needs, estimated before it starts; "
                  "a --max-time below that estimate is refused, naming the time needed and the suites that fit)");
  run->add_flag("--list", opt.list_only, "print the benchmarks that would run, run nothing");
  run->add_option("--format", opt.format, "summary printed at the end: console, json, csv or md")
      ->capture_default_str();
  run->add_option("--wait-quiet", a.wait_quiet,
                  "wait up to this many seconds for the load average to fall to CPUs - 1 before starting "
                  "(default: 0, do not wait)");
  run->add_option("-o,--out", opt.out, "results file (Google Benchmark JSON + rcbench context)")->capture_default_str();
  run->add_flag("!--no-interleave", opt.interleave, "run each benchmark's repetitions back to back");
  run->add_option("--one-thread-cpus", opt.one_thread_cpus,
                  "rotate: a 1-thread benchmark's repetitions take the CPUs of the run's widest benchmarks in turn, "
                  "so its interval holds their differences in speed as the N-thread benchmarks do; first: every "
                  "repetition on the placement's first CPU")
      ->capture_default_str();
  run->add_option("--processes", opt.processes,
                  "one: every repetition runs in this process; fresh: each round's repetitions run in a new "
                  "child process, so a benchmark's repetitions see as many address-space layouts as rounds and "
                  "its intervals cover what layout does to it (docs/measurement.md, section 4)")
      ->capture_default_str();
  run->add_option("--seed", a.seed,
                  "seed of the rounds' random order (default: a fresh one; the results file records it as "
                  "context.rcbench.measurement.round_order_seed, so --seed replays that order)");
  run->add_flag("!--no-freq-control", opt.freq_control, "do not touch cpufreq governor/turbo even where allowed");
  run->add_flag("--time-counted", opt.time_counted,
                "diagnostic: time the instantiation that counts (strategy counters on the incref/decref path) "
                "instead of the one without, to show what instrumentation would cost (needs a build configured with "
                "-DRCBENCH_TIME_COUNTED=ON)");
  run->add_option("--drift-threshold", a.drift_threshold,
                  "frequency change before vs after that flags a benchmark, >= 0 (default: 0.05)");
  run->add_option("--cv-threshold", a.cv_threshold,
                  "coefficient of variation that flags a benchmark unstable, >= 0 (default: 0.05)");
  run->add_option("--metric", a.metric,
                  "time: wall time through Google Benchmark (every thread count; noisy on shared machines). "
                  "instructions: instructions of the timed region counted under valgrind's callgrind, "
                  "single-threaded cells only, exact and repeatable (1 repetition default; strategies with "
                  "helper threads skipped); results in the same JSON, real_time = instructions per iteration, "
                  "counter instructions_per_item (see docs/regressions.md)")
      ->capture_default_str();
  run->add_option("--iterations", opt.iterations,
                  "instructions only: counted iterations per cell after 1 warm-up (default: 3 quick, 1 full)");
  run->add_option("--valgrind", opt.valgrind, "instructions only: the valgrind to run")->capture_default_str();
  run->add_option("--jobs", opt.jobs,
                  "instructions only: cells counted at once, each in its own valgrind (counts do not depend on "
                  "it; CI passes the CPU count)")
      ->capture_default_str();
}

rcb::Size parse_size(const std::string& size) {
  for (const rcb::Size s : {rcb::Size::quick, rcb::Size::full, rcb::Size::reference})
    if (size == rcb::to_string(s)) return s;
  throw rcb::UsageError("bad --size '" + size + "' (valid: quick, full, reference)");
}

// The selection options into a.opt, each checked.
void check_selection(const CLI::App* sub, RunArgs& a) {
  rcb::RunOptions& opt = a.opt;
  opt.size = parse_size(a.size);
  const std::optional<rcb::Scaling> chosen_scaling = rcb::parse_scaling(a.scaling);
  if (!chosen_scaling) throw rcb::UsageError("bad --scaling '" + a.scaling + "' (valid: weak, strong)");
  opt.scaling = *chosen_scaling;
  // Given but empty is a mistake (an unset shell variable), not "all".
  if (given(sub, "--strategy")) opt.strategies = split_list(a.strategies, "--strategy");
  if (given(sub, "--workload")) opt.workloads = split_list(a.workloads, "--workload");
  if (given(sub, "--threads")) opt.threads = parse_threads(a.threads);
  if (given(sub, "--min-time")) opt.min_time = parse_seconds(a.min_time, "--min-time", false, "0.05");
  if (given(sub, "--filter")) check_filter(opt.filter);
  (void)rcb::parse_placement(opt.placement);  // a bad list fails here, before anything starts
}

// The selection options as the user gave them, for a `_serve` child.
std::vector<std::string> forwarded_selection(const CLI::App* sub, const RunArgs& a) {
  std::vector<std::string> forwarded;
  for (const char* name : kSelectionOptions)
    if (given(sub, name)) {
      forwarded.emplace_back(name);
      forwarded.push_back(sub->get_option(name)->results().back());
    }
  if (a.opt.oversubscribe) forwarded.emplace_back("--oversubscribe");
  return forwarded;
}

// `rcbench run`'s options, checked; dispatches to the metric's command.
int run_command(const CLI::App* run, RunArgs& a) {
  rcb::RunOptions& opt = a.opt;
  check_selection(run, a);
  if (given(run, "--max-time")) opt.max_time = parse_seconds(a.max_time, "--max-time", false, "60");
  if (given(run, "--wait-quiet")) opt.wait_quiet = parse_seconds(a.wait_quiet, "--wait-quiet", true, "60");
  if (given(run, "--precision")) opt.precision = parse_precision(a.precision);
  if (given(run, "--seed")) opt.seed = parse_seed(a.seed);
  if (given(run, "--drift-threshold")) opt.drift_threshold = parse_fraction(a.drift_threshold, "--drift-threshold");
  if (given(run, "--cv-threshold")) opt.cv_threshold = parse_fraction(a.cv_threshold, "--cv-threshold");
  if (opt.repetitions < 1)
    throw rcb::UsageError("bad --repetitions '" + std::to_string(opt.repetitions) + "': must be 1 or more");
  opt.max_repetitions = std::max(opt.max_repetitions, opt.repetitions);
  if (!rcb::is_summary_format(opt.format))
    throw rcb::UsageError("bad --format '" + opt.format + "' (valid: console, json, csv, md)");
  if (opt.jobs < 1) throw rcb::UsageError("bad --jobs '" + std::to_string(opt.jobs) + "': must be 1 or more");
  if (a.metric == "instructions") {
    if (opt.scaling == rcb::Scaling::strong)
      throw rcb::UsageError("--scaling strong needs --metric time: instruction counts are taken at 1 thread, "
                            "where there is no work to divide");
    opt.metric = rcb::Metric::instructions;
    // Counts repeat exactly: one repetition says it all unless asked.
    if (!given(run, "--repetitions")) opt.repetitions = 1;
    return rcb::cmd_run_instructions(opt);
  }
  if (a.metric != "time") throw rcb::UsageError("bad --metric '" + a.metric + "' (valid: time, instructions)");
  if (opt.processes != "one" && opt.processes != "fresh")
    throw rcb::UsageError("bad --processes '" + opt.processes + "' (valid: one, fresh)");
  if (opt.time_counted) {
    if (given(run, "--processes") && opt.processes == "fresh")
      throw rcb::UsageError("--time-counted runs in one process: it cannot be combined with --processes fresh");
    opt.processes = "one";
  }
  opt.forwarded = forwarded_selection(run, a);
  if (opt.time_counted && !rcb::kTimeCountedBuild)
    throw rcb::UsageError("--time-counted needs a build configured with -DRCBENCH_TIME_COUNTED=ON "
                          "(it compiles a second timed instantiation of every cell)");
  return rcb::cmd_run(opt);
}

struct AbArgs {
  rcb::AbOptions opt;
  RunArgs selection;
  std::string threshold, seed;
};

void add_ab_options(CLI::App* ab, AbArgs& a) {
  ab->add_option("BASE", a.opt.base, "the baseline: an rcbench binary, or a build directory holding one")->required();
  ab->add_option("HEAD", a.opt.head, "the build to judge, likewise")->required();
  add_selection_options(ab, a.selection);
  ab->add_option("--rounds", a.opt.rounds,
                 "rounds of BASE HEAD HEAD BASE per cell, 6 or more (default: enough for the Holm adjustment over "
                 "the cells, at least 12)");
  ab->add_option("--threshold", a.threshold,
                 "smallest change in percent that counts, such as 5 or 5% (default: 5, as compare's for wall time)");
  ab->add_option("--alpha", a.opt.alpha, "family-wise significance level over the cells (Holm)")->capture_default_str();
  ab->add_option("--format", a.opt.format, "console, md (a Markdown table) or json")->capture_default_str();
  ab->add_option("-o,--out", a.opt.out, "also write the rounds and verdicts as JSON to this file");
  ab->add_option("--seed", a.seed, "seed of the rounds' cell order (default: a fresh one)");
}

int ab_command(const CLI::App* ab, AbArgs& a) {
  check_selection(ab, a.selection);  // bad input fails here, before either side starts
  a.opt.forwarded = forwarded_selection(ab, a.selection);
  a.opt.selection = a.selection.opt;
  if (given(ab, "--threshold")) a.opt.threshold = parse_percent(a.threshold, "--threshold");
  if (given(ab, "--seed")) a.opt.seed = parse_seed(a.seed);
  return rcb::cmd_ab(a.opt);
}

// `rcbench history add|show|diff` (harness/history.h).
struct HistoryArgs {
  rcb::HistoryOptions opt;
  std::vector<std::string> files;
  std::string cell, rev1, rev2, threshold;
  CLI::App *add = nullptr, *show = nullptr, *diff = nullptr;
};

void add_history_options(CLI::App* history, HistoryArgs& a) {
  history->require_subcommand(1, 1);
  const auto db_option = [&](CLI::App* sub) {
    sub->add_option("--db", a.opt.db, "the history database (SQLite)")->capture_default_str();
  };
  a.add = history->add_subcommand(
      "add", "record results files (plain or .json.gz) under their machine and commit; a file already there changes "
             "nothing");
  a.add->add_option("FILE", a.files, "results files from rcbench run, ab or scripts/ci-gate.sh")->required();
  db_option(a.add);
  a.add->add_option("--machine", a.opt.machine,
                    "the machine's human name (default: the host name the file records)");
  a.add->add_option("--commit", a.opt.commit, "the commit, for a file that records none (or to override it)");
  a.show = history->add_subcommand("show", "a cell's figures over the recorded commits, a series per machine");
  a.show->add_option("CELL", a.cell, "a cell name, or an ECMAScript regex over <workload>/<strategy>/threads:<n>")
      ->required();
  a.diff = history->add_subcommand(
      "diff", "every cell's change from REV1 to REV2 on each machine recorded at both, judged as rcbench compare "
              "judges; exit 1 on a regression");
  a.diff->add_option("REV1", a.rev1, "the base commit (4 or more leading digits)")->required();
  a.diff->add_option("REV2", a.rev2, "the commit to judge")->required();
  a.diff->add_option("--threshold", a.threshold,
                     "as compare's --threshold (default: 5 for wall time, 1 for instructions)");
  a.diff->add_option("--alpha", a.opt.compare.alpha, "as compare's --alpha")->capture_default_str();
  for (CLI::App* sub : {a.show, a.diff}) {
    db_option(sub);
    sub->add_option("--machine", a.opt.machine, "only this machine: its name or the first digits of its fingerprint");
    const std::string formats = std::string("md, csv or json") + (sub == a.diff ? " (or console, compare's table)" : "");
    sub->add_option("--format", a.opt.format, formats)->capture_default_str();
  }
}

int history_command(HistoryArgs& a) {
  if (a.add->parsed()) return rcb::cmd_history_add(a.files, a.opt);
  if (a.show->parsed()) return rcb::cmd_history_show(a.cell, a.opt);
  if (!a.threshold.empty()) a.opt.compare.threshold = parse_percent(a.threshold, "--threshold");
  if (!(a.opt.compare.alpha > 0 && a.opt.compare.alpha < 1))
    throw rcb::UsageError("--alpha must lie between 0 and 1 (such as 0.05)");
  return rcb::cmd_history_diff(a.rev1, a.rev2, a.opt);
}

}  // namespace

int main(int argc, char** argv) {
  rcb::apply_allocator_policy();  // before any benchmark allocates; recorded in every results file
  CLI::App app{"rcbench: what does each way of reference counting cost, per operation and at scale, on this machine?"};
  app.require_subcommand(0, 1);  // none only with --version; checked below with a clearer message
  bool version = false;
  app.add_flag("--version", version, "print the version and git commit, then exit");
  // CLI11 would call an unknown first word "not expected"; name the choices.
  if (argc > 1 && argv[1][0] != '-') {
    const std::string first = argv[1];
    if (first != "list" && first != "env" && first != "probe" && first != "run" && first != "compare" &&
        first != "ab" && first != "history" && first != "_instructions" && first != "_serve") {
      std::cerr << "rcbench: unknown subcommand '" << first << "' (valid: " << kSubcommands << ")\n";
      return rcb::kExitUsage;
    }
  }

  auto* list = app.add_subcommand("list", "print every strategy and workload, one per line, with a one-line description");
  bool list_suites = false;
  list->add_flag("--suites", list_suites, "print the named suites of `rcbench run --suite` and their cells instead");

  auto* env = app.add_subcommand("env", "print the topology, frequency-control state, calibration and warnings");
  bool env_json = false;
  env->add_flag("--json", env_json, "print JSON for scripts");

  auto* probe = app.add_subcommand(
      "probe", "measure the hardware floor: a plain, an atomic, a contended and a separate-lines incref+decref pair");
  std::string probe_placement = "compact";
  bool probe_json = false;
  probe->add_option("--placement", probe_placement, "where the one or two threads go: compact, scatter or a CPU list")
      ->capture_default_str();
  probe->add_flag("--json", probe_json, "print JSON for scripts");

  auto* run = app.add_subcommand("run", "run the strategy x workload x threads matrix and write JSON");
  RunArgs run_args;
  add_selection_options(run, run_args);
  add_measurement_options(run, run_args);

  // Hidden: what `run --metric instructions` runs under valgrind, per cell.
  auto* count = app.add_subcommand("_instructions", "");
  count->group("");
  std::string count_strategy, count_workload, count_size = "quick";
  int count_iterations = 1;
  count->add_option("--strategy", count_strategy)->required();
  count->add_option("--workload", count_workload)->required();
  count->add_option("--iterations", count_iterations)->required();
  count->add_option("--size", count_size);

  // Hidden: one side of `rcbench ab` (harness/ab.cpp).
  auto* serve = app.add_subcommand("_serve", "");
  serve->group("");
  RunArgs serve_args;
  add_selection_options(serve, serve_args);

  auto* cmp = app.add_subcommand(
      "compare",
      "compare two results files benchmark by benchmark; exit 1 on a regression (see docs/regressions.md)");
  std::string cmp_base, cmp_new, cmp_threshold;
  rcb::CompareOptions cmp_opt;
  cmp->add_option("BASE", cmp_base, "results file to compare against (the baseline)")->required();
  cmp->add_option("NEW", cmp_new, "results file to judge")->required();
  cmp->add_option("--threshold", cmp_threshold,
                  "smallest change in percent that counts, such as 5 or 5% (default: 5 for wall time, 1 for "
                  "instructions)");
  cmp->add_option("--alpha", cmp_opt.alpha, "significance level of the Mann-Whitney U test")->capture_default_str();
  cmp->add_option("--figure", cmp_opt.figure,
                  "a wall-time file's per-item figure: ns_per_item, or cycles_per_item (normalised by the calibrated "
                  "clock around each repetition, which holds better across runs on a machine whose speed moves; "
                  "see docs/measurement.md)")
      ->capture_default_str();
  cmp->add_option("--format", cmp_opt.format,
                  "console (the table), json (for scripts) or md (a Markdown table for a pull request)")
      ->capture_default_str();
  bool cmp_json = false;
  cmp->add_flag("--json", cmp_json, "the same as --format json");

  auto* ab = app.add_subcommand(
      "ab",
      "paired A/B of two rcbench builds on the same cells, repetitions interleaved BASE HEAD HEAD BASE round by "
      "round; exit 1 on a regression (see docs/regressions.md)");
  AbArgs ab_args;
  add_ab_options(ab, ab_args);

  auto* history = app.add_subcommand(
      "history", "results across commits and machines in one SQLite file: add, show, diff (see README, History)");
  HistoryArgs history_args;
  add_history_options(history, history_args);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "rcbench: " << e.what() << " (see rcbench --help)\n";
    return rcb::kExitUsage;
  }
  if (version) {
    std::cout << rcb::version_line() << "\n";
    return rcb::kExitOk;
  }
  if (app.get_subcommands().empty()) {
    std::cerr << "rcbench: a subcommand is required (valid: " << kSubcommands << "; see rcbench --help)\n";
    return rcb::kExitUsage;
  }

  try {
    if (app.got_subcommand("list")) return rcb::cmd_list(list_suites);
    if (app.got_subcommand("env")) return rcb::cmd_env(env_json);
    if (app.got_subcommand("probe")) return rcb::cmd_probe(probe_placement, probe_json);
    if (app.got_subcommand("compare")) {
      if (!cmp_threshold.empty()) cmp_opt.threshold = parse_percent(cmp_threshold, "--threshold");
      if (cmp_json && cmp->count("--format") > 0 && cmp_opt.format != "json")
        throw rcb::UsageError("--json and --format " + cmp_opt.format + " contradict each other: give one");
      if (cmp_json) cmp_opt.format = "json";
      return rcb::cmd_compare(cmp_base, cmp_new, cmp_opt);
    }
    if (app.got_subcommand("_instructions"))
      return rcb::cmd_count_instructions(count_strategy, count_workload, parse_size(count_size), count_iterations);
    if (app.got_subcommand("ab")) return ab_command(ab, ab_args);
    if (app.got_subcommand("history")) return history_command(history_args);
    if (app.got_subcommand("_serve")) {
      check_selection(serve, serve_args);
      return rcb::cmd_serve(serve_args.opt);
    }
    return run_command(run, run_args);
  } catch (const rcb::UsageError& e) {
    std::cerr << "rcbench: " << e.what() << "\n";
    return rcb::kExitUsage;
  } catch (const std::invalid_argument& e) {
    std::cerr << "rcbench: " << e.what() << "\n";
    return rcb::kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << "rcbench: error: " << e.what() << "\n";
    return rcb::kExitFailed;
  }
}
