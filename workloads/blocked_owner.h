#pragma once
// blocked_owner: the owner of many objects blocks, as on I/O, while another
// thread drops its references to them (CPython issue #157838: "an owner
// blocked while 1M of its tuples were dropped kept 3M objects allocated").
//
//   # owner (thread 2k)                          # dropper (thread 2k+1)
//   batch = [(i, float(i)) for i in range(n)]    batch = inbox.get()
//   inbox.put(batch); del batch                  while batch:
//   done.wait()          # blocked, as on I/O        t = batch.pop()
//   # back: the eval breaker runs                    del t
//                                                del batch
//                                                done.set()
//
// Pattern: cross-thread drops while the owner cannot run. Under `biased`
// every `del t` finds the tuple's shared count at zero (the owner counted
// the list's reference locally) and queues the tuple to its owner, which
// merges and frees only at its next safepoint, after done.wait() returns:
// until then the n tuples, their 2n elements and the list, 3n + 1 objects,
// stay allocated though nothing can reach them. `cpython_ft` holds them
// too: it merges every queue at a collection, but collections come from
// allocations (strategies/gc_trigger.h), and the dropper allocates nothing,
// as in CPython 3.14t.
// `buffered` and `refcache` free late too (an epoch or two behind);
// `plain`, `gil` and `atomic` free each tuple inside the `del t` that kills
// it.
//
// Threads come in pairs, as in handoff: thread 2k builds for thread 2k+1.
// Odd counts above one are turned down; at one thread the same thread
// builds and then drops, with nothing to block on. The owner calls
// enter_blocking() before it hands the batch over and stays blocked, on a
// futex, until the dropper has dropped everything; back, it calls
// leave_blocking() and safepoint(), where CPython's eval breaker would run.
// Both threads call safepoint() once per loop iteration, because CPython
// checks the eval breaker at every backward jump, so a strategy that merges
// or reclaims at safepoints (a stop-the-world merge) gets exactly as many
// chances as CPython's would. The list is handed over once, with publish().
//
// Declares nothing (strategies/cpython_facts.h). CPython would take the
// ints below 257 from its immortal small-int cache; here every int is a
// fresh mortal object (257 more at any n), because an object declared
// while the run goes on stays pinned until shutdown. The list keeps its n
// item slots inline, so a dead list holds 8n bytes that CPython's list,
// shrinking as it pops, would have given back during the loop.
//
// Work per iteration per thread: n tuples (quick 100,000; full 1,000,000).
// The owner allocates 3n + 1 objects; the dropper pops and drops n tuples
// and the list. The iteration time covers both halves of every pair.
// Checksum per pair (or the single thread): n tuples built + n popped.
//
// Figures (report(), counted pass only: see workloads/census.h):
//   peak_retained_objects, peak_retained_bytes: the most objects (bytes)
//   dead in every thread's view (no reference left anywhere, children of
//   dead objects included) but still allocated, at once, over the pass.
//   Bytes are object_bytes in the timed instantiation's layout.
// Each thread keeps deaths - frees: the dropper adds 3 objects (a tuple and
// its two elements) at each `del t` and 1 at `del batch`, with their
// object_bytes; every thread subtracts what its context freed (frees()).
// It publishes that balance (a relaxed store, single writer) after every
// safepoint and before blocking. The dropper samples the sum over all
// threads, minus what the runtime's own threads freed (Census), every
// kShape.drops_per_sample drops and after `del batch`, and keeps the peak.
// Error: with one pair (1 or 2 threads) every sample is exact, because the
// owner, blocked, changes nothing between its last balance and its wake-up,
// and the runtime's tally is read live. Retention rises only at deaths, by
// 3 objects a drop, so the peak found is at most 3 * (drops_per_sample - 1)
// objects (189 at the default 64), and as many tuples' bytes, short of the
// true one. With more pairs another thread's balance is as of its last
// safepoint: a sample may miss up to 3 deaths per dropper mid-drop, and may
// count as still retained what an owner is freeing in the merge it is
// running (at most that owner's last batch).

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "strategies/chaos.h"
#include "strategies/object.h"
#include "workloads/blocking.h"
#include "workloads/census.h"
#include "workloads/workload.h"

