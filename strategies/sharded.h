#pragma once
// sharded: per-thread count slots for shared objects, summed into one atomic
// count when the object is killed (Linux lib/percpu-refcount.c, with
// threads for CPUs and the workloads' safepoints for RCU).
//
// Mechanism. A private object (never published) counts with plain adds in
// its header. publish(o) gives o, and every private object reachable from
// it, a slot index s and moves the header's count B into the atomic word as
// B + kBias. From then on thread t counts o in slot s of t's own slot arena:
// a relaxed load and store that no other thread writes while o is in
// per-thread mode, so a hot shared object costs each thread its own cache
// line and nothing else. The true count is (count - kBias) + sum of the
// slots; it is never computed on the hot path.
//
// Kill point. A decref that finds the thread's own slot at zero drops a
// reference this thread did not take (the publisher's, a container's, one
// handed over): that is the kill, percpu_ref_kill's dropping of the base
// reference. In the workloads it is the teardown's decref of each root, a
// dead container's decref of each shared child, and handoff's consumer
// dropping every tuple and item. The killer CASes the mode from s to dying,
// drops its reference on the atomic count, and queues o; afterwards every op
// on o is an atomic RMW on the count (relaxed inc, release dec, acquire
// before the free, as strategies/atomic_count.h). After a grace period the
// killer sums every thread's slot s, zeroes them, adds sum - kBias to the
// count, returns s to the pool, and frees o if the count is zero. The switch
// is one-way (no percpu_ref_reinit). publish() marks what is reachable at
// the time: a private object stored into a shared one later must be
// published too (the workloads do).
//
// Invariant. In per-thread mode no slot is ever negative (a decref that
// would make its slot negative kills instead) and B >= 1, so the true count
// is >= 1: per-thread mode never has to see a zero. Until the fold the
// count carries kBias (2^62), so no atomic decref can reach zero early;
// after it the count is exact, and exactly one RMW sees it reach zero.
//
// Why summing after a grace period is safe (percpu_ref waits for RCU). An op
// is a read-side section: it loads the mode, then writes its slot. A thread
// may load "per-thread" just before the killer's CAS and write its slot
// after. Each thread passes quiescent points: a safepoint acknowledges the
// global epoch in its own record (release), and a blocked or detached
// thread's record reads "offline". The killer's batch bumps the epoch to E
// (release RMW) after its CASes and folds only when every other thread's
// record is >= E (offline is the maximum). A thread that acknowledged E
// loaded the epoch with acquire, so its later mode loads see dying; its
// earlier slot writes happen before the killer's acquire of its record. A
// thread going online writes its record and then does an RMW on the epoch:
// if that RMW precedes the killer's bump, the killer's acquire sees the
// record (and waits); if it follows, the thread sees the dying mode. No
// standalone fence is involved, so ThreadSanitizer models every edge. A
// slot index is reused only after the fold, so no stale section can write
// into another object's slot. Kills made between two of the killer's
// safepoints share one grace period (as call_rcu batches), and a killer
// never waits for one except in detach(): objects are freed late instead.
//
// Memory: 8 bytes per slot index per thread (reported as slot_bytes, with
// sharded_objects, the peak of objects holding slots). Each thread's arena
// is one mmap'd range reserved for kMaxSlots slots and touched lazily.
//
// Source: Linux lib/percpu-refcount.c (percpu_ref_get/put, percpu_ref_kill,
// __percpu_ref_switch_to_atomic, PERCPU_COUNT_BIAS), written afresh.
// Loses: objects that die soon after being shared (handoff): each pays a
// slot, a CAS, a grace period and a sum over every thread, and is freed late;
// the memory is slots x threads; a thread that runs long without a safepoint
// holds every kill's free back. Objects published but kept private still pay
// a mode test on every op.

#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <vector>

#include "strategies/atomic_count.h"
#include "strategies/chaos.h"
#include "strategies/object.h"
#include "strategies/strategy.h"

namespace rcb {

// What the tests vary; benchmarks use the defaults.
struct ShardedTuning : Counted {
  static constexpr std::string_view kName = "sharded";
  // Random yields inside the read-side section (between the mode load and
  // the slot write), in kills and at safepoints.
  static constexpr bool kChaos = false;
};

template <class Tuning = ShardedTuning>
struct BasicSharded {
  static constexpr StrategyInfo info{
      Tuning::kName,
      "percpu_ref: shared objects count in per-thread slots, summed into an atomic count at kill",
      true};
  static constexpr std::array reported{Counter::slot_ops,        Counter::atomic_rmw,
                                       Counter::kills,           Counter::grace_periods,
                                       Counter::delayed_frees,   Counter::sharded_objects,
                                       Counter::slot_bytes};

