#pragma once
// Waiting the way an interpreter thread waits: a thread about to block on
// another thread (queue.get(), a lock) first tells its strategy
// (enter_blocking(): a GIL is released, a stop-the-world pause may proceed
// without it, a buffered thread hands over its logs), then sleeps on a
// futex. Without that, stop-the-world and GIL strategies deadlock: the
// thread it waits for may itself be waiting for this one to reach a
// safepoint. Shared by handoff and pyvm_producer_consumer.

#include <atomic>
#include <cstdint>

#include "workloads/workload.h"

namespace rcb {

// Blocks until ready(word) holds. Acquire: what the writer released before
// changing `word` is visible afterwards. std::atomic::wait spins briefly
// before it sleeps. 32-bit because that is the futex word: libstdc++ waits
// on other widths through a shared proxy counter that every notify must
// increment.
template <class Ctx, class Ready>
void wait_until(Ctx& ctx, std::atomic<std::uint32_t>& word, Ready ready) {
  std::uint32_t v = word.load(std::memory_order_acquire);
  if (ready(v)) return;
  ctx.enter_blocking();
  while (!ready(v)) {
    word.wait(v, std::memory_order_acquire);
    v = word.load(std::memory_order_acquire);
  }
  ctx.leave_blocking();
}

// Producer/consumer workloads run pairs of threads (2k produces for 2k+1),
// or one thread that does both in turn.
[[nodiscard]] inline ThreadSupport paired_threads(std::uint32_t threads) {
  if (threads == 1 || (threads >= 2 && threads % 2 == 0)) return {true, {}};
  return {false, "producer/consumer pairs: 1 thread or an even count"};
}

}  // namespace rcb
