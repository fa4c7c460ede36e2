// `rcbench run --metric instructions`: the instructions of the timed region,
// counted by callgrind, for every single-threaded cell of the matrix.
//
// Why: wall time on a shared 2-core VM moves by several percent between two
// runs of the same binary; the number of instructions a single thread
// executes does not move at all. That makes it the metric a CI gate can hold
// to 1%. What it cannot see: contention, cache-line bouncing, memory
// latency, the cost of one lock-prefixed instruction against a plain one
// (one instruction each), frequency. Use wall time for those.
//
// How: this process (the parent) re-executes itself once per cell and
// repetition as
//   valgrind --tool=callgrind --collect-atstart=no --callgrind-out-file=DIR/callgrind.%p
//       rcbench _instructions --strategy S --workload W --size Z --iterations K
// The child builds a one-thread Team, runs one warm-up iteration uncounted,
// then K iterations in which the worker toggles callgrind's collection on
// right after it reads t0 and off right before it reads t1 (Team's
// count_instructions hook), so exactly the timed region counts. Collection
// is per thread in callgrind, so the main thread waiting for the worker
// never counts. The parent reads the `totals:` Ir of the child's own output
// file (forked grandchildren, as fork_cow makes, write their own files).
//
// Not measured: multi-thread cells (valgrind runs one thread at a time, so
// their count says nothing about scaling), and strategies whose runtime
// starts helper threads (a commit thread): how far the helper got before the
// worker's next operation depends on valgrind's scheduling, so the worker's
// count would not repeat. Helper threads are found generically, by counting
// this process's threads (/proc/self/task) with a one-thread Team of the
// cell built and iterated natively, before any valgrind run.

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#if !defined(RCBENCH_SYSTEM_ALLOCATOR)
#include <mimalloc.h>
#endif

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <optional>
#include <sstream>

#include "harness/build_info.h"
#include "harness/callgrind.h"
#include "harness/commands.h"
#include "harness/gb_json.h"
#include "harness/kernels.h"
#include "harness/engine/measure.h"
#include "harness/engine/topology.h"
#include "harness/results_file.h"
#include "harness/selection.h"
#include "harness/engine/team.h"
#include "strategies/epoch_clock.h"

extern char** environ;

