#pragma once
// Weak and strong scaling: how one timed iteration's work is shared among a
// team's threads, in units.
//
// A unit is one call of a workload's run(ctx, ThreadIndex{u}): one thread's
// share under weak scaling, items_per_thread() items. The workload is built
// for as many "threads" as an iteration has units, so unit u always works on
// the u-th share of the same data set (dimuon's u-th slice of events,
// matmul_lists' u-th block of rows) and expected_checksum() is the sum over
// all units.
//
//   weak   (CPython's Tools/ftscalingbench; the default) each of N threads
//          runs one unit: the work grows with N. speedup = T1 * N / TN.
//   strong a fixed total of U units, the same at every thread count of a
//          run, is divided among the N threads (thread t runs units_of(t)).
//          speedup = T1 / TN. This is how users measured modern-di #435:
//          one fixed batch of requests spread over more and more workers.
//
// U is the least common multiple of the run's thread counts, so every
// thread count divides it and no thread ever runs more units than another:
// an imbalance would cap the speedup by granularity, not by the strategy.
// U is capped (kMaxStrongUnits) because the workload is built for U
// threads: its shared data grows with U, and a 1-thread iteration runs all
// U units.
//
// When not to use strong scaling: a workload whose threads depend on each
// other inside run() (handoff: a producer waits for its consumer) cannot
// have its units run one after another on one thread; it would deadlock.
// Such workloads declare supports() (the thread counts they can pair up),
// and strong scaling refuses every workload that does
// (units_are_independent below).

#include <cstdint>
#include <numeric>
#include <optional>
#include <string_view>
#include <vector>

namespace rcb {

enum class Scaling : std::uint8_t { weak, strong };

[[nodiscard]] constexpr std::string_view to_string(Scaling s) { return s == Scaling::weak ? "weak" : "strong"; }

[[nodiscard]] constexpr std::optional<Scaling> parse_scaling(std::string_view text) {
  if (text == "weak") return Scaling::weak;
  if (text == "strong") return Scaling::strong;
  return std::nullopt;
}

// How an iteration's units are shared out; the default is weak scaling.
struct WorkShare {
  Scaling scaling = Scaling::weak;
  std::uint32_t strong_units = 0;  // U, under strong scaling only

  // run() calls per iteration over all threads, which is also the thread
  // count the workload is built for.
  [[nodiscard]] constexpr std::uint32_t units(std::uint32_t threads) const {
    return scaling == Scaling::strong ? strong_units : threads;
  }
  // The units ns_per_item spreads an iteration's time over: one (weak: the
  // per-thread time per item, flat under ideal scaling) or all U (strong:
  // wall time per item of the fixed total, falling as 1/N under ideal
  // scaling). Either way speedup is a ratio of ns_per_item (measure.h).
  [[nodiscard]] constexpr std::uint32_t units_per_timed_item() const {
    return scaling == Scaling::strong ? strong_units : 1;
  }
};

// The units one thread runs: [begin, end).
struct UnitRange {
  std::uint32_t begin = 0, end = 0;
  [[nodiscard]] constexpr std::uint32_t size() const { return end - begin; }
};

// Thread `tid` of `threads` gets `units / threads` consecutive units, and
// the first `units % threads` threads one more each. Weak scaling (units ==
// threads) gives thread t exactly unit t, as before strong scaling existed.
[[nodiscard]] constexpr UnitRange units_of(std::uint32_t tid, std::uint32_t threads, std::uint32_t units) {
  const std::uint32_t base = units / threads, extra = units % threads;
  const std::uint32_t begin = tid * base + (tid < extra ? tid : extra);
  return {begin, begin + base + (tid < extra ? 1u : 0u)};
}

// The most units a strong-scaling iteration may hold (see above). 256 keeps
// every power-of-two thread list up to 256 threads, and 1,2,4,...,64,96;
// 1..8 (lcm 840) is refused with this reason.
inline constexpr std::uint32_t kMaxStrongUnits = 256;

// U for a run's thread counts: their least common multiple, or nullopt past
// kMaxStrongUnits.
[[nodiscard]] inline std::optional<std::uint32_t> strong_units_for(const std::vector<std::uint32_t>& threads) {
  std::uint64_t units = 1;
  for (const std::uint32_t t : threads) {
    units = std::lcm(units, std::uint64_t{t});
    if (units > kMaxStrongUnits) return std::nullopt;
  }
  return static_cast<std::uint32_t>(units);
}

// Whether W's per-thread shares are independent units that one thread may
// run one after another. A workload that turns thread counts down has
// threads that depend on each other (handoff's pairs), so it is not.
template <template <class> class W, class S>
[[nodiscard]] constexpr bool units_are_independent() {
  return !requires(std::uint32_t n) { W<S>::supports(n); };
}

}  // namespace rcb