  using Obj = Object<BasicSharded>;
  using Cell = std::atomic<std::int64_t>;

  // mode: a slot index while per-thread, else one of these.
  static constexpr std::uint32_t kPrivate = UINT32_MAX;      // plain count in the header
  static constexpr std::uint32_t kDying = UINT32_MAX - 1;    // killed, slots not yet summed
  static constexpr std::uint32_t kAtomic = UINT32_MAX - 2;   // summed: the count is exact
  static constexpr std::uint32_t kFirstMode = kAtomic;       // every index is below
  static constexpr std::uint64_t kBias = std::uint64_t{1} << 62;

  // 16 Mi shared objects at once; each thread reserves 128 MiB of address
  // space for its arena, and touches only the pages its slots land in.
  static constexpr std::uint32_t kMaxSlots = std::uint32_t{1} << 24;
  static constexpr std::uint32_t kMaxThreads = 256;
  static constexpr std::uint32_t kChunk = 512;  // slot indices moved to or from the pool at once
  static constexpr std::size_t kArenaBytes = std::size_t{kMaxSlots} * sizeof(Cell);
  static constexpr std::uint64_t kOffline = UINT64_MAX;  // a record's "quiescent until further notice"

  struct Header {
    std::atomic<std::uint32_t> mode;   // kPrivate, the slot index, kDying or kAtomic
    std::uint32_t slot;                // set by publish, kept for the fold
    std::atomic<std::uint64_t> count;  // private: the count; shared: B + kBias (+ atomic ops)
  };

  // One per thread index: the last epoch its thread acknowledged, or
  // kOffline. Written by its thread, read by killers: a line of its own.
  struct alignas(64) Record {
    std::atomic<std::uint64_t> seen{kOffline};
  };

  class Runtime {
   public:
    Runtime()
        : records_(std::make_unique<Record[]>(kMaxThreads)),
          arenas_(std::make_unique<std::atomic<Cell*>[]>(kMaxThreads)) {}
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;
    ~Runtime() {
      for (std::uint32_t t = 0; t < kMaxThreads; ++t)
        if (Cell* a = arenas_[t].load(std::memory_order_relaxed)) ::munmap(a, kArenaBytes);
    }

    [[nodiscard]] Counters counters() const {
      Counters c;
      c.raise_to(Counter::slot_bytes, std::uint64_t{high_water_.load(std::memory_order_relaxed)} *
                                          sizeof(Cell) * arena_count_.load(std::memory_order_relaxed));
      if constexpr (Tuning::kCounting)
        c.raise_to(Counter::sharded_objects,
                   static_cast<std::uint64_t>(peak_sharded_.load(std::memory_order_relaxed)));
      return c;
    }
    void shutdown() {}  // every detach() folded its kills; arenas go with the runtime

