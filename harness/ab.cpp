// `rcbench ab BASE HEAD`: two rcbench builds on the same cells, their
// repetitions interleaved round by round, judged on the paired per-round
// ratio (harness/ab_stats.h says why and how).
//
// Each side runs as a child process, `BINARY _serve <selection>`, that
// expands the selection exactly as `rcbench run` does and then runs, on
// request, one cell's counted pass or one timed repetition of it. The
// driver starts a fresh pair of children for every round: two processes of
// one binary differ by their memory layout (ASLR, the allocator's arenas),
// and on this suite's fib cells at 2 threads that alone made one process
// 8-12% faster than the other in every round of an A/A pairing. With a
// fresh pair per round, layout is one more thing that varies from round to
// round, on both sides alike, instead of a fixed offset the test reads as a
// change (pyperf runs many worker processes for the same reason). Each
// cell's counted pass runs once, in the first round's pair; later pairs are
// told the iteration count and whether the strategy runs helper threads.
// In round r every cell runs
// A B B A (odd r) or B A A B (even r), cells in a fresh random order each
// round: a drift that is linear over the block falls on both sides alike,
// and the alternation keeps "who runs first" from favouring one side. Both
// sides time the same number of iterations, sized from BASE's counted pass.
// A block with a disturbed repetition (engine/disturbance.h) is run again,
// at most kBlockRetries times; after that it counts, and the cell says so.
//
// The serving protocol, one line each way (JSON replies):
//   child:  {"rcbench_serve":1,"version":...,"cells":[...],"notes":[...]}
//   driver: count <cell>            child: {"iterations":N,"helper_threads":b} | {"error":...}
//   driver: rep <cell> <iterations> [<helper_threads 0|1>]
//                                   child: {"ns_per_item":x,"disturbed":b,"why":...} | {"error":...}
//           (either success reply may carry "unbound":["CPU n: why",...],
//           the CPUs its workers could not bind, which ran unpinned)
//           (with helper_threads given, the child skips its counted pass)
//   driver: full <cell> <iterations> <helper_threads 0|1> [<cpu,cpu,...>]
//                                   child: {"repetition":{...}} (serve_child.h), on those CPUs
//           (`rcbench run --processes fresh`; no counted pass)
// The child ends when its standard input closes. It ignores SIGINT, so a
// Ctrl-C reaches the driver, which lets the repetition in flight finish,
// judges the rounds done and exits 130.

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "harness/ab.h"
#include "harness/ab_stats.h"
#include "harness/build_info.h"
#include "harness/commands.h"
#include "harness/engine/topology.h"
#include "harness/results_file.h"
#include "harness/run_plan.h"
#include "harness/serve_child.h"

