#pragma once
// handoff: one thread creates, another drops (seed 001's `L.clear()` run by
// a thread other than the one that filled L).
//
//   # producer                          # consumer
//   for i in range(n):                  for _ in range(n):
//       q.put((i, i * 0.5, 3 * i + 1))      a, b, c = q.get()
//                                           total += a + int(b * 2) + c
//
// Pattern: cross-thread decref. Every tuple dies on a thread that did not
// create it: under `biased` each one is queued to its owner and merged
// there, under `buffered` the decref must wait for the producer's increfs'
// epoch, under `atomic` the count lines move between cores.
//
// Threads come in pairs: thread 2k produces for thread 2k+1 through a
// bounded queue that hands over items in batches (so synchronisation costs
// one release store per batch, not per item). Odd counts above one are
// turned down; at one thread the same thread fills a batch and then drains
// it, so `plain` can run it too. A waiting thread calls enter_blocking()
// first (queue.get() releases the GIL; a buffered thread hands over its
// logs) and waits on a futex.
//
// Declares nothing. CPython would take i and 3 * i + 1 below 257 from its
// immortal small-int cache; here every payload is a fresh mortal object
// (0.5% of the quick size's ints), because an object declared while the
// run goes on stays pinned until shutdown.
// Work per iteration per thread: n items (quick 50,000; full 1,000,000). A
// producer creates 4 objects per item (the tuple and its three payloads);
// a consumer does 4 increfs and 4 decrefs per item (unpacking, and the
// names dying) and frees, or has its strategy free, all 4. The iteration
// time covers both halves of every pair.
// Checksum per pair (or the single thread): n for the items handed over,
// plus sum(5 * i + 1 for i in range(n)) for the payloads read.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>

#include "strategies/chaos.h"
#include "strategies/object.h"
#include "workloads/blocking.h"
#include "workloads/workload.h"

namespace rcb {

// One pair's checksum for n items (i, i * 0.5, 3 * i + 1): the producer
// reports n, the consumer sum(i + int(i * 0.5 * 2) + 3 * i + 1) = sum(5 * i + 1).
[[nodiscard]] constexpr std::uint64_t handoff_pair_checksum(std::uint64_t n) {
  return n + 5 * (n * (n - 1) / 2) + n;
}

// Sizes and knobs; tests shrink them and switch on random yields.
struct HandoffShape {
  std::uint32_t quick_items = 50'000;
  std::uint32_t full_items = 1'000'000;
  std::uint32_t batch = 256;       // items per hand-over
  std::uint32_t queue_batches = 8;  // batches in flight before the producer waits
  bool chaos = false;              // random yields between items (tests only)
};

template <class S, HandoffShape kShape = HandoffShape{}>
class BasicHandoff {
  static_assert(kShape.batch > 0);
  // A power of two, so slot indices stay in step when the 32-bit batch
  // counters wrap.
  static_assert(kShape.queue_batches > 0 && (kShape.queue_batches & (kShape.queue_batches - 1)) == 0);

 public:
  static constexpr WorkloadInfo info{
      "handoff", "one thread creates tuples, another unpacks and drops them (L.clear() elsewhere)",
      "cross-thread decref: biased's queue, buffered's ordering, atomic's line moves"};

  using Ctx = typename S::Context;
  using Obj = Object<S>;

  static ThreadSupport supports(std::uint32_t threads) { return paired_threads(threads); }

  BasicHandoff(Ctx&, Size size, std::uint32_t threads)
      : n_(size == Size::quick ? kShape.quick_items : kShape.full_items),
        pairs_(threads == 1 ? 1 : threads / 2),
        solo_(threads == 1),
        channels_(std::make_unique<Channel[]>(pairs_)) {}

  std::uint64_t run(Ctx& ctx, ThreadIndex t) {
    Chaos<kShape.chaos> chaos(t.value + 1);
    Channel& ch = channels_[t.value / 2];
    if (solo_) return run_solo(ctx, ch.slots[0], chaos);
    return t.value % 2 == 0 ? produce(ctx, ch, chaos) : consume(ctx, ch, chaos);
  }

  [[nodiscard]] std::uint64_t expected_checksum() const { return pairs_ * handoff_pair_checksum(n_); }
  [[nodiscard]] std::uint64_t items_per_thread() const { return n_; }

  template <class Visit>
  void roots(Visit&&) const {}  // nothing stays shared between iterations
  void teardown(Ctx&) {}        // every iteration drains its queues

 private:
  struct Batch {
    std::uint32_t n;
    Obj* items[kShape.batch];  // each an owned reference, stolen by the receiver
  };

