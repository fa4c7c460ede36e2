#pragma once
// The body of every benchmark: one strategy, one workload, one thread count.
//
// Google Benchmark calls this once per iteration-count probe and once per
// repetition. Each call starts a fresh Team (threads pinned, attached, the
// workload built), times only the iterations, verifies every iteration's
// checksum and, at the end, that every object was freed.
//
// Throughput, computed here rather than taken from Google Benchmark (whose
// meaning of real_time for threaded runs changed between 1.7 and 1.9):
//   items_per_second = iterations * threads * items_per_thread / sum(iteration seconds)
//   ns_per_item      = sum(iteration seconds) / (iterations * items_per_thread)
// An iteration's seconds run from the first thread leaving the start barrier
// to the last thread finishing. Each thread does the full per-thread work, so
// ideal (weak) scaling keeps ns_per_item flat and multiplies items_per_second
// by the thread count; speedup = T1 * N / TN as in CPython's ftscalingbench.

#include <benchmark/benchmark.h>

#include <cstdio>
#include <optional>
#include <string>

#include "harness/engine/frequency.h"
#include "harness/session.h"
#include "harness/engine/team.h"

namespace rcb {

inline std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(v));
  return buf;
}

template <RefCountStrategy S, template <class> class W>
void measure(benchmark::State& st, const Cell& cell, Session& session) {
  // A call that will not measure must still run Google Benchmark's loop to
  // its end, or 1.7.1 counts it as 0 iterations beside its sibling
  // repetitions and aborts in its statistics. After SkipWithError() the loop
  // ends at once.
  const auto abandon = [&](const std::string& why) {
    st.SkipWithError(why.c_str());
    while (st.KeepRunning()) {
    }
  };
  if (Session::interrupted()) {
    abandon("interrupted");
    return;
  }
  const Topology& topo = session.topology();
  const int first_cpu = cell.cpus.empty() ? -1 : cell.cpus.front();
  const auto calibrate = [&] { return measure_ghz_on(topo, first_cpu, 3); };
  const double ghz_before = session.calibrated_ghz(first_cpu, true, calibrate);

  TeamConfig cfg;
  cfg.threads = cell.threads;
  cfg.size = session.options().size;
  cfg.on_thread_start = [&](std::uint32_t tid) -> int {
    const int cpu = cell.cpus[tid];
    std::string why;
    if (topo.bind_current_thread(cpu, &why)) return cpu;
    session.warn_once("could not bind a thread to CPU " + std::to_string(cpu) + ": " + why +
                      " (threads run unpinned)");
    return -1;
  };

  const auto fail = [&](const std::string& what) {
    session.fail(cell.name + ": " + what);
    st.SkipWithError(what.c_str());
  };

  std::optional<Team<S, W>> team;
  try {
    team.emplace(cfg);
  } catch (const std::exception& e) {
    session.fail(cell.name + ": setup failed: " + e.what());
    abandon(std::string("setup failed: ") + e.what());
    return;
  }

  double seconds = 0.0;
  std::uint64_t iterations = 0;
  std::optional<std::uint64_t> bad_checksum;
  // KeepRunning(), not a range-for: leaving a range-for early (Ctrl-C, a
  // worker's exception) leaves Google Benchmark 1.7.1 believing the run did
  // fewer iterations than its sibling repetitions, and its statistics then
  // abort the process. SkipWithError() ends a KeepRunning() loop consistently.
  try {
    while (st.KeepRunning()) {
      if (Session::interrupted()) {
        st.SkipWithError("interrupted");
        continue;  // KeepRunning() now returns false
      }
      const IterationResult r = team->iterate();
      if (r.checksum != team->expected_checksum()) bad_checksum = r.checksum;
      st.SetIterationTime(r.seconds);
      seconds += r.seconds;
      ++iterations;
    }
  } catch (const std::exception& e) {
    fail(std::string("a worker failed: ") + e.what());
  }
  const std::uint64_t items_per_thread = team->items_per_thread();
  const std::uint64_t expected = team->expected_checksum();
  RunTotals totals;
  try {
    totals = team->finish();
  } catch (const std::exception& e) {
    fail(std::string("teardown failed: ") + e.what());
    return;
  }
  team.reset();
  session.call_finished(cell.name, seconds, session.options().min_time);
  if (st.error_occurred()) return;

  const double ghz_after = session.calibrated_ghz(first_cpu, false, calibrate);
  if (bad_checksum) {
    fail("checksum mismatch: got " + hex(*bad_checksum) + ", expected " + hex(expected));
    return;
  }
  if (totals.live() != 0) {
    fail(std::to_string(totals.live()) + " objects still live after the run (" +
         std::to_string(totals.allocated) + " allocated, " + std::to_string(totals.freed) + " freed)");
    return;
  }

  const double items = static_cast<double>(iterations) * static_cast<double>(items_per_thread);
  const double ns_per_item = seconds / items * 1e9;
  const double ghz = 0.5 * (ghz_before + ghz_after);
  st.counters["items_per_second"] = items * cell.threads / seconds;
  st.counters["ns_per_item"] = ns_per_item;
  st.counters["cycles_per_item"] = ns_per_item * ghz;
  st.counters["ghz_before"] = ghz_before;
  st.counters["ghz_after"] = ghz_after;
  st.counters["items_per_thread"] = static_cast<double>(items_per_thread);
  st.counters["checksum_ok"] = 1.0;
  // Strategy counters: sums per item processed (all threads), peaks raw.
  for (const Counter c : S::reported) {
    const CounterInfo& ci = info(c);
    const double v = static_cast<double>(totals.counters[c]);
    st.counters[std::string(ci.name)] = ci.aggregate == Aggregate::sum ? v / (items * cell.threads) : v;
  }
  for (const auto& [name, value] : totals.workload_figures) st.counters[name] = value;

  for (std::size_t t = 0; t < totals.bound_cpu.size(); ++t)
    if (totals.bound_cpu[t] >= 0 && totals.last_cpu[t] != totals.bound_cpu[t])
      session.warn_once("thread " + std::to_string(t) + " of " + cell.name + " was bound to CPU " +
                        std::to_string(totals.bound_cpu[t]) + " but found on CPU " +
                        std::to_string(totals.last_cpu[t]));
  session.record_call(cell.name, {{"iterations", iterations},
                                  {"ghz_before", ghz_before},
                                  {"ghz_after", ghz_after},
                                  {"checksum", hex(expected)},
                                  {"bound_cpus", totals.bound_cpu},
                                  {"ran_on_cpus", totals.last_cpu}});
}

}  // namespace rcb