namespace rcb {

namespace {

// ---- the serving child ----------------------------------------------------

struct ServedCell {
  const PlannedCell* planned = nullptr;
  CountedPass counted;
  std::uint64_t iterations = 0;  // this side's own sizing, from its counted pass
};

// A CPU a worker could not bind (that thread ran unpinned) goes into the
// reply as "unbound", and the driver warns, as `rcbench run` does.
using Unbound = std::vector<std::string>;

std::function<int(std::uint32_t)> binder(const Topology& topo, const std::vector<int>& cpus, Unbound& unbound) {
  return cpu_binder(topo, cpus, [&unbound](int cpu, const std::string& why) {
    unbound.push_back("CPU " + std::to_string(cpu) + ": " + why);
  });
}

nlohmann::json with_unbound(nlohmann::json reply, const Unbound& unbound) {
  if (!unbound.empty()) reply["unbound"] = unbound;
  return reply;
}

nlohmann::json serve_count(ServedCell& c, const CellPlan& plan, const Topology& topo) {
  Unbound unbound;
  if (c.iterations == 0) {
    const Cell& cell = c.planned->cell;
    c.counted = c.planned->kernels->counted(cell.threads, plan.opt.size, plan.opt.min_time,
                                            binder(topo, cell.cpus, unbound), plan.share);
    if (!c.counted.error.empty()) return with_unbound({{"error", c.counted.error}}, unbound);
    c.iterations = iterations_per_repetition(plan.opt.min_time, c.counted.seconds_per_iteration);
  }
  return with_unbound({{"iterations", c.iterations}, {"helper_threads", c.counted.helper_threads}}, unbound);
}

// One timed repetition of the cell on `cell.cpus`.
Repetition timed_repetition(const ServedCell& c, const Cell& cell, std::uint64_t iterations, bool helper_threads,
                            const CellPlan& plan, const Topology& topo, Unbound& unbound) {
  return c.planned->kernels->repetition(
      repetition_plan(cell, plan.opt.size, plan.share, iterations, helper_threads, binder(topo, cell.cpus, unbound)));
}

nlohmann::json serve_repetition(ServedCell& c, std::uint64_t iterations, std::optional<bool> helper_threads,
                                const CellPlan& plan, const Topology& topo) {
  if (c.iterations == 0 && helper_threads) {  // sized by an earlier process of this side
    c.counted.helper_threads = *helper_threads;
    c.iterations = iterations;
  }
  if (const nlohmann::json counted = serve_count(c, plan, topo); counted.contains("error")) return counted;
  Unbound unbound;
  const Repetition rep =
      timed_repetition(c, c.planned->cell, iterations, c.counted.helper_threads, plan, topo, unbound);
  if (!rep.error.empty()) return with_unbound({{"error", rep.error}}, unbound);
  std::string why;
  for (const auto& r : rep.disturbance.reasons) why += (why.empty() ? "" : "; ") + r;
  return with_unbound({{"ns_per_item", rep.ns_per_item()}, {"disturbed", rep.disturbance.disturbed}, {"why", why}},
                      unbound);
}

// `rcbench run --processes fresh`: the repetition whole, on the CPUs the
// driver chose (a 1-thread cell's rotation), sized by the driver's counted pass.
nlohmann::json serve_full(ServedCell& c, std::uint64_t iterations, bool helper_threads, const std::vector<int>& cpus,
                          const CellPlan& plan, const Topology& topo) {
  Cell cell = c.planned->cell;
  if (!cpus.empty()) cell.cpus = cpus;
  Unbound unbound;
  const Repetition rep = timed_repetition(c, cell, iterations, helper_threads, plan, topo, unbound);
  return with_unbound({{"repetition", repetition_to_json(rep)}}, unbound);
}

std::vector<int> cpu_list(const std::string& text) {
  std::vector<int> cpus;
  std::istringstream in(text);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) cpus.push_back(std::stoi(item));
  return cpus;
}

// ---- the driver's children ------------------------------------------------

// A side that died or broke the protocol (harness/serve_child.h).
using AbError = ServeError;

// Both sides' children, started afresh for each round.
class Sides {
 public:
  Sides(std::string base_bin, std::string head_bin, std::vector<std::string> args)
      : base_bin_(std::move(base_bin)), head_bin_(std::move(head_bin)), args_(std::move(args)) {
    respawn();
  }
  void respawn() {
    base_.reset();  // closes its input: it ends after the repetition in flight
    head_.reset();
    base_ = std::make_unique<ServeChild>("BASE", base_bin_, args_);
    head_ = std::make_unique<ServeChild>("HEAD", head_bin_, args_);
  }
  [[nodiscard]] ServeChild& base() { return *base_; }
  [[nodiscard]] ServeChild& head() { return *head_; }
  [[nodiscard]] const std::string& base_bin() const { return base_bin_; }
  [[nodiscard]] const std::string& head_bin() const { return head_bin_; }

