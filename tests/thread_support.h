#pragma once
// Helpers for tests that drive strategy code from several threads by hand:
// attached threads sharing one runtime, turn-taking between them, a
// one-slot mailbox, and the stress-tuned strategy variants.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string_view>
#include <thread>
#include <vector>

#include "strategies/biased.h"
#include "strategies/buffered.h"
#include "strategies/object.h"
#include "strategies/strategy.h"

namespace rcb::test {

// Test-only tunings: random yields in every slow path and at safepoints;
// for buffered also tiny logs, a pool small enough that threads hit
// backpressure all the time, and fast epochs.
struct StressBufferedTuning : BufferedTuning {
  static constexpr std::string_view kName = "buffered_stress";
  static constexpr std::size_t kLogEntries = 8;
  static constexpr std::size_t kMaxLogs = 5;
  static constexpr std::chrono::microseconds kEpochInterval{100};
  static constexpr bool kChaos = true;
};
using StressBuffered = BasicBuffered<StressBufferedTuning>;

struct StressBiasedTuning : BiasedTuning {
  static constexpr std::string_view kName = "biased_stress";
  static constexpr bool kChaos = true;
};
using StressBiased = BasicBiased<StressBiasedTuning>;

// What run_threads() saw: live objects after shutdown (must be 0), and each
// thread's counters and frees as they stood after its detach().
struct ThreadsResult {
  std::int64_t live = 0;
  std::vector<Counters> counters;
  std::vector<std::uint64_t> freed;
};

enum class Launch { together, one_after_another };

// Runs each body(ctx) on its own thread with an attached context of `rt`
// (all at once, or each after the previous one detached and ended), then
// shuts `rt` down.
template <class S, class... Bodies>
ThreadsResult run_threads(typename S::Runtime& rt, Launch launch, Bodies&&... bodies) {
  constexpr std::uint32_t n = sizeof...(Bodies);
  std::vector<std::uint64_t> allocated(n, 0);
  ThreadsResult r;
  r.counters.resize(n);
  r.freed.resize(n);
  std::vector<std::thread> threads;
  threads.reserve(n);
  std::uint32_t next_index = 0;
  auto start = [&](auto& body) {
    const std::uint32_t i = next_index++;
    threads.emplace_back([&, i] {
      typename S::Context ctx(rt, ThreadIndex{i});
      ctx.attach();
      body(ctx);
      ctx.detach();
      allocated[i] = ctx.allocated;
      r.freed[i] = ctx.freed;
      r.counters[i] = ctx.counters;
    });
    if (launch == Launch::one_after_another) threads.back().join();
  };
  (start(bodies), ...);
  for (auto& t : threads)
    if (t.joinable()) t.join();
  rt.shutdown();
  std::int64_t live = 0;
  for (std::uint32_t i = 0; i < n; ++i)
    live += static_cast<std::int64_t>(allocated[i]) - static_cast<std::int64_t>(r.freed[i]);
  if constexpr (requires { rt.objects_freed(); }) live -= static_cast<std::int64_t>(rt.objects_freed());
  r.live = live;
  return r;
}

template <class S, class... Bodies>
std::int64_t run_on_threads(typename S::Runtime& rt, Bodies&&... bodies) {
  return run_threads<S>(rt, Launch::together, bodies...).live;
}

// Turn-taking between test threads: one raises the step, others wait for it.
class Turns {
 public:
  void reach(int step) {
    step_.store(step, std::memory_order_release);
    step_.notify_all();
  }
  // Waits without telling the strategy: the thread stays running, which
  // is what a test wants when it must hold an epoch or an owner still.
  void await(int step) const {
    for (int s; (s = step_.load(std::memory_order_acquire)) < step;)
      step_.wait(s, std::memory_order_acquire);
  }
  // Waits as a blocked thread (releases a GIL, lets epochs close).
  template <class Ctx>
  void await(int step, Ctx& ctx) const {
    if (step_.load(std::memory_order_acquire) >= step) return;
    ctx.enter_blocking();
    await(step);
    ctx.leave_blocking();
  }

 private:
  std::atomic<int> step_{0};
};

// One object at a time from one sender thread to one receiver thread (a
// second sender or receiver would race for the slot); both wait as blocked
// threads. The reference travels with the object.
template <class S>
class Mailbox {
 public:
  void send(typename S::Context& ctx, Object<S>* o) {
    ctx.publish(o);
    wait_while(ctx, [](Object<S>* in_slot) { return in_slot != nullptr; });
    slot_.store(o, std::memory_order_release);  // publishes o's contents
    slot_.notify_one();
  }
  Object<S>* receive(typename S::Context& ctx) {
    wait_while(ctx, [](Object<S>* in_slot) { return in_slot == nullptr; });
    Object<S>* o = slot_.exchange(nullptr, std::memory_order_acq_rel);
    slot_.notify_one();
    return o;
  }

 private:
  // Acquire: the sender's release store of the slot publishes the object.
  template <class Busy>
  void wait_while(typename S::Context& ctx, Busy busy) {
    Object<S>* seen = slot_.load(std::memory_order_acquire);
    if (!busy(seen)) return;
    ctx.enter_blocking();
    do {
      slot_.wait(seen, std::memory_order_acquire);
      seen = slot_.load(std::memory_order_acquire);
    } while (busy(seen));
    ctx.leave_blocking();
  }
  std::atomic<Object<S>*> slot_{nullptr};
};

}  // namespace rcb::test