    // This thread's arena and record, made on first use of the index.
    [[gnu::cold]] Cell* arena(ThreadIndex t) {
      if (t.value >= kMaxThreads) throw std::out_of_range("sharded: thread index over 255");
      std::lock_guard lock(mu_);
      Cell* a = arenas_[t.value].load(std::memory_order_relaxed);
      if (a == nullptr) {
        void* mem = ::mmap(nullptr, kArenaBytes, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (mem == MAP_FAILED) throw std::bad_alloc();
        a = static_cast<Cell*>(mem);
        arenas_[t.value].store(a, std::memory_order_release);
        arena_count_.fetch_add(1, std::memory_order_relaxed);
      }
      // Release: a killer that reads the new bound after this thread went
      // online (see the header) finds its record and arena.
      if (t.value + 1 > threads_.load(std::memory_order_relaxed))
        threads_.store(t.value + 1, std::memory_order_release);
      return a;
    }
    [[nodiscard]] Record& record(ThreadIndex t) { return records_[t.value]; }
    [[nodiscard]] std::atomic<std::uint64_t>& epoch() { return epoch_; }

    // True when every thread but `self` acknowledged epoch `e` or is offline.
    // Acquire: their slot writes before the acknowledgement happen before
    // the caller's sum.
    [[nodiscard]] bool grace_elapsed(std::uint64_t e, std::uint32_t self) const {
      const std::uint32_t n = threads_.load(std::memory_order_acquire);
      for (std::uint32_t t = 0; t < n; ++t)
        if (t != self && records_[t].seen.load(std::memory_order_acquire) < e) return false;
      return true;
    }

    // Sums slot s over every arena and zeroes it for the next object. Only
    // after a grace period: no thread can still be writing slot s.
    std::int64_t sum_and_clear(std::uint32_t s) {
      const std::uint32_t n = threads_.load(std::memory_order_acquire);
      std::int64_t sum = 0;
      for (std::uint32_t t = 0; t < n; ++t) {
        Cell* a = arenas_[t].load(std::memory_order_acquire);
        if (a == nullptr) continue;
        // Read first: a slot never written stays on the shared zero page.
        if (const std::int64_t v = a[s].load(std::memory_order_relaxed); v != 0) {
          sum += v;
          a[s].store(0, std::memory_order_relaxed);
        }
      }
      return sum;
    }

    // The references to `o` that exist, however they are counted now. For
    // tests, at a point where no thread is inside an op on `o`.
    [[nodiscard]] std::int64_t references(const Obj* o) const {
      const std::uint32_t m = o->rc.mode.load(std::memory_order_acquire);
      const auto count = static_cast<std::int64_t>(o->rc.count.load(std::memory_order_acquire));
      if (m == kPrivate || m == kAtomic) return count;
      const std::uint32_t n = threads_.load(std::memory_order_acquire);
      std::int64_t sum = count - static_cast<std::int64_t>(kBias);
      for (std::uint32_t t = 0; t < n; ++t)
        if (const Cell* a = arenas_[t].load(std::memory_order_acquire))
          sum += a[o->rc.slot].load(std::memory_order_relaxed);
      return sum;
    }
    // Where thread t counts `o` (per-thread mode only). For tests.
    [[nodiscard]] const Cell* slot_of(ThreadIndex t, const Obj* o) const {
      return arenas_[t.value].load(std::memory_order_acquire) + o->rc.slot;
    }

    // Slot indices: a pool under one lock, moved kChunk at a time.
    [[gnu::noinline, gnu::cold]] void refill(std::vector<std::uint32_t>& into) {
      std::lock_guard lock(mu_);
      if (!pool_.empty()) {
        const std::size_t n = std::min<std::size_t>(kChunk, pool_.size());
        into.insert(into.end(), pool_.end() - static_cast<std::ptrdiff_t>(n), pool_.end());
        pool_.resize(pool_.size() - n);
        return;
      }
      if (next_ > kMaxSlots - kChunk) throw std::length_error("sharded: over 2^24 shared objects");
      for (std::uint32_t i = next_ + kChunk; i-- > next_;) into.push_back(i);
      next_ += kChunk;
      high_water_.store(next_, std::memory_order_relaxed);
    }
    [[gnu::noinline, gnu::cold]] void give_back(std::vector<std::uint32_t>& from, std::size_t n) {
      std::lock_guard lock(mu_);
      n = std::min(n, from.size());
      pool_.insert(pool_.end(), from.end() - static_cast<std::ptrdiff_t>(n), from.end());
      from.resize(from.size() - n);
    }

    // Counted instantiation only: objects holding slots now, and the peak.
    void sharded_delta(std::int64_t d) {
      const std::int64_t now = sharded_.fetch_add(d, std::memory_order_relaxed) + d;
      std::int64_t peak = peak_sharded_.load(std::memory_order_relaxed);
      while (now > peak &&
             !peak_sharded_.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
      }
    }

    // In a forked child only the forking thread exists: nobody else will
    // ever acknowledge an epoch, so nobody else is online.
    // Writes only records that need it: each write copies a page in the child.
    void forget_other_threads(std::uint32_t self) {
      const std::uint32_t n = threads_.load(std::memory_order_relaxed);
      for (std::uint32_t t = 0; t < n; ++t)
        if (t != self && records_[t].seen.load(std::memory_order_relaxed) != kOffline)
          records_[t].seen.store(kOffline, std::memory_order_relaxed);
    }

   private:
    const std::unique_ptr<Record[]> records_;
    const std::unique_ptr<std::atomic<Cell*>[]> arenas_;
    // Read by every safepoint, written once per grace period.
    alignas(64) std::atomic<std::uint64_t> epoch_{1};
    alignas(64) std::atomic<std::uint32_t> threads_{0};  // indices below have records to check
    std::atomic<std::uint32_t> arena_count_{0};
    std::atomic<std::uint32_t> high_water_{0};
    std::atomic<std::int64_t> sharded_{0};
    std::atomic<std::int64_t> peak_sharded_{0};
    alignas(64) std::mutex mu_;
    std::vector<std::uint32_t> pool_;  // guarded by mu_
    std::uint32_t next_ = 0;           // guarded by mu_
  };