 private:
  std::string base_bin_, head_bin_;
  std::vector<std::string> args_;
  std::unique_ptr<ServeChild> base_, head_;
};

// ---- the rounds -----------------------------------------------------------

constexpr int kBlockRetries = 2;

struct AbCell {
  std::string name;
  std::uint64_t iterations = 0;
  bool base_helpers = false, head_helpers = false;  // from each side's counted pass
  std::vector<double> ratios;                  // HEAD/BASE, one per round
  std::vector<double> base_ns, head_ns;        // each side's mean of its two repetitions, per round
  std::size_t disturbed_blocks = 0;            // run again
  std::size_t accepted_disturbed = 0;          // kept past the retries
  std::vector<std::string> unbound;            // "<side> CPU n: why", each once
  std::string error;
  PairedSummary summary;
  double p_holm = 1;
  AbVerdict verdict = AbVerdict::insufficient;
};

// The rounds needed so that a cell can reach alpha after Holm's adjustment
// over `cells` even with a contrary round or two: three more than the
// fewest whose best outcome (every round one way, p = 2 / 2^n) survives
// the adjustment's strictest step (p * cells).
int default_rounds(std::size_t cells, double alpha) {
  const double fewest = std::ceil(std::log2(2.0 * static_cast<double>(std::max<std::size_t>(cells, 1)) / alpha));
  return std::max(12, static_cast<int>(fewest) + 3);
}

std::string resolve_binary(const std::string& given, const char* side) {
  namespace fs = std::filesystem;
  fs::path p(given);
  std::error_code ec;
  if (fs::is_directory(p, ec)) {
    for (const fs::path& in : {p / "harness" / "rcbench", p / "build" / "release" / "harness" / "rcbench", p / "rcbench"})
      if (fs::is_regular_file(in, ec)) return in.string();
    throw UsageError(std::string(side) + " '" + given +
                     "' is a directory without an rcbench in it (looked for harness/rcbench, "
                     "build/release/harness/rcbench and rcbench)");
  }
  if (!fs::exists(p, ec)) throw UsageError(std::string(side) + " '" + given + "': no such file");
  if (::access(given.c_str(), X_OK) != 0) throw UsageError(std::string(side) + " '" + given + "' is not executable");
  return given;
}

class AbSession {
 public:
  AbSession(const AbOptions& opt, Sides& sides, std::vector<AbCell> cells)
      : opt_(opt), sides_(sides), cells_(std::move(cells)), tty_(isatty(STDERR_FILENO) != 0) {}

  // Returns false when a signal stopped it.
  bool run(int rounds) {
    std::mt19937_64 rng(opt_.seed ? *opt_.seed : std::random_device{}());
    for (int round = 1; round <= rounds; ++round) {
      if (round > 1) sides_.respawn();
      std::vector<AbCell*> order;
      for (auto& c : cells_)
        if (c.error.empty()) order.push_back(&c);
      std::shuffle(order.begin(), order.end(), rng);
      for (AbCell* c : order) {
        if (Interrupts::interrupted()) return false;
        status(round, rounds, *c);
        block(*c, round % 2 == 1);
      }
      rounds_done_ = round;
    }
    clear_status();
    return !Interrupts::interrupted();
  }

  [[nodiscard]] std::vector<AbCell>& cells() { return cells_; }
  [[nodiscard]] int rounds_done() const { return rounds_done_; }

 private:
  // One round of one cell: ABBA (or BAAB), run again while disturbed.
  void block(AbCell& c, bool base_first) {
    if (c.iterations == 0 && !size(c)) return;
    for (int attempt = 0;; ++attempt) {
      double base_sum = 0, head_sum = 0;
      bool disturbed = false;
      for (int i = 0; i < 4; ++i) {
        const bool base_turn = (i == 0 || i == 3) == base_first;
        ServeChild& side = base_turn ? sides_.base() : sides_.head();
        const bool helpers = base_turn ? c.base_helpers : c.head_helpers;
        const nlohmann::json r =
            side.request("rep " + c.name + " " + std::to_string(c.iterations) + (helpers ? " 1" : " 0"));
        note_unbound(c, side, r);
        if (r.contains("error")) {
          c.error = side.label() + ": " + r["error"].get<std::string>();
          return;
        }
        (base_turn ? base_sum : head_sum) += r["ns_per_item"].get<double>();
        disturbed = disturbed || r["disturbed"].get<bool>();
      }
      if (disturbed && attempt < kBlockRetries) {
        ++c.disturbed_blocks;
        if (Interrupts::interrupted()) return;
        continue;
      }
      if (disturbed) ++c.accepted_disturbed;
      if (base_sum <= 0 || head_sum <= 0) {
        c.error = "a repetition measured no time";
        return;
      }
      c.ratios.push_back(head_sum / base_sum);
      c.base_ns.push_back(base_sum / 2);
      c.head_ns.push_back(head_sum / 2);
      last_ = c.name + " " + signed_percent(head_sum / base_sum - 1);
      return;
    }
  }

