#pragma once
// How one repetition is timed and judged, and how the counters are taken.
//
// A repetition builds a fresh Team of Uncounted<S> (threads pinned, attached,
// the workload built), runs one untimed warm-up iteration (unless one
// iteration alone fills the repetition), then `iterations`
// timed ones, verifies every checksum and, at the end, that every object was
// freed. Around the timed iterations it records what the operating system
// saw (CPU time, context switches, steal) and judges whether the repetition
// was disturbed (harness/engine/disturbance.h). Its strategy code counts
// nothing: the counters come from counted_pass(), a separate run of S itself
// that is never timed, and so do the figures a workload samples while it
// runs (TeamConfig::census).
//
// Throughput, computed here rather than taken from Google Benchmark (whose
// meaning of real_time for threaded runs changed between 1.7 and 1.9). An
// iteration's seconds run from the first thread leaving the start barrier
// to the last thread finishing (wall time of the whole team); units are
// run() calls (harness/engine/scaling.h), items_per_thread items each.
//
// Weak scaling (the default): each of N threads does the full per-thread
// work, one unit, so
//   items_per_second = iterations * threads * items_per_thread / sum(iteration seconds)
//   ns_per_item      = sum(iteration seconds) / (iterations * items_per_thread)
// ns_per_item is the per-thread time per item, flat under ideal scaling;
// speedup = T1 * N / TN = ns_per_item(1) * N / ns_per_item(N), as in
// CPython's ftscalingbench.
//
// Strong scaling (--scaling strong): a fixed total of U units per
// iteration, divided among the N threads, so
//   items_per_second = iterations * U * items_per_thread / sum(iteration seconds)
//   ns_per_item      = sum(iteration seconds) / (iterations * U * items_per_thread)
// ns_per_item is wall time per item of the whole fixed work, falling as
// 1/N under ideal scaling; speedup = T1 / TN = ns_per_item(1) / ns_per_item(N).
//
// Both: items_per_second counts every item every thread processed, so its
// ratio between N threads and 1 is the speedup under either definition.

#include <atomic>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "harness/engine/disturbance.h"
#include "harness/engine/helper_threads.h"
#include "harness/engine/scaling.h"
#include "harness/engine/team.h"
#include "harness/engine/usage.h"

namespace rcb {

// What a repetition needs to know.
struct RepetitionPlan {
  std::uint32_t threads = 1;
  Size size = Size::quick;
  WorkShare share;                            // weak scaling unless told otherwise
  std::uint64_t iterations = 1;               // timed, after one warm-up
  std::function<int(std::uint32_t)> bind;     // pins worker tid; returns its CPU or -1
  std::vector<int> cpus;                      // where the workers run (steal is read there)
  bool own_helper_threads = false;            // from the counted pass
  bool warmup = true;                         // one untimed iteration first
  const std::atomic<bool>* stop = nullptr;    // a signal arrived: stop between iterations
};

struct Repetition {
  std::string error;  // non-empty: the repetition failed (checksum, leak, exception)
  bool interrupted = false;
  std::uint64_t iterations = 0;
  std::uint64_t items_per_thread = 0;  // per unit: one thread's share under weak scaling
  std::uint32_t threads = 1;
  WorkShare share;
  std::uint64_t checksum = 0;
  double seconds = 0;       // sum of timed iteration spans
  double cpu_seconds = 0;   // workers' CPU time over the timed iterations, summed over workers
  std::vector<ThreadUsage> usage;  // per worker, summed over the timed iterations
  Disturbance disturbance;
  std::vector<int> bound_cpu, last_cpu;
  std::vector<std::pair<std::string, double>> workload_figures;

  // The formulas in the header comment.
  [[nodiscard]] double ns_per_item() const {
    const double items = static_cast<double>(iterations) * static_cast<double>(items_per_thread) *
                         share.units_per_timed_item();
    return items > 0 ? seconds / items * 1e9 : 0;
  }
  [[nodiscard]] double items_per_second() const {
    const double items = static_cast<double>(iterations) * static_cast<double>(items_per_thread) *
                         share.units(threads);
    return seconds > 0 ? items / seconds : 0;
  }
};

// Builds a fresh team with `make` and times it (the header comment).
[[nodiscard]] Repetition run_repetition(const RepetitionPlan& plan, const TeamFactory& make);

// T is the exact instantiation timed: Uncounted<S> for every real
// measurement; S itself only for `rcbench run --time-counted`, which shows
// what counting would cost if it were left in.
template <RefCountStrategy T, template <class> class W>
[[nodiscard]] Repetition run_repetition(const RepetitionPlan& plan) {
  return run_repetition(plan, Team<T, W>::factory());
}

// The untimed pass that runs S itself, counting. It also sizes the timed
// repetitions (how many iterations fill min_time) and finds helper threads.
struct CountedPass {
  std::string error;
  Counters counters;           // over every iteration of the pass
  std::uint64_t iterations = 0;
  std::uint64_t items_per_thread = 0;
  std::uint32_t units = 0;           // run() calls per iteration (threads, or U under strong scaling)
  // The median counted iteration, the first (first-touch costs) left out:
  // a robust estimate, where the fastest one swung the repetition's size by
  // 0.4-4.5x between runs.
  double seconds_per_iteration = 0;
  bool helper_threads = false;       // the runtime runs threads of its own
  // From W::report(), over every iteration of the pass: the figures a
  // workload samples while it runs (with its Census) are measured here only.
  std::vector<std::pair<std::string, double>> workload_figures;
};

[[nodiscard]] CountedPass counted_pass(std::uint32_t threads, Size size, double min_time,
                                       const std::function<int(std::uint32_t)>& bind, WorkShare share,
                                       const TeamFactory& make);

template <RefCountStrategy S, template <class> class W>
[[nodiscard]] CountedPass counted_pass(std::uint32_t threads, Size size, double min_time,
                                       const std::function<int(std::uint32_t)>& bind, WorkShare share = {}) {
  return counted_pass(threads, size, min_time, bind, share, Team<S, W>::factory());
}

}  // namespace rcb