  class Context : public ContextBase {
   public:
    Context(Runtime& rt, ThreadIndex idx)
        : ContextBase(idx),
          rt_(&rt),
          slots_(rt.arena(idx)),
          record_(&rt.record(idx)),
          chaos_(idx.value + 1) {}
    ~Context() {
      if (!free_.empty()) rt_->give_back(free_, free_.size());
    }

    void attach() { go_online(); }

    // Folds every kill this thread made (each after a grace period, which
    // other threads grant at their safepoints or by being blocked), then
    // leaves the slot indices it holds to the pool and goes offline.
    void detach() {
      go_online();  // folding runs ops: this thread must be seen as running
      while (busy()) {
        acknowledge();
        advance();
        if (busy()) std::this_thread::yield();
      }
      rt_->give_back(free_, free_.size());
      record_->seen.store(kOffline, std::memory_order_release);
    }

    void safepoint() {
      if constexpr (Tuning::kChaos) chaos_.maybe_yield(16);
      acknowledge();
      if (busy()) [[unlikely]]
        advance();
    }

    // Blocked: quiescent for as long as it lasts. Release: every slot write
    // before it happens before a killer's sum that trusts the offline mark.
    void enter_blocking() {
      if (busy()) advance();
      record_->seen.store(kOffline, std::memory_order_release);
    }
    void leave_blocking() { go_online(); }

    // Not yet visible to any other thread.
    void init_header(Obj* o) {
      o->rc.mode.store(kPrivate, std::memory_order_relaxed);
      o->rc.count.store(1, std::memory_order_relaxed);
    }

    void incref(Obj* o) {
      const std::uint32_t m = o->rc.mode.load(std::memory_order_relaxed);
      if (m < kFirstMode) {
        if constexpr (Tuning::kChaos) chaos_.maybe_yield(32);
        Cell& c = slots_[m];
        c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        tally<Tuning::kCounting>(counters, Counter::slot_ops);
      } else if (m == kPrivate) {
        o->rc.count.store(o->rc.count.load(std::memory_order_relaxed) + 1,
                          std::memory_order_relaxed);
      } else {
        count_increment_relaxed(o->rc.count);
        tally<Tuning::kCounting>(counters, Counter::atomic_rmw);
      }
    }

    void decref(Obj* o) {
      const std::uint32_t m = o->rc.mode.load(std::memory_order_relaxed);
      if (m < kFirstMode) {
        if constexpr (Tuning::kChaos) chaos_.maybe_yield(32);
        Cell& c = slots_[m];
        const std::int64_t v = c.load(std::memory_order_relaxed);
        if (v > 0) {
          c.store(v - 1, std::memory_order_relaxed);
          tally<Tuning::kCounting>(counters, Counter::slot_ops);
        } else {
          kill(o, m);
        }
      } else if (m == kPrivate) {
        const std::uint64_t v = o->rc.count.load(std::memory_order_relaxed) - 1;
        if (v == 0)
          reclaim<BasicSharded>(*this, o);
        else
          o->rc.count.store(v, std::memory_order_relaxed);
      } else {
        tally<Tuning::kCounting>(counters, Counter::atomic_rmw);
        if (count_decrement_release_is_last(o->rc.count)) reclaim<BasicSharded>(*this, o);
      }
    }

    // Gives `root` and every private object reachable from it a slot. The
    // mode doubles as the visited mark. Plain stores: the objects are still
    // this thread's alone, and the hand-over that follows publishes them.
    void publish(Obj* root) {
      if (root->rc.mode.load(std::memory_order_relaxed) != kPrivate) return;
      walk_.push_back(root);
      while (!walk_.empty()) {
        Obj* o = walk_.back();
        walk_.pop_back();
        if (o == nullptr || o->rc.mode.load(std::memory_order_relaxed) != kPrivate) continue;
        const std::uint32_t s = take_slot();
        o->rc.count.store(o->rc.count.load(std::memory_order_relaxed) + kBias,
                          std::memory_order_relaxed);
        o->rc.slot = s;
        o->rc.mode.store(s, std::memory_order_relaxed);
        if (o->is_container())
          for (std::uint32_t i = 0; i < o->size; ++i) walk_.push_back(o->item(i));
      }
    }

    // In a forked child: the other threads did not come along.
    void after_fork_child() { rt_->forget_other_threads(index().value); }

   private:
    [[nodiscard]] bool busy() const { return !pending_.empty() || !waiting_.empty(); }

    // A quiescent point: acquire, so later mode loads see every kill
    // whose batch the loaded epoch covers; release, so every slot write so
    // far happens before a sum that trusts this acknowledgement.
    void acknowledge() {
      const std::uint64_t e = rt_->epoch().load(std::memory_order_acquire);
      if (e != seen_) {
        seen_ = e;
        record_->seen.store(e, std::memory_order_release);
      }
    }