  static void note_unbound(AbCell& c, const ServeChild& side, const nlohmann::json& reply) {
    if (!reply.contains("unbound")) return;
    for (const auto& u : reply["unbound"]) {
      const std::string line = side.label() + " " + u.get<std::string>();
      if (std::find(c.unbound.begin(), c.unbound.end(), line) == c.unbound.end()) c.unbound.push_back(line);
    }
  }

  // Both sides' counted passes (strategy checks, warm caches); BASE's sizing
  // is used by both, so they time the same work.
  bool size(AbCell& c) {
    status(0, 0, c);
    const nlohmann::json a = sides_.base().request("count " + c.name);
    const nlohmann::json b = sides_.head().request("count " + c.name);
    note_unbound(c, sides_.base(), a);
    note_unbound(c, sides_.head(), b);
    for (const auto* r : {&a, &b})
      if (r->contains("error")) {
        c.error = (r == &a ? sides_.base() : sides_.head()).label() + ": " + (*r)["error"].get<std::string>();
        return false;
      }
    c.iterations = a["iterations"].get<std::uint64_t>();
    c.base_helpers = a["helper_threads"].get<bool>();
    c.head_helpers = b["helper_threads"].get<bool>();
    return true;
  }

  void status(int round, int rounds, const AbCell& c) {
    char buf[400];
    if (round == 0)
      std::snprintf(buf, sizeof buf, "counted passes: %s", c.name.c_str());
    else
      std::snprintf(buf, sizeof buf, "[round %d/%d] %s%s%s", round, rounds, c.name.c_str(),
                    last_.empty() ? "" : " | last: HEAD/BASE ", last_.c_str());
    if (tty_) {
      std::fprintf(stderr, "\r\033[K%s", buf);
      std::fflush(stderr);
    } else if (round > last_round_) {  // a log: one line a round
      last_round_ = round;
      std::fprintf(stderr, "%s\n", buf);
    }
  }
  void clear_status() const {
    if (tty_) std::fprintf(stderr, "\r\033[K");
  }

 public:
  static std::string signed_percent(double change) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%+.1f%%", 100 * change);
    return buf;
  }

 private:
  const AbOptions& opt_;
  Sides& sides_;
  std::vector<AbCell> cells_;
  bool tty_;
  int rounds_done_ = 0;
  int last_round_ = -1;
  std::string last_;
};

// Verdicts over every cell with rounds, Holm-adjusted together.
void warn_unbound(const std::vector<AbCell>& cells) {
  for (const AbCell& c : cells)
    for (const auto& u : c.unbound) std::cerr << "warning: " << c.name << ": " << u << " (that thread ran unpinned)\n";
}

void judge(std::vector<AbCell>& cells, const AbOptions& opt) {
  std::vector<double> p;
  std::vector<AbCell*> judged;
  for (auto& c : cells) {
    c.summary = summarise_pairs(c.ratios);
    if (!c.error.empty()) {
      c.verdict = AbVerdict::failed;
      continue;
    }
    if (c.ratios.empty()) continue;
    judged.push_back(&c);
    p.push_back(c.summary.test.p);
  }
  const std::vector<double> adjusted = holm_adjust(p);
  const double m = static_cast<double>(judged.size());
  for (std::size_t i = 0; i < judged.size(); ++i) {
    AbCell& c = *judged[i];
    c.p_holm = adjusted[i];
    // From the rounds, not the non-zero differences: rounds that all tie
    // at a ratio of exactly 1 are evidence of no change, not of too few rounds.
    const double strictest = std::min(1.0, m * min_signed_rank_p(c.ratios.size()));
    c.verdict = ab_verdict(c.summary, c.p_holm, strictest, opt.alpha, opt.threshold);
  }
}