namespace rcb {

namespace {

namespace fs = std::filesystem;

struct Child {
  int status = -1;  // exit status, or 128 + signal
  std::string out, err;
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// This process's environment with `extra` ("NAME=value") set.
std::vector<std::string> environment_with(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    const std::string var = *e;
    const bool replaced = std::any_of(extra.begin(), extra.end(), [&](const std::string& x) {
      return var.compare(0, x.find('=') + 1, x, 0, x.find('=') + 1) == 0;
    });
    if (!replaced) env.push_back(var);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

// Runs argv with stdout and stderr captured in files under dir.
Child run_captured(const std::vector<std::string>& argv, const fs::path& dir,
                   const std::vector<std::string>& extra_env = {}) {
  const fs::path out = dir / "stdout", err = dir / "stderr";
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  const auto pointers = [](const std::vector<std::string>& v) {
    std::vector<char*> p;
    for (const auto& s : v) p.push_back(const_cast<char*>(s.c_str()));
    p.push_back(nullptr);
    return p;
  };
  std::vector<char*> args = pointers(argv);
  const std::vector<std::string> env = environment_with(extra_env);
  std::vector<char*> envp = pointers(env);
  pid_t pid = -1;
  Child c;
  const int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    c.err = "cannot start " + argv[0] + ": " + std::strerror(rc);
    return c;
  }
  int ws = 0;
  while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
  }
  c.status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
  c.out = slurp(out);
  c.err = slurp(err);
  return c;
}

std::string first_line(const std::string& s) {
  const auto nl = s.find('\n');
  return s.substr(0, nl);
}

// The child's own complaint ("rcbench: ..."), not valgrind's chatter around it.
std::string child_message(const Child& c) {
  std::istringstream in(c.err);
  std::string found;
  for (std::string line; std::getline(in, line);)
    if (line.rfind("rcbench", 0) == 0) found = line;
  if (!found.empty()) return found;
  return first_line(c.err.empty() ? c.out : c.err);
}

std::string self_exe() {
  std::error_code ec;
  const fs::path p = fs::read_symlink("/proc/self/exe", ec);
  if (ec) throw std::runtime_error("cannot find this program's path (/proc/self/exe): " + ec.message());
  return p.string();
}

// mimalloc 2.0 decommits freed memory once a delay measured on the clock
// has passed, so whether that work landed inside the counted region
// depended on how loaded the machine was (seen: 1 run in 3 off by ~1000
// instructions under load). Without decommit nothing in the region reads a
// clock. The same setting for every strategy, so comparisons stay fair.
const std::vector<std::string>& counting_environment() {
  static const std::vector<std::string> env{"MIMALLOC_ALLOW_DECOMMIT=0"};
  return env;
}

// Objects at the same addresses in every counting run. mimalloc starts its
// segments at a random multiple of the segment size (its address-hint
// randomisation), so a strategy that hashes object addresses (refcache's
// cache slots) collided differently, and counted a few hundred instructions
// more or fewer, from run to run. A reservation above mimalloc's 1 GiB hint
// limit is placed by valgrind's address-space manager, which does not
// randomise, and every segment is then carved from it.
void deterministic_addresses() {
#if !defined(RCBENCH_SYSTEM_ALLOCATOR)
  constexpr std::size_t kArena = std::size_t{4} << 30;
  if (mi_reserve_os_memory(kArena, false, false) != 0)
    throw std::runtime_error("cannot reserve the counting child's 4 GiB of address space");
#endif
}

struct Count {
  std::uint64_t ir = 0;
  std::uint64_t iterations = 0, items_per_thread = 0;
  double seconds = 0;  // wall time of the counted iterations' timed regions, under valgrind
  std::string checksum;
};

// One cell's repetitions, or the error that stopped them.
struct CellCounts {
  std::vector<Count> counts;
  std::string error;
};

// One valgrind run of one cell. Throws std::runtime_error with the child's
// own words when it fails.
Count count_once(const RunOptions& opt, const std::string& exe, const std::string& strategy,
                 const std::string& workload, int iterations, const fs::path& dir) {
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::vector<std::string> argv{opt.valgrind,
                                      "--tool=callgrind",
                                      "--quiet",
                                      "--collect-atstart=no",
                                      "--callgrind-out-file=" + (dir / "callgrind.%p").string(),
                                      exe,
                                      "_instructions",
                                      "--strategy",
                                      strategy,
                                      "--workload",
                                      workload,
                                      "--size",
                                      std::string(to_string(opt.size)),
                                      "--iterations",
                                      std::to_string(iterations)};
  const Child c = run_captured(argv, dir, counting_environment());
  if (c.status != 0)
    throw std::runtime_error("valgrind run failed (status " + std::to_string(c.status) + "): " + child_message(c));
  // The child's report is its last line that is a JSON object; a workload
  // may have printed before it.
  std::string last;
  std::istringstream lines(c.out);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind('{', 0) == 0) last = line;
  nlohmann::json reply;
  try {
    reply = nlohmann::json::parse(last);
  } catch (const std::exception&) {
    throw std::runtime_error("unexpected output from the counting child: " + first_line(c.out));
  }
  Count n;
  n.iterations = reply.at("iterations").get<std::uint64_t>();
  n.items_per_thread = reply.at("items_per_thread").get<std::uint64_t>();
  n.checksum = reply.at("checksum").get<std::string>();
  n.seconds = reply.value("seconds", 0.0);
  const auto pid = reply.at("pid").get<long>();
  const fs::path file = dir / ("callgrind." + std::to_string(pid));
  const auto ir = callgrind_total_ir(file.string());
  if (!ir) throw std::runtime_error("no instruction total in " + file.string());
  n.ir = *ir;
  return n;
}

std::string valgrind_version(const std::string& valgrind, const fs::path& dir) {
  fs::create_directories(dir);
  const Child c = run_captured({valgrind, "--version"}, dir);
  if (c.status != 0)
    throw UsageError("--metric instructions needs valgrind, and '" + valgrind +
                     "' does not run (install it: apt-get install valgrind; or pass --valgrind PATH)");
  return first_line(c.out);
}

struct Planned {
  std::string name, strategy, workload;
};

}  // namespace


