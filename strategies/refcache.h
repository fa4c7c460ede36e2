#pragma once
// refcache: RadixVM's Refcache (Clements, Kaashoek and Zeldovich, "RadixVM:
// Scalable address spaces for multithreaded applications", EuroSys 2013).
//
// Mechanism: every object has one global count, and every thread a small
// direct-mapped cache of (object, delta) pairs. incref/decref add +1/-1 to
// the delta in the caller's cache and touch nothing shared; a conflicting
// object evicts the slot's entry, whose delta is then added to that object's
// global count. At each epoch a thread flushes its whole cache into the
// global counts. The true count is the global count plus every cached delta,
// so a global zero proves nothing by itself: another thread may hold an
// unflushed +1. A flush that takes a count to zero therefore puts the object
// on the flusher's review queue, tagged with the epoch; it is freed only
// when, two epoch boundaries later, its count is still zero and its dirty
// flag is clear. Any flush that reaches an object under review with a zero
// result (including a net-zero delta, which still says "this thread used
// it") sets the flag. At its review a dirty object has the flag cleared and
// is queued again with a fresh tag, as a new zero would be, so it is
// reviewed again two or three epoch boundaries later (see the tags below),
// not one; one whose count is no longer zero leaves the queue (a later zero
// queues it afresh). Every free is late: children of a freed object are decref'd
// through the freeing thread's cache, so each level of a structure waits
// its own review.
//
// Invariant: an object is freed only if no flush touched it between the
// moment its count reached zero (T0) and a review after every thread has
// flushed its whole cache at least once since T0. Then no cache held an
// entry for it at T0, so its true count was zero at T0, and stays zero.
//
// Epochs, acknowledged as buffered does: each thread has an epoch e_t; at a
// safepoint (checked every Tuning::kSafepointsPerPoll safepoints) a thread
// with e_t != G flushes its cache and sets e_t = G under the runtime mutex.
// There is no epoch thread: the last running thread to acknowledge G
// advances it to G + 1, provided Tuning::kEpochInterval has passed since the
// previous advance (otherwise the next thread to poll after it has passed
// does); under `--metric instructions` that interval is measured in work,
// not wall time, so the counts repeat (strategies/epoch_clock.h). So G is e_t or e_t + 1 for every running thread, and an object that
// a thread queues gets the tag e_t + 1 (exact during an acknowledgement's
// flush, at most one epoch pessimistic for an eviction); it is reviewed once
// G >= tag + 2, by which time every running thread has flushed since G
// became tag + 1, which was after T0. Threads that block (enter_blocking)
// or detach flush first, stop counting as running, and give their review
// queue to the runtime, which the next thread to acknowledge adopts; a
// thread coming back takes the current epoch with an empty cache. After the
// last thread detached, shutdown() frees every queued object whose count is
// zero, and their children at once: with every cache flushed, counts are
// exact.
//
// Counters (counted instantiation only): cache_evictions, cache_flushes
// (entries applied at epochs, blocking and detach), reviews (objects queued),
// review_requeues (dirty at review), epochs (advances), delayed_frees (every
// free, children included: all are late) and peak_pending_frees, exact: as
// in buffered, a second atomic count of the references that really exist is
// kept beside the global count; when it reaches zero the object and every
// child it held the last reference to are dead, and a dead-but-allocated
// tally rises until their frees lower it.
//
// Fork: a forked child has no other threads and may not take the mutex.
// after_fork_child() keeps the cache and its evictions (the header writes
// they cost are real) but stops epochs, queueing and blocking hand-overs.
//
// Loses: objects are freed two to three epochs late (memory held, cold
// caches at the free), a deep structure dropped while threads run frees one
// level per review, every freed object costs a CAS at the flush, a queue
// entry and a CAS at the review, and a thread touching more distinct objects
// than its cache holds evicts on almost every op, an atomic RMW each. Wins
// where a few objects are hammered by many threads (a hot object's deltas
// stay in each thread's cache).
//
// Against sv6 (aclements/sv6 include/refcache.hh at 102fd1ed): the cache has
// sv6's 4096 direct-mapped slots (CACHE_SLOTS); it had 1024 to fit in L1,
// which sv6's 16-byte ways do not either, and only the slots a thread
// touches are ever read. The epoch is not sv6's. sv6 flushes from a timer
// interrupt and starts the next epoch 10 ms after the last core finished
// the previous one; a user thread has no interrupt, so a thread looks at G
// every kSafepointsPerPoll safepoints (256: a few microseconds of work in
// the micro workloads), and G may advance 1 ms after the previous advance.
// Why 1 ms, not 10: a free waits two to three epochs, and a timed
// repetition lasts 50 ms (quick) or 500 ms (full): with 10 ms epochs, 20-30
// ms of each repetition's reviews and frees would fall into the next
// repetition or the final drain, half of a quick one, so the figure would
// leave out the cost the strategy defers. sv6's kernel has no such edge.
// Measured cost of each choice (docs/measurement.md, "Fidelity changes").

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstdint>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "strategies/chaos.h"
#include "strategies/epoch_clock.h"
#include "strategies/object.h"
#include "strategies/strategy.h"

