#include "harness/engine/team_base.h"

#include <algorithm>
#include <climits>
#include <stdexcept>

namespace rcb {

TeamBase::TeamBase(TeamConfig cfg)
    : cfg_(std::move(cfg)), units_(cfg_.share.units(cfg_.threads)), slots_(cfg_.threads) {
  if (cfg_.threads == 0) throw std::invalid_argument("a team needs at least one thread");
  if (units_ < cfg_.threads) throw std::invalid_argument("strong scaling needs at least one unit of work per thread");
}

TeamBase::~TeamBase() = default;

void TeamBase::launch() {
  workers_.reserve(cfg_.threads);
  for (std::uint32_t t = 0; t < cfg_.threads; ++t)
    workers_.emplace_back([this, t] {
      if (cfg_.on_thread_start) slots_[t].bound_cpu = cfg_.on_thread_start(t);
      worker_main(t);
    });
  command(Command::setup);
  if (has_error_.load(std::memory_order_acquire)) {
    // Setup failed: stop the workers before the error leaves, or their
    // std::thread destructors would terminate the program. A workload that
    // was built (another thread failed) is torn down first, so its objects
    // are freed.
    stop_workers();
    (void)close_runtime();
    finished_ = true;
    rethrow_worker_error();
  }
  baseline_ = collect_counters();
}

void TeamBase::finish_quietly() noexcept {
  if (finished_) return;
  try {
    (void)finish();
  } catch (...) {
  }
}

IterationResult TeamBase::iterate() {
  command(Command::iterate);
  rethrow_worker_error();
  std::int64_t first = INT64_MAX, last = INT64_MIN;
  std::uint64_t sum = 0;
  std::uint32_t units = 0;
  std::vector<ThreadUsage> usage;
  usage.reserve(slots_.size());
  for (const Slot& s : slots_) {
    first = std::min(first, s.t0);
    last = std::max(last, s.t1);
    sum += s.checksum;
    units += s.units;
    usage.push_back(s.usage);
  }
  return {static_cast<double>(last - first) * 1e-9, sum, units, std::move(usage)};
}

RunTotals TeamBase::finish() {
  finished_ = true;
  RunTotals totals;
  totals.counters = collect_counters().since(baseline_);
  report_workload(totals.workload_figures);
  stop_workers();
  const std::uint64_t freed_by_runtime = close_runtime();
  for (const Slot& s : slots_) {
    totals.allocated += s.allocated;
    totals.freed += s.freed;
    totals.bound_cpu.push_back(s.bound_cpu);
    totals.last_cpu.push_back(s.last_cpu);
  }
  totals.freed += freed_by_runtime;
  rethrow_worker_error();
  return totals;
}

std::string TeamBase::iteration_error(const IterationResult& r) const {
  if (r.checksum != expected_)
    return "checksum mismatch: got " + hex(r.checksum) + ", expected " + hex(expected_);
  if (r.units != units_)
    return "ran " + std::to_string(r.units) + " units of work, expected " + std::to_string(units_);
  return {};
}

void TeamBase::stop_workers() {
  command(Command::teardown);
  command(Command::exit);
  for (std::thread& w : workers_) w.join();
}

void TeamBase::command(Command c) {
  current_ = c;
  arrived_.store(0, std::memory_order_relaxed);
  remaining_.store(cfg_.threads, std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_release);
  generation_.notify_all();
  for (std::uint32_t r; (r = remaining_.load(std::memory_order_acquire)) != 0;)
    remaining_.wait(r, std::memory_order_acquire);
}

std::uint64_t TeamBase::wait_for_command(std::uint64_t seen) const {
  for (int spin = 0; spin < 4096; ++spin) {
    const auto g = generation_.load(std::memory_order_acquire);
    if (g != seen) return g;
    cpu_relax();
  }
  for (;;) {
    generation_.wait(seen, std::memory_order_acquire);
    const auto g = generation_.load(std::memory_order_acquire);
    if (g != seen) return g;
  }
}

void TeamBase::done() {
  if (remaining_.fetch_sub(1, std::memory_order_acq_rel) == 1) remaining_.notify_one();
}

void TeamBase::record_current_error() noexcept {
  bool expected = false;
  if (has_error_.compare_exchange_strong(expected, true)) error_ = std::current_exception();
}

void TeamBase::rethrow_worker_error() {
  if (has_error_.load(std::memory_order_acquire)) std::rethrow_exception(error_);
}

void TeamBase::serve_without_context() {
  for (std::uint64_t seen = 0;;) {
    seen = wait_for_command(seen);
    const Command c = current_;
    done();
    if (c == Command::exit) return;
  }
}

}  // namespace rcb
