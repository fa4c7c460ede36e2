#pragma once
// The contract every workload satisfies, for every strategy S.
//
// A workload is a class template W<S>. Its constructor builds the shared
// structures on thread 0 (setup, never timed); run() does one iteration of
// one thread's share of work and returns that thread's checksum; the harness
// sums the threads' checksums (mod 2^64) and checks the sum against
// expected_checksum() after every iteration, so neither the compiler nor a
// strategy can skip refcount traffic. Each of N threads does the same amount
// of work (weak scaling, as CPython's Tools/ftscalingbench measures it).

#include <concepts>
#include <cstdint>
#include <string_view>

#include "strategies/object.h"
#include "strategies/strategy.h"

namespace rcb {

// reference: the pyvm_* programs at ../shared/reference_programs.py's own
// sizes (seconds per iteration); every other workload runs as at full.
enum class Size : std::uint8_t { quick, full, reference };

[[nodiscard]] constexpr std::string_view to_string(Size s) {
  return s == Size::quick ? "quick" : s == Size::full ? "full" : "reference";
}

struct WorkloadInfo {
  std::string_view name;
  std::string_view models;   // what it models, one line
  std::string_view pattern;  // the refcount pattern it stresses, one line
};

// A workload may turn some thread counts down (handoff needs pairs).
struct ThreadSupport {
  bool ok;
  std::string_view why;  // when !ok
};

template <template <class> class W, class S>
concept Workload =
    RefCountStrategy<S> &&
    requires { { W<S>::info } -> std::convertible_to<WorkloadInfo>; } &&
    std::constructible_from<W<S>, typename S::Context&, Size, std::uint32_t> &&
    requires(W<S>& w, const W<S>& cw, typename S::Context& ctx, ThreadIndex t) {
      { w.run(ctx, t) } -> std::same_as<std::uint64_t>;
      { cw.expected_checksum() } -> std::same_as<std::uint64_t>;
      { cw.items_per_thread() } -> std::same_as<std::uint64_t>;  // work units per iteration
      w.teardown(ctx);  // on thread 0, after the last iteration
    };

// Optional members a workload may have:
//   static ThreadSupport supports(std::uint32_t threads);
//     turns down thread counts it cannot divide work for (handoff: pairs).
//   static constexpr bool forks_processes = true;
//     its work runs in forked child processes (fork_cow): ThreadSanitizer
//     cannot follow it, and callgrind, counting the parent, would see none.
//   template <class Emit> void report(Emit&& emit) const;
//     emit(std::string_view name, double value) for figures the workload
//     measured itself (fork_cow: KiB dirtied per child); called on the main
//     thread after the last iteration, before teardown, and written next to
//     the strategy counters in the results.
//   void take_census(Census census);
//     counted pass only, after construction: the workload may count dead but
//     unfreed objects while it runs (workloads/census.h; blocked_owner).
template <template <class> class W, class S>
[[nodiscard]] ThreadSupport workload_supports(std::uint32_t threads) {
  if constexpr (requires { W<S>::supports(threads); })
    return W<S>::supports(threads);
  else
    return {threads >= 1, "needs at least one thread"};
}

template <class W>
inline constexpr bool kForksProcesses = requires { requires W::forks_processes; };

}  // namespace rcb