std::string method_text(const AbOptions& opt, std::size_t cells) {
  char buf[768];
  std::snprintf(buf, sizeof buf,
                "each round starts a fresh process per side and runs every cell BASE HEAD HEAD BASE (odd rounds) or "
                "HEAD BASE BASE HEAD (even), the round's ratio is HEAD/BASE of the pair sums; Wilcoxon signed-rank test of the rounds' log ratios, "
                "Holm-adjusted over %zu cells (family-wise alpha %.3g); a verdict needs adjusted p < %.3g and the "
                "median ratio beyond +-%.3g%%",
                cells, opt.alpha, opt.alpha, 100 * opt.threshold);
  return buf;
}

nlohmann::json side_json(const ServeChild& s, const std::string& path) {
  return {{"path", path}, {"version", s.hello().value("version", "")}};
}

nlohmann::json ab_json(const std::vector<AbCell>& cells, const AbOptions& opt, const nlohmann::json& base,
                       const nlohmann::json& head, int rounds, int rounds_done, bool interrupted) {
  nlohmann::json out = {{"schema", "rcbench-ab/1"},
                        {"base", base},
                        {"head", head},
                        {"rounds_asked", rounds},
                        {"rounds_done", rounds_done},
                        {"interrupted", interrupted},
                        {"alpha", opt.alpha},
                        {"threshold", opt.threshold},
                        {"correction", "holm"},
                        {"method", method_text(opt, cells.size())},
                        {"cells", nlohmann::json::array()}};
  for (const AbCell& c : cells) {
    nlohmann::json j = {{"name", c.name},
                        {"rounds", c.ratios.size()},
                        {"iterations_per_repetition", c.iterations},
                        {"ratios", c.ratios},
                        {"base_ns_per_item", c.base_ns},
                        {"head_ns_per_item", c.head_ns},
                        {"median_ratio", c.summary.ratio},
                        {"p", c.summary.test.p},
                        {"p_holm", c.p_holm},
                        {"disturbed_blocks_rerun", c.disturbed_blocks},
                        {"disturbed_blocks_kept", c.accepted_disturbed},
                        {"verdict", std::string(to_string(c.verdict))}};
    if (c.summary.ci) j["ratio_ci95"] = {c.summary.ci->low, c.summary.ci->high};
    if (!c.error.empty()) j["error"] = c.error;
    if (!c.unbound.empty()) j["unbound"] = c.unbound;
    out["cells"].push_back(std::move(j));
  }
  return out;
}

void print_table(std::ostream& os, const std::vector<AbCell>& cells, bool markdown) {
  std::size_t width = 4;
  for (const auto& c : cells) width = std::max(width, c.name.size());
  const auto interval = [](const AbCell& c) {
    return c.summary.ci ? "[" + AbSession::signed_percent(c.summary.ci->low - 1) + ", " +
                              AbSession::signed_percent(c.summary.ci->high - 1) + "]"
                        : std::string("n/a");
  };
  char line[512];
  if (markdown) {
    os << "| cell | rounds | HEAD vs BASE | 95% interval | p (Holm) | verdict |\n|---|---|---|---|---|---|\n";
  } else {
    std::snprintf(line, sizeof line, "%-*s %6s %12s %20s %9s  %s\n", static_cast<int>(width), "cell", "rounds",
                  "HEAD vs BASE", "95% interval", "p (Holm)", "verdict");
    os << line;
  }
  for (const auto& c : cells) {
    const std::string change = c.ratios.empty() ? "n/a" : AbSession::signed_percent(c.summary.ratio - 1);
    char p[32];
    std::snprintf(p, sizeof p, "%.2g", c.p_holm);
    std::string verdict(to_string(c.verdict));
    if (!c.error.empty()) verdict += ": " + c.error;
    if (c.accepted_disturbed > 0) verdict += " (" + std::to_string(c.accepted_disturbed) + " disturbed round(s) kept)";
    if (markdown)
      os << "| " << c.name << " | " << c.ratios.size() << " | " << change << " | " << interval(c) << " | " << p
         << " | " << verdict << " |\n";
    else {
      std::snprintf(line, sizeof line, "%-*s %6zu %12s %20s %9s  %s\n", static_cast<int>(width), c.name.c_str(),
                    c.ratios.size(), change.c_str(), interval(c).c_str(), p, verdict.c_str());
      os << line;
    }
  }
}

