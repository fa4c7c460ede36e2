// rcbench: the command line. Parsing only; the work is in the cmd_* functions.

#include <CLI/CLI.hpp>

#include <iostream>
#include <sstream>

#include "harness/commands.h"
#include "harness/matrix.h"

namespace {

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

std::vector<std::uint32_t> parse_threads(const std::string& s) {
  std::vector<std::uint32_t> out;
  for (const auto& item : split(s)) {
    std::size_t used = 0;
    long v = -1;
    try {
      v = std::stol(item, &used);
    } catch (const std::exception&) {
    }
    if (used != item.size() || v < 1 || v > 4096)
      throw rcb::UsageError("bad thread count '" + item + "' (valid: positive integers such as 1,2,4)");
    out.push_back(static_cast<std::uint32_t>(v));
  }
  if (out.empty()) throw rcb::UsageError("--threads needs at least one count (such as 1,2,4)");
  return out;
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

}  // namespace

int cmd_list_impl() {
  for_each_type(rcb::AllStrategies{}, []<class S>() {
    std::printf("strategy  %-14s %s\n", std::string(S::info.name).c_str(), std::string(S::info.description).c_str());
  });
  rcb::for_each_workload_info([](const rcb::WorkloadInfo& w) {
    std::printf("workload  %-14s %s; stresses %s\n", std::string(w.name).c_str(), std::string(w.models).c_str(),
                std::string(w.pattern).c_str());
  });
  return rcb::kExitOk;
}

int rcb::cmd_list() { return cmd_list_impl(); }

int main(int argc, char** argv) {
  CLI::App app{"rcbench: what does each way of reference counting cost, per operation and at scale, on this machine?"};
  app.require_subcommand(1);

  app.add_subcommand("list", "print every strategy and workload, one per line, with a one-line description");

  auto* env = app.add_subcommand("env", "print the topology, frequency-control state, calibration and warnings");
  bool env_json = false;
  env->add_flag("--json", env_json, "print JSON for scripts");

  auto* run = app.add_subcommand("run", "run the strategy x workload x threads matrix and write JSON");
  rcb::RunOptions opt;
  std::string strategies, workloads, threads, size = "quick";
  run->add_option("-s,--strategy", strategies, "comma-separated strategies (default: all; see `rcbench list`)");
  run->add_option("-w,--workload", workloads, "comma-separated workloads (default: all)");
  run->add_option("-t,--threads", threads, "comma-separated thread counts (default: 1 and every allowed CPU)");
  run->add_option("--size", size, "quick (the whole matrix in about a minute on 2 cores) or full")->capture_default_str();
  run->add_option("-r,--repetitions", opt.repetitions, "repetitions per benchmark (median and CV over them)")
      ->capture_default_str();
  run->add_option("--min-time", opt.min_time, "seconds per repetition (default: 0.05 quick, 0.5 full)");
  run->add_option("-o,--out", opt.out, "results file (Google Benchmark JSON + rcbench context)")->capture_default_str();
  run->add_option("--placement", opt.placement, "compact, scatter, or a CPU list such as 0,2,4-7")->capture_default_str();
  run->add_flag("--oversubscribe", opt.oversubscribe, "allow more threads than CPUs (labelled in the results)");
  run->add_flag("!--no-interleave", opt.interleave, "run each benchmark's repetitions back to back");
  run->add_flag("!--no-freq-control", opt.freq_control, "do not touch cpufreq governor/turbo even where allowed");
  run->add_option("--drift-threshold", opt.drift_threshold, "frequency change before vs after that flags a benchmark")
      ->capture_default_str();
  run->add_option("--cv-threshold", opt.cv_threshold, "coefficient of variation that flags a benchmark unstable")
      ->capture_default_str();
  std::string metric = "time";
  run->add_option("--metric", metric,
                  "time: wall time through Google Benchmark (every thread count; noisy on shared machines). "
                  "instructions: instructions of the timed region counted under valgrind's callgrind, "
                  "single-threaded cells only, exact and repeatable (1 repetition default; strategies with "
                  "helper threads skipped); results in the same JSON, real_time = instructions per iteration, "
                  "counter instructions_per_item (see docs/regressions.md)")
      ->capture_default_str();
  run->add_option("--iterations", opt.iterations,
                  "instructions only: counted iterations per cell after 1 warm-up (default: 3 quick, 1 full)");
  run->add_option("--valgrind", opt.valgrind, "instructions only: the valgrind to run")->capture_default_str();

  // Hidden: what `run --metric instructions` runs under valgrind, per cell.
  auto* count = app.add_subcommand("_instructions", "");
  count->group("");
  std::string count_strategy, count_workload;
  int count_iterations = 1;
  count->add_option("--strategy", count_strategy)->required();
  count->add_option("--workload", count_workload)->required();
  count->add_option("--iterations", count_iterations)->required();
  count->add_option("--size", size);

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
  cmp->add_option("--format", cmp_opt.format,
                  "console (the table), json (for scripts) or md (a Markdown table for a pull request)")
      ->capture_default_str();
  bool cmp_json = false;
  cmp->add_flag("--json", cmp_json, "the same as --format json");

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

  try {
    if (app.got_subcommand("list")) return rcb::cmd_list();
    if (app.got_subcommand("env")) return rcb::cmd_env(env_json);
    if (app.got_subcommand("compare")) {
      if (!cmp_threshold.empty()) cmp_opt.threshold = parse_percent(cmp_threshold, "--threshold");
      if (cmp_json && cmp->count("--format") > 0 && cmp_opt.format != "json")
        throw rcb::UsageError("--json and --format " + cmp_opt.format + " contradict each other: give one");
      if (cmp_json) cmp_opt.format = "json";
      return rcb::cmd_compare(cmp_base, cmp_new, cmp_opt);
    }
    if (size != "quick" && size != "full") throw rcb::UsageError("bad --size '" + size + "' (valid: quick, full)");
    opt.size = size == "quick" ? rcb::Size::quick : rcb::Size::full;
    if (app.got_subcommand("_instructions"))
      return rcb::cmd_count_instructions(count_strategy, count_workload, opt.size, count_iterations);
    opt.strategies = split(strategies);
    opt.workloads = split(workloads);
    if (!threads.empty()) opt.threads = parse_threads(threads);
    if (metric == "instructions") {
      opt.metric = rcb::Metric::instructions;
      // Counts repeat exactly: one repetition says it all unless asked.
      if (run->count("--repetitions") == 0) opt.repetitions = 1;
      return rcb::cmd_run_instructions(opt);
    }
    if (metric != "time") throw rcb::UsageError("bad --metric '" + metric + "' (valid: time, instructions)");
    return rcb::cmd_run(opt);
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