    // Record first, then an RMW on the epoch: it is ordered with every
    // killer's bump, so either the killer sees this record (and waits for
    // an acknowledgement) or this thread sees the killer's mode change.
    [[gnu::cold]] void go_online() {
      record_->seen.store(rt_->epoch().load(std::memory_order_relaxed), std::memory_order_relaxed);
      seen_ = rt_->epoch().fetch_add(0, std::memory_order_acq_rel);
      record_->seen.store(seen_, std::memory_order_release);
    }

    // The decref found this thread's slot at zero: the reference it drops
    // was counted elsewhere (the base reference). Switch o to atomic and
    // queue the fold. The decrement cannot reach zero: the count carries
    // kBias until the fold, and the fold waits for this thread's next
    // quiescent point.
    [[gnu::noinline, gnu::cold]] void kill(Obj* o, std::uint32_t s) {
      std::uint32_t expected = s;
      if (o->rc.mode.compare_exchange_strong(expected, kDying, std::memory_order_relaxed,
                                             std::memory_order_relaxed)) {
        pending_.push_back(o);
        tally<Tuning::kCounting>(counters, Counter::kills);
      }
      if constexpr (Tuning::kChaos) chaos_.maybe_yield(4);
      tally<Tuning::kCounting>(counters, Counter::atomic_rmw);
      o->rc.count.fetch_sub(1, std::memory_order_release);
    }

    // Folds the batch whose grace period has elapsed, and starts one for
    // the kills made since (folds make more: a dead container's children).
    [[gnu::noinline, gnu::cold]] void advance() {
      for (;;) {
        if (!waiting_.empty()) {
          if (!rt_->grace_elapsed(waiting_epoch_, index().value)) return;
          folding_.swap(waiting_);
          for (Obj* o : folding_) fold(o);
          folding_.clear();
        }
        if (pending_.empty()) return;
        // Acq_rel: release publishes the CASes above to whoever acknowledges
        // this epoch; acquire orders any thread's going online before us.
        waiting_epoch_ = rt_->epoch().fetch_add(1, std::memory_order_acq_rel) + 1;
        tally<Tuning::kCounting>(counters, Counter::grace_periods);
        waiting_.swap(pending_);
      }
    }

    void fold(Obj* o) {
      if constexpr (Tuning::kChaos) chaos_.maybe_yield(4);
      const std::int64_t sum = rt_->sum_and_clear(o->rc.slot);
      release_slot(o->rc.slot);
      o->rc.mode.store(kAtomic, std::memory_order_relaxed);
      const std::uint64_t delta = static_cast<std::uint64_t>(sum) - kBias;
      tally<Tuning::kCounting>(counters, Counter::atomic_rmw);
      // Acq_rel: if this makes zero, every release decrement before it
      // happens before the free.
      if (o->rc.count.fetch_add(delta, std::memory_order_acq_rel) + delta == 0) {
        tally<Tuning::kCounting>(counters, Counter::delayed_frees);
        reclaim<BasicSharded>(*this, o);
      }
    }

    std::uint32_t take_slot() {
      if (free_.empty()) rt_->refill(free_);
      const std::uint32_t s = free_.back();
      free_.pop_back();
      if constexpr (Tuning::kCounting) rt_->sharded_delta(1);
      return s;
    }
    void release_slot(std::uint32_t s) {
      free_.push_back(s);
      if (free_.size() >= 4 * kChunk) rt_->give_back(free_, 2 * kChunk);
      if constexpr (Tuning::kCounting) rt_->sharded_delta(-1);
    }

    Runtime* rt_;
    Cell* slots_;  // this thread's arena: slot s of every shared object
    Record* record_;
    std::uint64_t seen_ = 0;  // the epoch last acknowledged
    [[no_unique_address]] Chaos<Tuning::kChaos> chaos_;
    std::uint64_t waiting_epoch_ = 0;
    std::vector<Obj*> pending_;  // killed, no grace period started yet
    std::vector<Obj*> waiting_;  // killed, waiting for waiting_epoch_
    std::vector<Obj*> folding_;  // being folded (folds may kill more)
    std::vector<std::uint32_t> free_;  // slot indices this thread may hand out
    std::vector<Obj*> walk_;           // publish's worklist, reused
  };
};

using Sharded = BasicSharded<>;

static_assert(RefCountStrategy<Sharded>);
static_assert(RefCountStrategy<Uncounted<Sharded>>);

}  // namespace rcb