namespace rcb {

// What the tests vary; benchmarks use the defaults.
struct RefCacheTuning : Counted {
  static constexpr std::string_view kName = "refcache";
  static constexpr std::size_t kCacheSlots = 4096;  // sv6's CACHE_SLOTS: 64 KiB of (object, delta)
  static constexpr std::uint32_t kSafepointsPerPoll = 256;  // how often a thread looks at G
  static constexpr std::chrono::microseconds kEpochInterval{1000};  // how often G may advance
  static constexpr bool kChaos = false;  // random yields in slow paths
};

// The references that exist right now, as opposed to the global count
// (counted instantiation only: it measures how long the dead wait).
template <bool kOn>
struct RefCacheTrueRefs {};
template <>
struct RefCacheTrueRefs<true> {
  std::atomic<std::int64_t> refs;
};

template <class Tuning = RefCacheTuning>
struct BasicRefCache {
  static_assert(Tuning::kCacheSlots >= 1 && (Tuning::kCacheSlots & (Tuning::kCacheSlots - 1)) == 0,
                "the cache is indexed by a hash's top bits: a power of two");
  static_assert(Tuning::kSafepointsPerPoll >= 1);

  static constexpr StrategyInfo info{
      Tuning::kName,
      "per-thread caches of count deltas flushed each epoch; a zero count is freed after an epoch untouched",
      true};
  static constexpr std::array reported{Counter::cache_evictions, Counter::cache_flushes,
                                       Counter::reviews,         Counter::review_requeues,
                                       Counter::epochs,          Counter::delayed_frees,
                                       Counter::peak_pending_frees};

  using Obj = Object<BasicRefCache>;
  static constexpr bool kCounting = Tuning::kCounting;

  // The global word:
  //   bits 63..2  global count (signed: cached increfs may not have arrived
  //               when the matching decrefs do)
  //   bit  1      dirty: a flush reached the object with a zero result while
  //               it was under review
  //   bit  0      under review: on exactly one review queue
  static constexpr std::int64_t kUnderReview = 1;
  static constexpr std::int64_t kDirty = 2;
  static constexpr std::int64_t kFlags = kUnderReview | kDirty;
  static constexpr int kShift = 2;
  static constexpr std::int64_t kOne = std::int64_t{1} << kShift;

  struct Header {
    std::atomic<std::int64_t> word;
    [[no_unique_address]] RefCacheTrueRefs<kCounting> truth;
  };

  [[nodiscard]] static constexpr std::int64_t count_of(std::int64_t word) { return word >> kShift; }

  // For tests and diagnostics: the global count and the review flags.
  [[nodiscard]] static std::int64_t global_count(const Obj* o) {
    return count_of(o->rc.word.load(std::memory_order_acquire));
  }
  [[nodiscard]] static bool under_review(const Obj* o) {
    return (o->rc.word.load(std::memory_order_acquire) & kUnderReview) != 0;
  }
  [[nodiscard]] static bool dirty(const Obj* o) {
    return (o->rc.word.load(std::memory_order_acquire) & kDirty) != 0;
  }

  // An object waiting for review, and the epoch G must reach tag + 2 for.
  struct Review {
    Obj* obj;
    std::uint64_t tag;
  };

  // A thread's view of the epoch. Written only by its thread, under the
  // runtime mutex; read by its thread anywhere.
  struct ThreadState {
    std::uint64_t epoch = 0;
    bool running = false;
  };

  class Context;

  class Runtime {
   public:
    Runtime() : drainer_(*this) {}
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;