int cmd_count_instructions(const std::string& strategy, const std::string& workload, Size size, int iterations) {
  if (iterations < 1) throw UsageError("--iterations must be at least 1");
  (void)resolve({strategy}, strategy_names(), "strategy");
  (void)resolve({workload}, workload_names(), "workload");
  if constexpr (kSanitizerBuild)
    throw UsageError("--metric instructions needs the release build: valgrind cannot run a " +
                     std::string(RCBENCH_SANITIZER_NAME) + "-sanitizer build");
  // Epoch intervals measured in work, so the count repeats (strategies/epoch_clock.h).
  EpochClock::count_work(true);
  deterministic_addresses();
  for (const CellKernels& k : all_kernels())
    if (k.strategy == strategy && k.workload == workload) return k.count_instructions(size, iterations);
  return kExitUsage;
}

int cmd_run_instructions(const RunOptions& opt_in) {
  RunOptions opt = opt_in;
  // The gate counts every cell unless told otherwise, so "all" is the default here.
  const Selection sel = select_cells(opt, "all", strategy_names(), workload_names());
  const auto& strategies = sel.strategies;
  const auto& workloads = sel.workloads;
  if (opt.repetitions < 1) throw UsageError("--repetitions must be at least 1");
  if (opt.iterations < 0) throw UsageError("--iterations must be at least 1");
  if (opt.iterations == 0) opt.iterations = default_counted_iterations(opt.size);
  if (!kHaveCallgrind)
    throw UsageError("this rcbench was built without <valgrind/callgrind.h>; install valgrind and rebuild");
  if (const std::string_view sanitizer = RCBENCH_SANITIZER_NAME; !sanitizer.empty())
    throw UsageError("--metric instructions needs the release build: valgrind cannot run a " + std::string(sanitizer) +
                     "-sanitizer build, and its counts would measure the sanitizer");

  std::vector<std::string> notes;
  if (opt.threads.empty()) opt.threads = {1};
  for (const auto t : opt.threads)
    if (t != 1)
      notes.push_back("threads:" + std::to_string(t) +
                      " not measured: valgrind runs one thread at a time, so an instruction count cannot show "
                      "contention or scaling; measure those with wall time (--metric time)");
  if (std::find(opt.threads.begin(), opt.threads.end(), 1u) == opt.threads.end())
    throw UsageError("--metric instructions measures single-threaded cells only: include 1 in --threads");
  if (const std::string err = check_writable(opt.out); !err.empty()) throw UsageError(err);

  const char* tmp = std::getenv("TMPDIR");
  std::string dir_template = std::string(tmp && *tmp ? tmp : "/tmp") + "/rcbench-callgrind-XXXXXX";
  const char* made = mkdtemp(dir_template.data());
  if (!made) throw std::runtime_error(std::string("cannot create a temporary directory: ") + std::strerror(errno));
  const fs::path scratch = made;
  struct Cleanup {
    fs::path p;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(p, ec);
    }
  } cleanup{scratch};

  const std::string version = valgrind_version(opt.valgrind, scratch / "version");
  const std::string exe = self_exe();

  // The cells, in registry order; what cannot be counted is noted.
  std::vector<Planned> cells;
  if constexpr (!kSanitizerBuild) {
    for (const CellKernels& k : all_kernels()) {
      if (!contains(strategies, k.strategy) || !contains(workloads, k.workload)) continue;
      const std::string name = cell_name(k.workload, k.strategy, 1);
      if (const ThreadSupport ts = k.supports(1); !ts.ok) {
        notes.push_back("skipped " + name + ": " + std::string(ts.why));
        continue;
      }
      if (k.forks_processes) {
        notes.push_back("skipped " + name + ": its work runs in forked child processes, which callgrind "
                        "does not count into the parent; measure it by wall time and KiB dirtied");
        continue;
      }
      if (const std::size_t helpers = k.helper_threads(opt.size); helpers > 0) {
        notes.push_back("skipped " + name + ": " + k.strategy + "'s runtime runs " + std::to_string(helpers) +
                        " helper thread(s); under valgrind the worker's count would depend on how far they got, "
                        "so it would not repeat");
        continue;
      }
      cells.push_back({name, k.strategy, k.workload});
    }
  }
  if (cells.empty()) throw UsageError("nothing to count: " + (notes.empty() ? std::string("empty selection") : join(notes, "; ")));

  std::size_t width = 0;
  for (const auto& c : cells) width = std::max(width, c.name.size());
  static std::string exe_name;
  exe_name = exe;
  benchmark::BenchmarkReporter::Context::executable_name = exe_name.c_str();
  benchmark::BenchmarkReporter::Context gb_context;
  gb_context.name_field_width = width;
  GbJson json;
  json.context(gb_context);

  nlohmann::json context{
      {"schema", "rcbench/1"},
      {"metric", "instructions"},
      {"build", build_info()},
      {"valgrind", version},
      {"counting_environment", counting_environment()},
      // The machine, as wall-time files record it: `rcbench history` keys
      // results on it (counts follow the CPU's code paths: glibc picks its
      // string functions by CPU feature).
      {"topology", Topology().summary()},
      {"options",
       {{"suite", sel.suite},
        {"strategies", strategies},
        {"workloads", workloads},
        {"threads", {1}},
        {"size", std::string(to_string(opt.size))},
        {"repetitions", opt.repetitions},
        {"iterations", opt.iterations},
        {"warmup_iterations", 1}}},
      {"formulas",
       {{"real_time", "wall ns per counted iteration of the timed region, under valgrind (tens of times slower "
                      "than native: not a speed to compare with a wall-time run)"},
        {"cpu_time", "0: not measured (the worker's CPU time under valgrind would say nothing more)"},
        {"instructions_per_item", "instructions / (iterations * items_per_thread)"},
        {"instructions_per_iteration", "instructions / iterations"},
        {"instructions", "callgrind Ir over all counted iterations"},
        {"timed_region", "what wall time measures: the worker from t0 to t1, safepoint included"}}},
      {"notes", notes}};
  std::vector<std::string> warnings, failures;

  std::map<std::string, nlohmann::json> per_bench;
  const auto write = [&] {
    nlohmann::json j = json.document();
    j["context"]["rcbench"] = context;
    j["context"]["rcbench"]["warnings"] = warnings;
    j["context"]["rcbench"]["failures"] = failures;
    for (auto& b : j["benchmarks"])
      if (auto it = per_bench.find(b.value("run_name", "")); it != per_bench.end()) b["rcbench"] = it->second;
    write_json_atomically(opt.out, j);
  };

  std::cout << "rcbench run --metric instructions: " << cells.size() << " single-threaded cell(s), size "
            << to_string(opt.size) << ", " << opt.iterations << " counted iteration(s) after 1 warm-up, "
            << opt.repetitions << " repetition(s), under " << version << " -> " << opt.out << "\n";
  for (const auto& n : notes) std::cout << "note: " << n << "\n";
  std::cout << std::flush;

  Interrupts::catch_interrupts();

  // Cells are counted --jobs at a time, each in its own valgrind process
  // and scratch folder, and taken in order: a count does not depend on what
  // else runs, so parallel counting changes only how long the run takes.
  const auto count_cell_reps = [&](std::size_t i) {
    CellCounts out;
    for (int rep = 0; rep < opt.repetitions && !Interrupts::interrupted(); ++rep) {
      try {
        out.counts.push_back(count_once(opt, exe, cells[i].strategy, cells[i].workload, opt.iterations,
                                        scratch / ("cell" + std::to_string(i))));
      } catch (const std::exception& e) {
        out.error = e.what();
        break;
      }
    }
    return out;
  };
  std::vector<std::future<CellCounts>> pending(cells.size());
  std::size_t launched = 0;
  std::size_t done = 0;
  for (std::size_t i = 0; i < cells.size() && !Interrupts::interrupted(); ++i) {
    for (; launched < cells.size() && launched < i + static_cast<std::size_t>(opt.jobs); ++launched)
      pending[launched] = std::async(std::launch::async, count_cell_reps, launched);
    const CellCounts counted = pending[i].get();
    const Planned& cell = cells[i];
    const Count last = counted.counts.empty() ? Count{} : counted.counts.back();
    std::vector<benchmark::BenchmarkReporter::Run> runs;
    std::vector<std::uint64_t> counts;
    std::string error = counted.error;
    for (std::size_t rep = 0; rep < counted.counts.size(); ++rep) {
      const Count& c = counted.counts[rep];
      counts.push_back(c.ir);
      benchmark::BenchmarkReporter::Run r;
      r.run_name.function_name = cell.name;
      r.family_index = static_cast<std::int64_t>(i);
      r.per_family_instance_index = 0;
      r.iterations = static_cast<benchmark::IterationCount>(c.iterations);
      r.threads = 1;
      r.repetition_index = static_cast<std::int64_t>(rep);
      r.repetitions = opt.repetitions;
      // Times are times, counts are counters: readers that scale real_time
      // by time_unit get the (valgrind) wall time, never a count.
      r.time_unit = benchmark::kNanosecond;
      r.real_accumulated_time = c.seconds;
      r.cpu_accumulated_time = 0;
      const double items = static_cast<double>(c.iterations) * static_cast<double>(c.items_per_thread);
      r.counters["instructions_per_item"] = static_cast<double>(c.ir) / items;
      r.counters["instructions_per_iteration"] =
          static_cast<double>(c.ir) / static_cast<double>(c.iterations);
      r.counters["instructions"] = static_cast<double>(c.ir);
      r.counters["items_per_thread"] = static_cast<double>(c.items_per_thread);
      r.counters["checksum_ok"] = 1.0;
      runs.push_back(std::move(r));
    }
    if (Interrupts::interrupted()) break;
    if (!error.empty()) {
      benchmark::BenchmarkReporter::Run r;
      r.run_name.function_name = cell.name;
      r.family_index = static_cast<std::int64_t>(i);
      r.per_family_instance_index = 0;
      r.error_occurred = true;
      r.error_message = error;
      r.repetitions = opt.repetitions;
      r.repetition_index = static_cast<std::int64_t>(runs.size());
      runs.push_back(std::move(r));
      failures.push_back(cell.name + ": " + error);
    }
    const bool repeatable = std::all_of(counts.begin(), counts.end(), [&](auto n) { return n == counts.front(); });
    if (!repeatable) {
      std::string seen;
      for (const auto n : counts) seen += (seen.empty() ? "" : ", ") + std::to_string(n);
      warnings.push_back(cell.name + ": instruction counts differ between repetitions (" + seen +
                         "): not deterministic; compare falls back to the rank test for it");
    }
    json.runs(runs);
    per_bench[cell.name] = {{"strategy", cell.strategy},
                            {"workload", cell.workload},
                            {"threads", 1},
                            {"size", std::string(to_string(opt.size))},
                            {"metric", "instructions"},
                            {"counted_iterations", opt.iterations},
                            {"warmup_iterations", 1},
                            {"checksum", last.checksum},
                            {"repeatable", repeatable}};
    write();
    ++done;

    std::string padded = cell.name;
    padded.resize(std::max<std::size_t>(padded.size(), 40), ' ');
    std::printf("[%zu/%zu] %s", done, cells.size(), padded.c_str());
    if (!error.empty())
      std::printf("FAILED: %s\n", error.c_str());
    else
      std::printf("%12.2f instructions/item  %12llu per iteration%s\n",
                  static_cast<double>(last.ir) / static_cast<double>(last.iterations * last.items_per_thread),
                  static_cast<unsigned long long>(last.ir / last.iterations), repeatable ? "" : "  NOT REPEATABLE");
    std::fflush(stdout);
  }
  Interrupts::release_interrupts();
  write();

  for (const auto& w : warnings) std::cout << "warning: " << w << "\n";
  for (const auto& f : failures) std::cerr << "rcbench: FAILED " << f << "\n";
  if (Interrupts::interrupted()) {
    std::cerr << "rcbench: interrupted; " << done << " finished cell(s) kept in " << opt.out << "\n";
    return kExitInterrupted;
  }
  std::cout << "wrote " << opt.out << " (" << done << " benchmarks)\n";
  return failures.empty() ? kExitOk : kExitFailed;
}

}  // namespace rcb