  // One pair's queue: a ring of batches, indices counted in batches. 32-bit
  // because that is the futex word: libstdc++ waits on other widths through
  // a shared proxy counter that every notify must increment.
  struct Channel {
    alignas(64) std::atomic<std::uint32_t> tail{0};  // batches published (producer)
    alignas(64) std::atomic<std::uint32_t> head{0};  // batches consumed (consumer)
    alignas(64) Batch slots[kShape.queue_batches];
  };

  template <class Chaotic>
  std::uint64_t produce(Ctx& ctx, Channel& ch, Chaotic& chaos) {
    std::uint32_t tail = ch.tail.load(std::memory_order_relaxed);  // only we write it
    for (std::uint32_t i = 0; i < n_; ++tail) {
      // Acquire: the consumer's reads of the slot we are about to refill
      // happen before our writes.
      wait_until(ctx, ch.head, [&](std::uint32_t head) { return tail - head < kShape.queue_batches; });
      i = fill(ctx, ch.slots[tail % kShape.queue_batches], i, chaos);
      // Release: the tuples and their payloads are visible to the consumer.
      ch.tail.store(tail + 1, std::memory_order_release);
      ch.tail.notify_one();  // no syscall unless the consumer sleeps
    }
    return n_;
  }

  template <class Chaotic>
  std::uint64_t consume(Ctx& ctx, Channel& ch, Chaotic& chaos) {
    std::uint64_t total = 0;
    std::uint32_t head = ch.head.load(std::memory_order_relaxed);  // only we write it
    for (std::uint32_t got = 0; got < n_; ++head) {
      // Acquire: pairs with the producer's release of this batch.
      wait_until(ctx, ch.tail, [&](std::uint32_t tail) { return tail != head; });
      Batch& b = ch.slots[head % kShape.queue_batches];
      total += drain(ctx, b, chaos);
      got += b.n;
      // Release: our reads of the slot happen before the producer refills it.
      ch.head.store(head + 1, std::memory_order_release);
      ch.head.notify_one();
    }
    return total;
  }

  template <class Chaotic>
  std::uint64_t run_solo(Ctx& ctx, Batch& b, Chaotic& chaos) {
    std::uint64_t total = 0;
    for (std::uint32_t i = 0; i < n_;) {
      i = fill(ctx, b, i, chaos);
      total += b.n + drain(ctx, b, chaos);
    }
    return total;
  }

  // q.put((i, i * 0.5, 3 * i + 1)) for the next batch of items; returns the
  // next i.
  template <class Chaotic>
  std::uint32_t fill(Ctx& ctx, Batch& b, std::uint32_t i, Chaotic& chaos) {
    const std::uint32_t count = std::min<std::uint32_t>(kShape.batch, n_ - i);
    for (std::uint32_t k = 0; k < count; ++k, ++i) {
      Obj* t = new_object<S>(ctx, Kind::tuple, 3);
      set_item(t, 0, new_int<S>(ctx, i));
      set_item(t, 1, new_float<S>(ctx, i * 0.5));
      set_item(t, 2, new_int<S>(ctx, 3 * std::int64_t{i} + 1));
      ctx.publish(t);
      b.items[k] = t;
      ctx.safepoint();
      chaos.maybe_yield(32);
    }
    b.n = count;
    return i;
  }

  // a, b, c = q.get(); total += a + int(b * 2) + c
  template <class Chaotic>
  std::uint64_t drain(Ctx& ctx, Batch& b, Chaotic& chaos) {
    std::uint64_t total = 0;
    for (std::uint32_t k = 0; k < b.n; ++k) {
      Obj* t = hide(b.items[k]);
      Obj* x = t->item(0);
      Obj* y = t->item(1);
      Obj* z = t->item(2);
      ctx.incref(x);  // unpacking takes a new reference to each element
      ctx.incref(y);
      ctx.incref(z);
      ctx.decref(t);  // the tuple dies here, the elements live on in a, b, c
      total += static_cast<std::uint64_t>(hide(x)->value.i) +
               static_cast<std::uint64_t>(hide(y)->value.f * 2) +
               static_cast<std::uint64_t>(hide(z)->value.i);
      ctx.decref(hide(x));
      ctx.decref(hide(y));
      ctx.decref(hide(z));
      ctx.safepoint();
      chaos.maybe_yield(32);
    }
    return total;
  }

  std::uint32_t n_;
  std::uint32_t pairs_;
  bool solo_;
  std::unique_ptr<Channel[]> channels_;
};

// The registered workload: default shape.
template <class S>
class Handoff : public BasicHandoff<S> {
 public:
  using BasicHandoff<S>::BasicHandoff;
};

}  // namespace rcb