    // Epoch advances, the frees shutdown() made, and the exact peak.
    [[nodiscard]] Counters counters() const {
      std::lock_guard lock(mu_);
      Counters c = stats_;
      c.merge(drainer_.counters);
      c.raise_to(Counter::peak_pending_frees, peak_dead_.load(std::memory_order_relaxed));
      return c;
    }

    // Objects shutdown() freed (threads count their own frees).
    [[nodiscard]] std::uint64_t objects_freed() const {
      std::lock_guard lock(mu_);
      return drainer_.freed;
    }

    // After every context detached, every cache has been flushed, so the
    // global counts are the true counts: frees every queued object whose
    // count is zero, and whatever dies with it, at once.
    void shutdown() {
      std::lock_guard lock(mu_);
      if (attached_ != 0)
        throw std::logic_error("refcache: shutdown() while threads are still attached");
      drain_locked();
    }

    // For tests and diagnostics.
    [[nodiscard]] std::uint64_t epoch() const { return epoch_.load(std::memory_order_acquire); }

   private:
    friend class Context;

    // Frees for shutdown(). Children of what it frees are decref'd straight
    // into their global counts: no cache is left to hold a delta.
    class Drainer : public ContextBase {
     public:
      explicit Drainer(Runtime& rt)
          : ContextBase(ThreadIndex{std::numeric_limits<std::uint32_t>::max()}), rt_(&rt) {}
      void decref(Obj* o) {
        const std::int64_t w = o->rc.word.load(std::memory_order_relaxed) - kOne;
        o->rc.word.store(w, std::memory_order_relaxed);
        // Under review: its queue entry, later in the drain, frees it.
        if (count_of(w) == 0 && (w & kUnderReview) == 0) reclaim<BasicRefCache>(*this, o);
      }
      void on_free(Obj*) {
        tally<kCounting>(counters, Counter::delayed_frees);
        if constexpr (kCounting) rt_->note_freed();
      }

     private:
      Runtime* rt_;
    };

    // --- all under mu_ ----------------------------------------------------

    void join_locked(ThreadState& t) {
      t.running = true;
      t.epoch = epoch_.load(std::memory_order_relaxed);  // acknowledged: the cache is empty
      ++running_;
    }

