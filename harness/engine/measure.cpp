// The measuring code of measure.h, compiled once: it sees a cell only as a
// TeamBase built by the cell's factory.
#include "harness/engine/measure.h"

#include "harness/engine/stats.h"

#include <algorithm>
#include <exception>

namespace rcb {

Repetition run_repetition(const RepetitionPlan& plan, const TeamFactory& make) {
  Repetition rep;
  TeamConfig cfg;
  cfg.threads = plan.threads;
  cfg.size = plan.size;
  cfg.share = plan.share;
  cfg.on_thread_start = plan.bind;
  rep.threads = plan.threads;
  rep.share = plan.share;
  std::unique_ptr<TeamBase> team;
  try {
    team = make(cfg);
  } catch (const std::exception& e) {
    rep.error = std::string("setup failed: ") + e.what();
    return rep;
  }
  const auto stopped = [&] { return plan.stop && plan.stop->load(std::memory_order_relaxed); };
  rep.items_per_thread = team->items_per_thread();
  rep.usage.assign(plan.threads, ThreadUsage{});
  try {
    if (plan.warmup) (void)team->iterate();  // caches, allocator pages, branch history
    const std::optional<double> steal0 = steal_seconds(plan.cpus);
    for (std::uint64_t i = 0; i < plan.iterations; ++i) {
      if (stopped()) {
        rep.interrupted = true;
        break;
      }
      const IterationResult r = team->iterate();
      if (rep.error.empty()) rep.error = team->iteration_error(r);
      rep.seconds += r.seconds;
      for (std::size_t t = 0; t < r.usage.size(); ++t) {
        rep.usage[t] += r.usage[t];
        rep.cpu_seconds += static_cast<double>(r.usage[t].cpu_ns) * 1e-9;
      }
      ++rep.iterations;
    }
    const std::optional<double> steal1 = steal_seconds(plan.cpus);
    const double steal = steal0 && steal1 ? *steal1 - *steal0 : 0.0;
    rep.disturbance = judge_disturbance(rep.usage, steal, rep.seconds, plan.own_helper_threads);
  } catch (const std::exception& e) {
    rep.error = std::string("a worker failed: ") + e.what();
  }
  RunTotals totals;
  try {
    totals = team->finish();
  } catch (const std::exception& e) {
    if (rep.error.empty()) rep.error = std::string("teardown failed: ") + e.what();
    return rep;
  }
  rep.checksum = team->expected_checksum();
  rep.bound_cpu = totals.bound_cpu;
  rep.last_cpu = totals.last_cpu;
  rep.workload_figures = totals.workload_figures;
  if (rep.error.empty() && totals.live() != 0)
    rep.error = std::to_string(totals.live()) + " objects still live after the run (" +
                std::to_string(totals.allocated) + " allocated, " + std::to_string(totals.freed) + " freed)";
  return rep;
}

CountedPass counted_pass(std::uint32_t threads, Size size, double min_time,
                         const std::function<int(std::uint32_t)>& bind, WorkShare share, const TeamFactory& make) {
  CountedPass pass;
  TeamConfig cfg;
  cfg.threads = threads;
  cfg.size = size;
  cfg.share = share;
  cfg.on_thread_start = bind;
  cfg.census = true;
  const std::size_t threads_before = thread_count();
  try {
    const std::unique_ptr<TeamBase> team = make(cfg);
    pass.items_per_thread = team->items_per_thread();
    pass.units = team->units();
    double total = 0;
    std::vector<double> after_first;
    // At least two iterations, so the second one's time is free of first-touch costs.
    for (std::uint64_t i = 0; i < 2 || (total < min_time && i < 1'000'000); ++i) {
      const IterationResult r = team->iterate();
      if (i == 0) pass.helper_threads = thread_count() > threads_before + threads;
      if (std::string wrong = team->iteration_error(r); !wrong.empty()) {
        pass.error = "in the counted pass: " + wrong;
        break;
      }
      if (i > 0) after_first.push_back(r.seconds);
      total += r.seconds;
      ++pass.iterations;
    }
    pass.seconds_per_iteration = median(after_first);
    const RunTotals totals = team->finish();
    pass.counters = totals.counters;
    pass.workload_figures = totals.workload_figures;
    if (pass.error.empty() && totals.live() != 0)
      pass.error = std::to_string(totals.live()) + " objects still live after the counted pass";
  } catch (const std::exception& e) {
    pass.error = std::string("counted pass failed: ") + e.what();
  }
  return pass;
}

std::size_t helper_threads(Size size, const TeamFactory& make) {
  const std::size_t before = thread_count();
  TeamConfig cfg;
  cfg.threads = 1;
  cfg.size = size;
  const std::unique_ptr<TeamBase> team = make(cfg);
  (void)team->iterate();  // a helper started lazily exists by now
  const std::size_t during = thread_count();
  (void)team->finish();
  return during > before + 1 ? during - before - 1 : 0;
}

}  // namespace rcb