std::map<AbVerdict, std::size_t> tally(const std::vector<AbCell>& cells) {
  std::map<AbVerdict, std::size_t> n;
  for (const auto& c : cells) ++n[c.verdict];
  return n;
}

// The cells both sides serve; the others are named, not errors (a strategy
// HEAD adds is not in BASE).
std::vector<AbCell> common_cells(const ServeChild& base, const ServeChild& head, std::ostream& msg) {
  const auto names = [](const ServeChild& s) { return s.hello()["cells"].get<std::vector<std::string>>(); };
  const std::vector<std::string> a = names(base), b = names(head);
  std::vector<AbCell> cells;
  for (const auto& n : b) {
    if (std::find(a.begin(), a.end(), n) != a.end())
      cells.emplace_back().name = n;
    else
      msg << "note: " << n << " is only in HEAD; not compared\n";
  }
  for (const auto& n : a)
    if (std::find(b.begin(), b.end(), n) == b.end()) msg << "note: " << n << " is only in BASE; not compared\n";
  return cells;
}

}  // namespace

int cmd_serve(const RunOptions& opt) {
  // The driver stops us by closing our standard input: a Ctrl-C or a
  // SIGTERM to the whole process group reaches the driver, which finishes
  // the round's bookkeeping first.
  for (const int sig : {SIGINT, SIGTERM, SIGHUP}) ::signal(sig, SIG_IGN);
  const Topology topo;
  const CellPlan plan = plan_cells(opt, topo);
  std::map<std::string, ServedCell> cells;
  nlohmann::json hello = {{"rcbench_serve", 1}, {"version", version_line()}, {"notes", plan.notes}};
  hello["cells"] = nlohmann::json::array();
  for (const PlannedCell& p : plan.cells) {
    cells[p.cell.name].planned = &p;
    hello["cells"].push_back(p.cell.name);
  }
  std::cout << hello.dump() << "\n" << std::flush;
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string verb, name;
    in >> verb >> name;
    nlohmann::json reply;
    const auto it = cells.find(name);
    if (it == cells.end()) {
      reply = {{"error", "no cell '" + name + "' in this selection"}};
    } else if (verb == "count") {
      reply = serve_count(it->second, plan, topo);
    } else if (verb == "rep") {
      std::uint64_t iterations = 0;
      int helper = -1;
      if (!(in >> iterations) || iterations == 0) {
        reply = {{"error", "rep needs a positive iteration count"}};
      } else {
        std::optional<bool> helper_threads;
        if (in >> helper) helper_threads = helper != 0;
        reply = serve_repetition(it->second, iterations, helper_threads, plan, topo);
      }
    } else if (verb == "full") {
      std::uint64_t iterations = 0;
      int helper = 0;
      std::string cpus;
      if (!(in >> iterations >> helper) || iterations == 0) {
        reply = {{"error", "full needs a positive iteration count and helper threads 0|1"}};
      } else {
        in >> cpus;
        reply = serve_full(it->second, iterations, helper != 0, cpu_list(cpus), plan, topo);
      }
    } else {
      reply = {{"error", "unknown request '" + verb + "'"}};
    }
    std::cout << reply.dump() << "\n" << std::flush;
  }
  return kExitOk;
}