namespace rcb {

// Sizes and knobs; tests shrink them and switch on random yields.
struct BlockedOwnerShape {
  std::uint32_t quick_tuples = 100'000;
  std::uint32_t full_tuples = 1'000'000;
  // Drops between census samples: 64 keeps a sample (one load per thread
  // and the runtime's tally) under a few percent of the drop loop, so the
  // counted pass drops at nearly the timed pace that a commit thread or an
  // epoch races against; the error it allows is above.
  std::uint32_t drops_per_sample = 64;
  bool chaos = false;  // random yields between tuples (tests only)
};

template <class S, BlockedOwnerShape kShape = BlockedOwnerShape{}>
class BasicBlockedOwner {
  static_assert(kShape.drops_per_sample > 0);

 public:
  static constexpr WorkloadInfo info{
      "blocked_owner", "an owner blocks (as on I/O) while another thread drops the tuples it built",
      "cross-thread drops the owner cannot merge: what biased's queue keeps allocated meanwhile"};

  using Ctx = typename S::Context;
  using Obj = Object<S>;

  static ThreadSupport supports(std::uint32_t threads) { return paired_threads(threads); }

  BasicBlockedOwner(Ctx&, Size size, std::uint32_t threads)
      : n_(size == Size::quick ? kShape.quick_tuples : kShape.full_tuples),
        threads_(threads),
        pairs_(threads == 1 ? 1 : threads / 2),
        channels_(std::make_unique<Channel[]>(pairs_)),
        balances_(std::make_unique<Balance[]>(threads)) {}

  void take_census(Census census) { census_ = census; }

  std::uint64_t run(Ctx& ctx, ThreadIndex t) {
    return census_ ? run_as<true>(ctx, t) : run_as<false>(ctx, t);
  }

  [[nodiscard]] std::uint64_t expected_checksum() const { return pairs_ * 2 * std::uint64_t{n_}; }
  [[nodiscard]] std::uint64_t items_per_thread() const { return n_; }

  template <class Visit>
  void roots(Visit&&) const {}  // nothing outlives an iteration
  void teardown(Ctx&) {}

  // Nothing from a timed repetition: it has no census, and samples nothing.
  template <class Emit>
  void report(Emit&& emit) const {
    if (!census_) return;
    std::int64_t objects = 0, bytes = 0;
    for (std::uint32_t t = 0; t < threads_; ++t) {
      objects = std::max(objects, balances_[t].peak_objects);
      bytes = std::max(bytes, balances_[t].peak_bytes);
    }
    emit("peak_retained_objects", static_cast<double>(objects));
    emit("peak_retained_bytes", static_cast<double>(bytes));
  }

 private:
  // One pair's hand-over. 32-bit counters of batches: the futex word width.
  struct Channel {
    Obj* batch = nullptr;  // written by the owner before `handed`, read after it
    alignas(64) std::atomic<std::uint32_t> handed{0};   // batches put (owner)
    alignas(64) std::atomic<std::uint32_t> dropped{0};  // batches dropped: done.set() (dropper)
  };

  // One thread's deaths - frees (see the header comment). Written only by
  // its thread; the atomics are what other threads' samples read.
  struct alignas(64) Balance {
    std::int64_t died_objects = 0;
    std::int64_t died_bytes = 0;
    std::atomic<std::int64_t> objects{0};
    std::atomic<std::int64_t> bytes{0};
    std::int64_t peak_objects = 0;  // the largest sample this thread took
    std::int64_t peak_bytes = 0;
  };