    void leave_locked(ThreadState& t) {
      if (!t.running) return;
      t.running = false;
      --running_;
      if (t.epoch != epoch_.load(std::memory_order_relaxed))
        unacked_.store(unacked_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
    }

    void acknowledge_locked(ThreadState& t) {
      const std::uint64_t g = epoch_.load(std::memory_order_relaxed);
      if (!t.running || t.epoch == g) return;
      t.epoch = g;
      unacked_.store(unacked_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
    }

    // G + 1 once every running thread acknowledged G and the interval passed.
    bool try_advance_locked() {
      if (unacked_.load(std::memory_order_relaxed) != 0 || running_ == 0) return false;
      if constexpr (Tuning::kEpochInterval.count() > 0) {
        const std::int64_t now = now_ns();
        if (now < next_advance_ns_.load(std::memory_order_relaxed)) return false;
        next_advance_ns_.store(
            now + std::chrono::duration_cast<std::chrono::nanoseconds>(Tuning::kEpochInterval).count(),
            std::memory_order_relaxed);
      }
      unacked_.store(running_, std::memory_order_relaxed);
      // Release: a reviewer that reads the new G outside the mutex (tests)
      // sees the acknowledgements' flushes; threads act on it under mu_.
      epoch_.store(epoch_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
      tally<kCounting>(stats_, Counter::epochs);
      return true;
    }

    void drain_locked() {
      // Index, not iterator: nothing is appended during the drain, but be
      // explicit that entries are read one at a time.
      for (std::size_t i = 0; i < orphans_.size(); ++i) {
        Obj* o = orphans_[i].obj;
        const std::int64_t w = o->rc.word.load(std::memory_order_acquire);
        o->rc.word.store(w & ~kFlags, std::memory_order_relaxed);
        if (count_of(w) == 0) reclaim<BasicRefCache>(drainer_, o);
      }
      orphans_.clear();
    }

    [[nodiscard]] bool interval_passed() const {
      if constexpr (Tuning::kEpochInterval.count() > 0)
        return now_ns() >= next_advance_ns_.load(std::memory_order_relaxed);
      else
        return true;
    }

    // Wall time, or under instruction counting the work done (EpochClock).
    [[nodiscard]] std::int64_t now_ns() const {
      if (work_clock_)
        return static_cast<std::int64_t>(polls_.load(std::memory_order_relaxed) * Tuning::kSafepointsPerPoll) *
               EpochClock::kNominalSafepoint.count();
      return std::chrono::duration_cast<std::chrono::nanoseconds>(
                 std::chrono::steady_clock::now().time_since_epoch())
          .count();
    }
    void count_poll() {
      if (work_clock_) polls_.fetch_add(1, std::memory_order_relaxed);
    }
    const bool work_clock_ = EpochClock::counting_work();
    std::atomic<std::uint64_t> polls_{0};  // with work_clock_ only

    // Counted instantiation: objects whose true count reached zero and
    // that are not freed yet. Relaxed: one atomic's modification order
    // already puts a death before its free, because the flush that lets the
    // free happen comes after the decref that declared the death.
    void note_dead(std::uint64_t n) {
      const std::uint64_t now = dead_unfreed_.fetch_add(n, std::memory_order_relaxed) + n;
      std::uint64_t peak = peak_dead_.load(std::memory_order_relaxed);
      while (now > peak && !peak_dead_.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
      }
    }
    void note_freed() { dead_unfreed_.fetch_sub(1, std::memory_order_relaxed); }
    alignas(64) std::atomic<std::uint64_t> dead_unfreed_{0};
    std::atomic<std::uint64_t> peak_dead_{0};

    // Read at polls by every thread; written once per epoch, under mu_.
    alignas(64) std::atomic<std::uint64_t> epoch_{1};
    std::atomic<std::uint32_t> unacked_{0};  // running threads with e_t != G
    std::atomic<std::int64_t> next_advance_ns_{0};

    alignas(64) mutable std::mutex mu_;
    std::uint32_t running_ = 0;
    std::uint32_t attached_ = 0;
    std::vector<Review> orphans_;  // queues of threads that blocked or left
    Counters stats_;
    Drainer drainer_;
  };

  class Context : public PassiveContext {
   public:
    Context(Runtime& rt, ThreadIndex idx) : PassiveContext(idx), rt_(&rt), chaos_(idx.value + 1) {}
    Context(const Context&) = delete;
    Context& operator=(const Context&) = delete;

    void attach() {
      std::lock_guard lock(rt_->mu_);
      ++rt_->attached_;
      rt_->join_locked(state_);
    }

    void detach() {
      if (forked_) return;
      flush_all();
      std::lock_guard lock(rt_->mu_);
      stand_down_locked();
      --rt_->attached_;
    }

    // Not yet visible to any other thread: relaxed stores suffice; the
    // hand-over that publishes the object orders them.
    void init_header(Obj* o) {
      o->rc.word.store(kOne, std::memory_order_relaxed);
      if constexpr (kCounting) o->rc.truth.refs.store(1, std::memory_order_relaxed);
    }

    void incref(Obj* o) {
      if constexpr (kCounting) o->rc.truth.refs.fetch_add(1, std::memory_order_relaxed);
      Slot& s = slot_for(o);
      if (s.obj != o) [[unlikely]]
        take_slot(s, o);
      ++s.delta;
    }

    void decref(Obj* o) {
      if constexpr (kCounting) {
        // A dead parent's children were declared dead with it (died()).
        // acq_rel: whoever sees zero reads the children others stored.
        if (!reclaiming && o->rc.truth.refs.fetch_sub(1, std::memory_order_acq_rel) == 1) died(o);
      }
      Slot& s = slot_for(o);
      if (s.obj != o) [[unlikely]]
        take_slot(s, o);
      --s.delta;
    }

    // A countdown: G is looked at every kSafepointsPerPoll safepoints.
    void safepoint() {
      if (--until_poll_ == 0) [[unlikely]]
        poll();
    }

    // Parked threads must not hold epochs back: flush everything, stop
    // counting as running, and let a running thread review our queue.
    void enter_blocking() {
      if (forked_) return;
      flush_all();
      std::lock_guard lock(rt_->mu_);
      stand_down_locked();
    }

    void leave_blocking() {
      if (forked_) return;
      std::lock_guard lock(rt_->mu_);
      if (!state_.running) rt_->join_locked(state_);
    }

    // In a forked child (see the header comment).
    void after_fork_child() { forked_ = true; }

    // Reclaim's hook: every free is late.
    void on_free(Obj*) {
      tally<kCounting>(counters, Counter::delayed_frees);
      if constexpr (kCounting) rt_->note_freed();
    }

    // The epoch this thread last acknowledged, and its queue (tests).
    [[nodiscard]] std::uint64_t epoch() const { return state_.epoch; }
    [[nodiscard]] std::size_t reviews_pending() const { return reviews_.size() - review_head_; }

   private:
    struct Slot {
      Obj* obj = nullptr;
      std::int64_t delta = 0;
    };
    static constexpr int kSlotBits = std::countr_zero(Tuning::kCacheSlots);

    // Fibonacci hashing: the top bits of address * 2^64/phi spread objects
    // that the allocator places at regular strides.
    Slot& slot_for(const Obj* o) {
      if constexpr (kSlotBits == 0) {
        return slots_[0];
      } else {
        const auto h = reinterpret_cast<std::uintptr_t>(o) * 0x9E3779B97F4A7C15ull;
        return slots_[h >> (64 - kSlotBits)];
      }
    }

    // A miss: the slot's entry, if any, goes to its object's global count.
    [[gnu::noinline]] void take_slot(Slot& s, Obj* o) {
      if constexpr (Tuning::kChaos) chaos_.maybe_yield(8);
      if (s.obj != nullptr) {
        apply(s.obj, s.delta);
        tally<kCounting>(counters, Counter::cache_evictions);
      } else {
        used_[used_count_++] = static_cast<std::uint32_t>(&s - slots_.data());
      }
      s.obj = o;
      s.delta = 0;
    }

    // Applies every cached delta. Before the acknowledgement (or the
    // hand-over) that it must precede.
    void flush_all() {
      for (std::uint32_t i = 0; i < used_count_; ++i) {
        Slot& s = slots_[used_[i]];
        apply(s.obj, s.delta);
        s.obj = nullptr;
        s.delta = 0;
      }
      tally<kCounting>(counters, Counter::cache_flushes, used_count_);
      used_count_ = 0;
    }

    // Adds a delta to o's global count, keeping the review flags (see the
    // word's layout). Acq_rel: release so our uses of o happen before
    // whoever frees it; acquire in case the reviewer is us.
    void apply(Obj* o, std::int64_t delta) {
      if (forked_) [[unlikely]] {
        // No epochs in the child: counts move, nothing is queued.
        if (delta != 0) o->rc.word.fetch_add(delta * kOne, std::memory_order_relaxed);
        return;
      }
      std::int64_t w = o->rc.word.load(std::memory_order_acquire);
      // A net-zero delta matters only to an object whose count is zero:
      // it says this thread used it, which a review must hear about.
      if (delta == 0 && count_of(w) != 0) return;
      std::int64_t next;
      bool queue;
      do {
        next = w + delta * kOne;
        queue = false;
        if (count_of(next) == 0) {
          if (next & kUnderReview) {
            next |= kDirty;
          } else {
            next = (next & ~kDirty) | kUnderReview;
            queue = true;
          }
        }
      } while (!o->rc.word.compare_exchange_weak(w, next, std::memory_order_acq_rel,
                                                 std::memory_order_acquire));
      if (queue) {
        reviews_.push_back({o, state_.epoch + 1});
        tally<kCounting>(counters, Counter::reviews);
      }
    }

    [[gnu::noinline, gnu::cold]] void poll() {
      until_poll_ = Tuning::kSafepointsPerPoll;
      if (forked_) return;
      rt_->count_poll();
      if constexpr (Tuning::kChaos) chaos_.maybe_yield(8);
      if (rt_->epoch_.load(std::memory_order_relaxed) == state_.epoch) {
        // Acknowledged already: maybe everyone has, and the interval passed.
        if (rt_->unacked_.load(std::memory_order_relaxed) != 0 || !rt_->interval_passed()) return;
        std::lock_guard lock(rt_->mu_);
        if (!rt_->try_advance_locked()) return;
      }
      acknowledge();
    }

    // Flush, acknowledge G (closing it if we were the last), adopt queues
    // that blocked or departed threads left, and review what is old enough.
    void acknowledge() {
      flush_all();
      std::uint64_t g;
      {
        std::lock_guard lock(rt_->mu_);
        rt_->acknowledge_locked(state_);
        rt_->try_advance_locked();
        if (!rt_->orphans_.empty()) {
          reviews_.insert(reviews_.end(), rt_->orphans_.begin(), rt_->orphans_.end());
          rt_->orphans_.clear();
        }
        g = rt_->epoch_.load(std::memory_order_relaxed);
      }
      review(g);
    }

    // Reviews entries in queue order while their tag is old enough. Adopted
    // entries may sit behind younger ones; they wait a little longer, which
    // is always safe.
    void review(std::uint64_t g) {
      while (review_head_ < reviews_.size()) {
        const Review r = reviews_[review_head_];  // a copy: settle() may append
        if (r.tag + 2 > g) break;
        ++review_head_;
        settle(r.obj);
      }
      if (review_head_ == reviews_.size()) {
        reviews_.clear();
        review_head_ = 0;
      } else if (review_head_ >= 1024 && 2 * review_head_ >= reviews_.size()) {
        reviews_.erase(reviews_.begin(), reviews_.begin() + static_cast<std::ptrdiff_t>(review_head_));
        review_head_ = 0;
      }
    }

    // The review proper. Acq_rel CAS: acquire pairs with every flush's
    // release, so all uses of o happen before the free.
    void settle(Obj* o) {
      std::int64_t w = o->rc.word.load(std::memory_order_acquire);
      for (;;) {
        if (count_of(w) != 0) {
          // Revived: off the queue; a later zero queues it afresh.
          if (o->rc.word.compare_exchange_weak(w, w & ~kFlags, std::memory_order_acq_rel,
                                               std::memory_order_acquire))
            return;
        } else if (w & kDirty) {
          // Used during the review: it has not been zero for a whole epoch.
          if (o->rc.word.compare_exchange_weak(w, w & ~kDirty, std::memory_order_acq_rel,
                                               std::memory_order_acquire)) {
            reviews_.push_back({o, state_.epoch + 1});
            tally<kCounting>(counters, Counter::review_requeues);
            return;
          }
        } else {
          // Zero, untouched, and every cache flushed since: dead.
          if (o->rc.word.compare_exchange_weak(w, 0, std::memory_order_acq_rel,
                                               std::memory_order_acquire)) {
            reclaim<BasicRefCache>(*this, o);
            return;
          }
        }
      }
    }

    // After our flush: stop counting as running, hand our queue over, and
    // close the epoch if we were its last holdout.
    void stand_down_locked() {
      rt_->leave_locked(state_);
      rt_->orphans_.insert(rt_->orphans_.end(), reviews_.begin() + static_cast<std::ptrdiff_t>(review_head_),
                           reviews_.end());
      reviews_.clear();
      review_head_ = 0;
      rt_->try_advance_locked();
    }

    // Counted instantiation: o's last reference is gone, and with it every
    // reference o holds.
    [[gnu::noinline]] void died(Obj* o) {
      std::uint64_t dead = 0;
      dying_.push_back(o);
      while (!dying_.empty()) {
        Obj* d = dying_.back();
        dying_.pop_back();
        ++dead;
        if (!d->is_container()) continue;
        for (std::uint32_t i = 0; i < d->size; ++i)
          if (Obj* c = d->item(i); c && c->rc.truth.refs.fetch_sub(1, std::memory_order_acq_rel) == 1)
            dying_.push_back(c);
      }
      rt_->note_dead(dead);
    }

    std::array<Slot, Tuning::kCacheSlots> slots_{};
    Runtime* rt_;
    std::uint32_t until_poll_ = Tuning::kSafepointsPerPoll;
    std::uint32_t used_count_ = 0;
    ThreadState state_;
    bool forked_ = false;
    [[no_unique_address]] Chaos<Tuning::kChaos> chaos_;
    std::size_t review_head_ = 0;
    std::vector<Review> reviews_;
    std::vector<Obj*> dying_;                              // died()'s worklist, counted only
    std::array<std::uint32_t, Tuning::kCacheSlots> used_;  // slots holding an entry
  };
};

using RefCache = BasicRefCache<>;

static_assert(RefCountStrategy<RefCache>);
static_assert(RefCountStrategy<Uncounted<RefCache>>);

}  // namespace rcb