int cmd_ab(const AbOptions& opt) {
  if (!(opt.alpha > 0 && opt.alpha < 1)) throw UsageError("--alpha must be between 0 and 1, such as 0.05");
  if (opt.rounds < 0) throw UsageError("--rounds must be 6 or more (or left out for the default)");
  if (opt.rounds > 0 && opt.rounds < 6)
    throw UsageError("--rounds " + std::to_string(opt.rounds) + " is too few: 6 is the fewest with an interval");
  if (opt.format != "console" && opt.format != "md" && opt.format != "json")
    throw UsageError("bad --format '" + opt.format + "' (valid: console, md, json)");
  if (!opt.out.empty())
    if (const std::string err = check_writable(opt.out); !err.empty()) throw UsageError(err);
  {
    // Unknown names, a thread count past the CPUs, an empty selection: one
    // line from here, before either side starts.
    const Topology topo;
    if (plan_cells(opt.selection, topo).cells.empty())
      throw UsageError("nothing to compare: the selection has no cell that can run (see rcbench run --list)");
  }
  const std::string base_bin = resolve_binary(opt.base, "BASE");
  const std::string head_bin = resolve_binary(opt.head, "HEAD");
  std::ostream& msg = opt.format == "console" ? std::cout : std::cerr;
  ::signal(SIGPIPE, SIG_IGN);  // a child that died is reported, not a silent exit

  try {
    Sides sides(base_bin, head_bin, opt.forwarded);
    const ServeChild& base = sides.base();
    const ServeChild& head = sides.head();
    for (const auto& n : base.hello()["notes"]) msg << "note: " << n.get<std::string>() << "\n";
    std::vector<AbCell> cells = common_cells(base, head, msg);
    if (cells.empty()) throw UsageError("nothing to compare: the two builds have no cell of this selection in common");
    const int rounds = opt.rounds > 0 ? opt.rounds : default_rounds(cells.size(), opt.alpha);
    msg << "rcbench ab: BASE " << base_bin << " (" << base.hello().value("version", "?") << ")\n"
        << "            HEAD " << head_bin << " (" << head.hello().value("version", "?") << ")\n"
        << "            " << cells.size() << " cell(s), " << rounds << " rounds; " << method_text(opt, cells.size())
        << "\n"
        << std::flush;

    Interrupts::catch_interrupts();
    const nlohmann::json base_side = side_json(base, base_bin), head_side = side_json(head, head_bin);
    AbSession session(opt, sides, std::move(cells));
    bool finished = false;
    try {
      finished = session.run(rounds);
    } catch (const AbError&) {
      warn_unbound(session.cells());  // what the sides said before one died still holds
      throw;
    }
    judge(session.cells(), opt);
    const nlohmann::json doc =
        ab_json(session.cells(), opt, base_side, head_side, rounds, session.rounds_done(), !finished);
    if (!opt.out.empty()) {
      const ResultsOutput out(opt.out);
      out.finish(doc);
    }
    if (opt.format == "json")
      std::cout << doc.dump(2) << "\n";
    else
      print_table(std::cout, session.cells(), opt.format == "md");
    const auto n = tally(session.cells());
    const auto count = [&](AbVerdict v) { return n.count(v) ? n.at(v) : 0; };
    msg << count(AbVerdict::slower) << " regression(s), " << count(AbVerdict::faster) << " improvement(s), "
        << count(AbVerdict::same) << " same, " << count(AbVerdict::noise) << " noise, "
        << count(AbVerdict::insufficient) << " insufficient data, " << count(AbVerdict::failed) << " failed\n";
    warn_unbound(session.cells());
    Interrupts::release_interrupts();
    if (!finished) {
      std::cerr << "rcbench ab: interrupted by signal " << Interrupts::signal_number() << " after "
                << session.rounds_done() << " full round(s); the verdicts above judge the rounds done\n";
      return 128 + Interrupts::signal_number();
    }
    return count(AbVerdict::slower) + count(AbVerdict::failed) > 0 ? kExitFailed : kExitOk;
  } catch (const AbError& e) {
    std::cerr << "rcbench ab: " << e.what() << "\n";
    return Interrupts::interrupted() ? 128 + Interrupts::signal_number() : kExitFailed;
  }
}

}  // namespace rcb