  // Bytes are counted as the timed instantiation lays objects out: the
  // counted one of buffered and refcache carries a second count per object.
  using Timed = Uncounted<S>;
  // A tuple and its int and float, which die with it.
  static constexpr std::int64_t kGroupObjects = 3;
  static constexpr std::int64_t kGroupBytes = object_bytes<Timed>(2) + 2 * object_bytes<Timed>(0);

  template <bool kCensus>
  std::uint64_t run_as(Ctx& ctx, ThreadIndex t) {
    Chaos<kShape.chaos> chaos(t.value + 1);
    Balance& me = balances_[t.value];
    if constexpr (kCensus) publish(ctx, me);  // what the Team's safepoint freed since our last run
    Channel& ch = channels_[t.value / 2];
    if (threads_ == 1) return n_ + drop<kCensus>(ctx, build<kCensus>(ctx, me, chaos), me, chaos);
    return t.value % 2 == 0 ? own<kCensus>(ctx, ch, me, chaos) : receive<kCensus>(ctx, ch, me, chaos);
  }

  // `handed` when the owner failed before handing its batch over (a
  // strategy that throws at a limit, as sharded past its slots): the
  // dropper must fail too, not wait forever.
  static constexpr std::uint32_t kAbandoned = 0xFFFF'FFFF;

  template <bool kCensus, class Chaotic>
  std::uint64_t own(Ctx& ctx, Channel& ch, Balance& me, Chaotic& chaos) {
    Obj* batch = nullptr;
    try {
      batch = build<kCensus>(ctx, me, chaos);
      ctx.publish(batch);  // it goes to another thread
    } catch (...) {
      ch.handed.store(kAbandoned, std::memory_order_release);
      ch.handed.notify_one();
      throw;
    }
    const std::uint32_t round = ch.handed.load(std::memory_order_relaxed) + 1;  // only we write it
    // Blocked from before the hand-over, so that nothing we do while the
    // dropper runs (a blocking hand-over of logs, a grace period) escapes
    // the balance we publish now.
    ctx.enter_blocking();
    if constexpr (kCensus) publish(ctx, me);
    ch.batch = batch;
    // Release: the batch, and our balance, are visible to the dropper.
    ch.handed.store(round, std::memory_order_release);
    ch.handed.notify_one();
    wait_for(ch.dropped, round);  // done.wait()
    ctx.leave_blocking();
    ctx.safepoint();  // back from blocking: biased merges its queue here
    if constexpr (kCensus) publish(ctx, me);
    return n_;
  }

  template <bool kCensus, class Chaotic>
  std::uint64_t receive(Ctx& ctx, Channel& ch, Balance& me, Chaotic& chaos) {
    const std::uint32_t round = ch.dropped.load(std::memory_order_relaxed) + 1;  // only we write it
    // inbox.get(): blocks, releasing the GIL, only if nothing is there yet.
    // Acquire: pairs with the owner's release of this batch.
    wait_until(ctx, ch.handed, [&](std::uint32_t handed) { return handed == round || handed == kAbandoned; });
    if (ch.handed.load(std::memory_order_relaxed) == kAbandoned)
      throw std::runtime_error("blocked_owner: the owner failed before handing its batch over");
    const std::uint64_t popped = drop<kCensus>(ctx, ch.batch, me, chaos);
    // done.set(). Release: our last touch of the batch happens before the
    // owner's next one.
    ch.dropped.store(round, std::memory_order_release);
    ch.dropped.notify_one();
    return popped;
  }

  // batch = [(i, float(i)) for i in range(n)]
  template <bool kCensus, class Chaotic>
  Obj* build(Ctx& ctx, Balance& me, Chaotic& chaos) {
    Obj* batch = new_object<S>(ctx, Kind::list, n_);
    for (std::uint32_t i = 0; i < n_; ++i) {
      Obj* t = new_object<S>(ctx, Kind::tuple, 2);
      set_item(t, 0, new_int<S>(ctx, i));
      set_item(t, 1, new_float<S>(ctx, static_cast<double>(i)));
      set_item(batch, i, t);
      ctx.safepoint();  // the comprehension's backward jump
      if constexpr (kCensus) publish(ctx, me);  // a safepoint may free (a merge, a review)
      chaos.maybe_yield(32);
    }
    return batch;
  }

  // while batch: t = batch.pop(); del t
  // then del batch. Returns the tuples popped.
  template <bool kCensus, class Chaotic>
  std::uint64_t drop(Ctx& ctx, Obj* batch, Balance& me, Chaotic& chaos) {
    std::uint32_t until_sample = kShape.drops_per_sample;
    std::uint64_t popped = 0;
    for (std::uint32_t left = n_; left > 0; --left) {
      // pop() hands us the list's reference; its slot no longer holds one.
      Obj* t = std::exchange(batch->items()[left - 1], nullptr);
      ctx.decref(hide(t));  // del t: the last reference, so its int and float die too
      ++popped;
      if constexpr (kCensus) {
        died(me, kGroupObjects, kGroupBytes);
        if (--until_sample == 0) {
          until_sample = kShape.drops_per_sample;
          sample(ctx, me);  // before the safepoint, which may free
        }
      }
      ctx.safepoint();  // the while loop's backward jump
      if constexpr (kCensus) publish(ctx, me);
      chaos.maybe_yield(32);
    }
    ctx.decref(hide(batch));  // del batch
    if constexpr (kCensus) {
      died(me, 1, static_cast<std::int64_t>(object_bytes<Timed>(n_)));
      sample(ctx, me);  // the biased peak: everything dropped, nothing merged yet
    }
    return popped;
  }

  static void died(Balance& me, std::int64_t objects, std::int64_t bytes) {
    me.died_objects += objects;
    me.died_bytes += bytes;
  }

  // Relaxed: each balance has one writer, and a sampler needs only some
  // recent value of another's (the hand-over orders the one that matters
  // for exactness: the blocked owner's).
  static void publish(const Ctx& ctx, Balance& me) {
    const FreeTally f = ctx.frees();
    me.objects.store(me.died_objects - static_cast<std::int64_t>(f.objects), std::memory_order_relaxed);
    me.bytes.store(me.died_bytes - static_cast<std::int64_t>(freed_bytes<Timed>(f)), std::memory_order_relaxed);
  }

  // Dead but allocated now: every thread's balance, less the runtime's frees.
  void sample(const Ctx& ctx, Balance& me) {
    publish(ctx, me);
    std::int64_t objects = 0, bytes = 0;
    for (std::uint32_t t = 0; t < threads_; ++t) {
      objects += balances_[t].objects.load(std::memory_order_relaxed);
      bytes += balances_[t].bytes.load(std::memory_order_relaxed);
    }
    const FreeTally runtime = census_->runtime_frees();
    objects -= static_cast<std::int64_t>(runtime.objects);
    bytes -= static_cast<std::int64_t>(freed_bytes<Timed>(runtime));
    me.peak_objects = std::max(me.peak_objects, objects);
    me.peak_bytes = std::max(me.peak_bytes, bytes);
  }

  // A futex wait until `word` reads `want`, for a thread that is blocked
  // already (wait_until() in blocking.h would block it again). Acquire:
  // what its writer did before its release store is visible after.
  static void wait_for(std::atomic<std::uint32_t>& word, std::uint32_t want) {
    for (std::uint32_t v = word.load(std::memory_order_acquire); v != want;
         v = word.load(std::memory_order_acquire))
      word.wait(v, std::memory_order_acquire);
  }

  std::uint32_t n_;
  std::uint32_t threads_;
  std::uint32_t pairs_;
  std::unique_ptr<Channel[]> channels_;
  std::unique_ptr<Balance[]> balances_;
  std::optional<Census> census_;  // counted pass only
};

// The registered workload: default shape.
template <class S>
class BlockedOwner : public BasicBlockedOwner<S> {
 public:
  using BasicBlockedOwner<S>::BasicBlockedOwner;
};

}  // namespace rcb
