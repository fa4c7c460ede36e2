#pragma once
// buffered: Gilectomy's buffered reference counting (seed 001, "the garbage
// collection handbook" design Larry Hastings built in 2016).
//
// Mechanism: incref and decref never touch the object. Each thread appends
// the object's address to its own incref or decref log (a store and a
// pointer bump); a full log, and at every epoch the partial ones, are handed
// to a commit thread, which applies them to a plain count in the header and
// frees objects whose count reaches zero. Threads never wait for the commit
// thread, except when it has fallen so far behind that every log is in
// flight (backpressure, below).
//
// Invariant (the ordering rule): a decref is applied only after every incref
// that may have happened before it, on any thread, has been applied. Applied
// out of order, "A increfs x and hands it to B; B decrefs" could take x's
// count to zero while A still holds it.
//
// Epoch protocol that keeps the rule:
//   - The committer owns a global epoch G. Each thread has an epoch e_t and
//     tags every log it hands over with it. At a safepoint a thread with
//     e_t != G hands over its partial logs and sets e_t = G (acknowledges).
//   - The committer advances G from g to g+1 only when every running thread
//     has e_t == g. So running threads' epochs are always G-1 or G: two
//     threads are never more than one apart.
//   - Hence if incref I (in epoch a) happens before decref D (epoch b),
//     a <= b + 1: for B to still be in b-1 when A is in b+1, G would have
//     reached b+1 without B acknowledging b, which cannot happen.
//   - When every running thread has acknowledged g, every log tagged <= g-1
//     has been handed over. Increfs are applied as soon as they arrive, so
//     the committer may then apply decrefs tagged <= g-2: decrefs lag the
//     increfs by one epoch.
//   - A thread that blocks (enter_blocking, a backpressure wait) or detaches
//     hands over all its logs first and counts as acknowledged while it is
//     not running, so a parked thread never stalls the epochs; coming back
//     it takes the current epoch under the same mutex the committer checks
//     under. With no thread running, every log is in, and everything applies.
//   - Children of an object the committer frees are decref'd by the
//     committer directly: every incref that happened before the parent died
//     happened before the parent's last decref, so it has been applied.
//
// Backpressure: logs come from a pool of at most Tuning::kMaxLogs. A thread
// that needs a log when none is free hands over all it holds, parks as
// blocked (so it stalls no epoch) and waits for the committer to return one.
// Increfs are applied on arrival, decrefs within two epoch closes, and an
// epoch closes once running threads reach a safepoint or park, so the pool
// always refills: no deadlock with threads parked in enter_blocking(), as
// long as running threads reach safepoints (the workload contract).
//
// Counters (counted instantiation only, see Counted in strategy.h):
// threads count log_rotations (logs handed over, full or partial). The
// committer counts log_entries (entries applied), epochs (epochs closed) and
// delayed_frees: every object it frees, children included, since all of
// them die before the committer gets to them. peak_pending_frees is exact:
// the counted instantiation keeps a second, atomic count of the references
// that really exist (updated when an op is logged, not when it is applied).
// When it reaches zero the object is dead, and so is every child that the
// dead object held the last reference to (walked at once, iteratively);
// they join a dead-but-allocated tally that the committer lowers as it
// frees. The most that tally ever held is the peak of garbage awaiting free.
// It is measured in a pass of its own, whose extra atomic ops slow the
// workers and so give the committer relatively more time: it is a faithful
// figure for that pass and, if anything, a slight underestimate for the
// timed one.
//
// Fork: in a forked child there is no commit thread, and the mutex may have
// been held by a thread that does not exist there. after_fork_child() makes
// the forking thread, the child's only thread, its own committer: entries
// go to two small scratch logs, and when one fills the thread applies its
// pending increfs, then (for the decref log) its decrefs, straight to the
// counts; with one thread that order is the whole ordering rule. No path
// takes the mutex or waits. Applying writes the headers, as a restarted
// commit thread would, so fork_cow sees the copy-on-write cost that buffered
// counting really has (a sink that never applied would dirty nothing and
// flatter it). A count that reaches zero in the child is left alone: the
// child only reads, and leaves with _exit(); the last partial logs are
// dropped with it.
//
// Source: seed 001 (Gilectomy, PyCon 2017: "buffered reference counting").
// Loses: objects are freed late and by another core (cold caches, memory
// held), every free costs a cross-core cache miss on the header, and the
// commit thread is a serial bottleneck that grows with the thread count.

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "strategies/chaos.h"
#include "strategies/object.h"
#include "strategies/strategy.h"

namespace rcb {

// What the tests vary; benchmarks use the defaults.
struct BufferedTuning : Counted {
  static constexpr std::string_view kName = "buffered";
  static constexpr std::size_t kLogEntries = 2048;  // 16 KiB a log: one rotation per 2048 ops
  static constexpr std::size_t kMaxLogs = 512;      // 8 MiB of logs in flight, then backpressure
  static constexpr std::chrono::microseconds kEpochInterval{1000};  // how often G may advance
  static constexpr bool kChaos = false;  // random yields in slow paths and at safepoints
};

// The references that exist right now, as opposed to those applied
// (counted instantiation only: it measures how long the dead wait).
template <bool kOn>
struct BufferedTrueRefs {};
template <>
struct BufferedTrueRefs<true> {
  std::atomic<std::int64_t> refs;
};

template <class Tuning = BufferedTuning>
struct BasicBuffered {
  static_assert(Tuning::kMaxLogs >= 1 && Tuning::kLogEntries >= 1);

  static constexpr StrategyInfo info{
      Tuning::kName,
      "per-thread incref/decref logs applied by a commit thread; decrefs lag increfs an epoch",
      true};
  static constexpr std::array reported{Counter::log_rotations, Counter::log_entries,
                                       Counter::epochs, Counter::delayed_frees,
                                       Counter::peak_pending_frees};

  using Obj = Object<BasicBuffered>;

  static constexpr bool kCounting = Tuning::kCounting;

  // `count` is written by the creating thread in init_header(), then only
  // by the commit thread: the log hand-over orders the two.
  struct Header {
    std::int64_t count;
    [[no_unique_address]] BufferedTrueRefs<kCounting> truth;
  };

  struct Log {
    Log* next;
    std::uint64_t epoch;  // the writer's epoch while it wrote these entries
    std::uint32_t used;
    bool decrefs;
    std::array<Obj*, Tuning::kLogEntries> entries;
  };

  // Where a thread's view of the epoch lives. Written only by its thread,
  // under the runtime mutex; read by its thread anywhere and by the
  // committer under the mutex.
  struct ThreadState {
    std::uint64_t epoch = 0;
    bool running = false;
  };

  class Context;

  class Runtime {
   public:
    Runtime() : committer_thread_([this] { commit_main(); }) {}
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;

    ~Runtime() {
      stop_committer();
      release_logs(free_logs_);
      release_logs(inbox_);
      for (Log* l : pending_) delete l;
    }

    // The commit thread's counters as of its last round, and the exact peak
    // of dead-but-allocated objects.
    [[nodiscard]] Counters counters() const {
      std::lock_guard lock(mu_);
      Counters c = published_;
      c.raise_to(Counter::peak_pending_frees, peak_dead_.load(std::memory_order_relaxed));
      return c;
    }

    // Objects the commit thread has freed (all of them: threads never free).
    [[nodiscard]] std::uint64_t objects_freed() const {
      std::lock_guard lock(mu_);
      return published_freed_;
    }

    // The same, exact while the committer works (objects_freed() is as of
    // its last round), for a census taken during a run: counted only, as
    // the census runs only in the counted pass.
    [[nodiscard]] FreeTally frees_so_far() const
      requires kCounting
    {
      return committer_.mirrored();
    }

    // After every context detached: applies every log, frees what died,
    // joins the commit thread.
    void shutdown() {
      {
        std::lock_guard lock(mu_);
        if (!threads_.empty())
          throw std::logic_error("buffered: shutdown() while threads are still attached");
      }
      stop_committer();
    }

    // For tests and diagnostics.
    [[nodiscard]] std::uint64_t epoch() const { return epoch_.load(std::memory_order_relaxed); }
    [[nodiscard]] std::size_t logs_allocated() const {
      std::lock_guard lock(mu_);
      return logs_allocated_;
    }
    [[nodiscard]] std::uint64_t backpressure_waits() const {
      std::lock_guard lock(mu_);
      return backpressure_waits_;
    }

   private:
    friend class Context;

    // Frees through reclaim() like a thread would, with its own tallies.
    // Children of a dead container are decref'd directly: see the header
    // comment for why that respects the ordering rule.
    class Committer : public ContextBase {
     public:
      Committer() : ContextBase(ThreadIndex{std::numeric_limits<std::uint32_t>::max()}) {}
      void decref(Obj* o) {
        if (--o->rc.count == 0) reclaim<BasicBuffered>(*this, o);
      }

      // Counted instantiation: every free mirrored where other threads may
      // read it while we run. Single writer, so a relaxed load and store
      // (no RMW). Called just before o's memory goes: a reader may count an
      // object freed a few instructions early, never late.
      void on_free(Obj* o)
        requires kCounting
      {
        const auto bump = [](std::atomic<std::uint64_t>& a, std::uint64_t n) {
          a.store(a.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
        };
        bump(mirrored_objects_, 1);
        if (o->is_container()) bump(mirrored_item_slots_, o->size);
      }
      [[nodiscard]] FreeTally mirrored() const {
        return {mirrored_objects_.load(std::memory_order_relaxed),
                mirrored_item_slots_.load(std::memory_order_relaxed)};
      }

     private:
      std::atomic<std::uint64_t> mirrored_objects_{0};
      std::atomic<std::uint64_t> mirrored_item_slots_{0};
    };

    // What one commit round took from the threads.
    struct Round {
      Log* arrived = nullptr;
      // Decref logs tagged < this apply this round.
      std::uint64_t apply_below = 0;
    };

    // --- thread side, all under mu_ ---------------------------------------

    void join_locked(ThreadState& t) {
      t.running = true;
      t.epoch = epoch_.load(std::memory_order_relaxed);
      if (asleep_) wake_locked();  // a running thread means epochs to close
    }

    void hand_over_locked(Log* log) {
      log->next = nullptr;
      *inbox_tail_ = log;
      inbox_tail_ = &log->next;
      // A full log is worth applying now (increfs recycle at once); a waiter
      // needs logs back as soon as possible.
      if (log->used == Tuning::kLogEntries || log_waiters_ > 0) wake_locked();
    }

    void recycle_locked(Log* log) {
      log->next = free_logs_;
      free_logs_ = log;
      if (log_waiters_ > 0) log_freed_.notify_all();
    }

    // A fresh log, or nullptr when the pool is exhausted.
    Log* try_take_log_locked() {
      if (Log* l = free_logs_) {
        free_logs_ = l->next;
        return l;
      }
      if (logs_allocated_ == Tuning::kMaxLogs) return nullptr;
      ++logs_allocated_;
      return new Log;
    }

    void wake_locked() {
      wake_ = true;
      commit_cv_.notify_one();
    }

    // --- commit thread ----------------------------------------------------

    void commit_main() {
      std::unique_lock lock(mu_);
      for (;;) {
        if (!wake_ && !stop_) {
          if (idle_locked()) {
            // Nothing to apply and nobody logging: sleep until a thread
            // runs, instead of waking every interval on a benchmark core.
            asleep_ = true;
            commit_cv_.wait(lock, [&] { return wake_ || stop_; });
            asleep_ = false;
          } else {
            // Waiters want logs back: close epochs as fast as threads ack.
            const auto interval =
                log_waiters_ > 0 ? Tuning::kEpochInterval / 8 : Tuning::kEpochInterval;
            commit_cv_.wait_for(lock, interval);
          }
        }
        wake_ = false;
        const bool stopping = stop_;
        const Round round = begin_round_locked();
        lock.unlock();
        std::vector<Log*> done = apply(round);
        lock.lock();
        for (Log* l : done) recycle_locked(l);
        published_ = stats_;
        published_freed_ = committer_.freed;
        // With no thread attached the round applied everything; with some
        // still attached only a destructor stops us, and what they hold leaks.
        if (stopping && (pending_.empty() || !threads_.empty())) return;
      }
    }

    [[nodiscard]] bool idle_locked() const {
      return inbox_ == nullptr && pending_.empty() &&
             std::none_of(threads_.begin(), threads_.end(),
                          [](const ThreadState* t) { return t->running; });
    }

    // Takes the inbox and, if every running thread acknowledged the current
    // epoch, closes it. Both under mu_, so the acknowledgements we read
    // cover exactly the logs we take.
    Round begin_round_locked() {
      Round r;
      r.arrived = inbox_;
      inbox_ = nullptr;
      inbox_tail_ = &inbox_;
      const std::uint64_t g = epoch_.load(std::memory_order_relaxed);
      bool any_running = false, all_acked = true;
      for (const ThreadState* t : threads_) {
        if (!t->running) continue;
        any_running = true;
        all_acked = all_acked && t->epoch == g;
      }
      const bool nothing_to_do = !any_running && r.arrived == nullptr && pending_.empty();
      if (all_acked && !nothing_to_do) {
        // Everything tagged <= g-1 is in: decrefs tagged <= g-2 may go.
        // With nobody running, nothing is out: all of them may go.
        r.apply_below = any_running ? (g >= 1 ? g - 1 : 0) : std::numeric_limits<std::uint64_t>::max();
        // Relaxed: a thread acts on a new epoch only under mu_.
        epoch_.store(g + 1, std::memory_order_relaxed);
        tally<kCounting>(stats_, Counter::epochs);
      }
      return r;
    }

    // Applies what a round took: increfs first, then every decref log that
    // is old enough. Returns the logs it is done with.
    std::vector<Log*> apply(const Round& r) {
      std::vector<Log*> done;
      for (Log* l = r.arrived; l != nullptr;) {
        Log* next = l->next;
        if (l->decrefs) {
          pending_.push_back(l);
        } else {
          for (std::uint32_t i = 0; i < l->used; ++i) ++l->entries[i]->rc.count;
          tally<kCounting>(stats_, Counter::log_entries, l->used);
          done.push_back(l);
        }
        l = next;
      }
      const std::uint64_t freed_before = committer_.freed;
      std::erase_if(pending_, [&](Log* l) {
        if (l->epoch >= r.apply_below) return false;
        for (std::uint32_t i = 0; i < l->used; ++i) {
          Obj* o = l->entries[i];
          if (--o->rc.count == 0) reclaim<BasicBuffered>(committer_, o);
        }
        tally<kCounting>(stats_, Counter::log_entries, l->used);
        done.push_back(l);
        return true;
      });
      if constexpr (kCounting) {
        const std::uint64_t freed = committer_.freed - freed_before;
        stats_.add(Counter::delayed_frees, freed);
        // After the frees: the tally only ever overstates the garbage by
        // what a worker has declared dead and not yet handed over.
        dead_unfreed_.fetch_sub(freed, std::memory_order_relaxed);
      }
      return done;
    }

    void stop_committer() {
      {
        std::lock_guard lock(mu_);
        stop_ = true;
        wake_locked();
      }
      if (committer_thread_.joinable()) committer_thread_.join();
    }

    static void release_logs(Log* l) {
      while (l != nullptr) delete std::exchange(l, l->next);
    }

    // Counted instantiation: objects declared dead by a worker (true count
    // zero) and not yet freed by the committer. Relaxed: one atomic's
    // modification order already puts a death before its free, because the
    // log hand-over orders the worker's add before the committer's sub.
    void note_dead(std::uint64_t n) {
      const std::uint64_t now = dead_unfreed_.fetch_add(n, std::memory_order_relaxed) + n;
      std::uint64_t peak = peak_dead_.load(std::memory_order_relaxed);
      while (now > peak && !peak_dead_.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
      }
    }
    alignas(64) std::atomic<std::uint64_t> dead_unfreed_{0};
    std::atomic<std::uint64_t> peak_dead_{0};

    // Read at every safepoint by every thread; written once per epoch.
    alignas(64) std::atomic<std::uint64_t> epoch_{1};

    alignas(64) mutable std::mutex mu_;
    std::condition_variable commit_cv_;  // the committer has work
    std::condition_variable log_freed_;  // a log went back to the pool
    std::vector<ThreadState*> threads_;  // attached threads
    Log* inbox_ = nullptr;               // handed over, not yet taken
    Log** inbox_tail_ = &inbox_;
    Log* free_logs_ = nullptr;
    std::size_t logs_allocated_ = 0;
    std::size_t log_waiters_ = 0;
    std::uint64_t backpressure_waits_ = 0;
    bool wake_ = false;
    bool stop_ = false;
    bool asleep_ = false;  // the committer waits without a timeout
    Counters published_;
    std::uint64_t published_freed_ = 0;

    // The commit thread's own, touched by nobody else.
    std::vector<Log*> pending_;  // decref logs not yet old enough
    Committer committer_;
    Counters stats_;

    std::thread committer_thread_;  // last: starts after everything above exists
  };

  class Context : public PassiveContext {
   public:
    Context(Runtime& rt, ThreadIndex idx) : PassiveContext(idx), rt_(&rt), chaos_(idx.value + 1) {
      inc_.decrefs = false;
      dec_.decrefs = true;
    }
    Context(const Context&) = delete;
    Context& operator=(const Context&) = delete;
    ~Context() {
      if (forked_) return;  // the logs belong to the parent's copy
      delete inc_.log;
      delete dec_.log;
    }

    void attach() {
      std::lock_guard lock(rt_->mu_);
      rt_->threads_.push_back(&state_);
      rt_->join_locked(state_);
    }

    void detach() {
      if (forked_) return;
      std::lock_guard lock(rt_->mu_);
      hand_over_all_locked();
      std::erase(rt_->threads_, &state_);
      rt_->wake_locked();
    }

    void init_header(Obj* o) {
      o->rc.count = 1;
      if constexpr (kCounting) o->rc.truth.refs.store(1, std::memory_order_relaxed);
    }

    void incref(Obj* o) {
      if constexpr (kCounting) o->rc.truth.refs.fetch_add(1, std::memory_order_relaxed);
      if (inc_.pos == inc_.end) [[unlikely]]
        rotate(inc_);
      *inc_.pos++ = o;
    }

    void decref(Obj* o) {
      if constexpr (kCounting) {
        // acq_rel: whoever sees zero reads the children others stored.
        if (o->rc.truth.refs.fetch_sub(1, std::memory_order_acq_rel) == 1) died(o);
      }
      if (dec_.pos == dec_.end) [[unlikely]]
        rotate(dec_);
      *dec_.pos++ = o;
    }

    // One relaxed load: the slow path re-reads the epoch under the mutex.
    void safepoint() {
      if constexpr (Tuning::kChaos) chaos_.maybe_yield(16);
      if (rt_->epoch_.load(std::memory_order_relaxed) != state_.epoch) [[unlikely]]
        acknowledge();
    }


    // Parked threads must not stall epochs: hand everything over and stop
    // counting as running.
    void enter_blocking() {
      if (forked_) return;
      std::lock_guard lock(rt_->mu_);
      hand_over_all_locked();
      state_.running = false;
    }

    void leave_blocking() {
      if (forked_) return;
      std::lock_guard lock(rt_->mu_);
      rt_->join_locked(state_);
    }

    // In a forked child (see the header comment): log into scratch logs
    // this thread applies itself; never lock, never wait.
    void after_fork_child() {
      forked_ = true;
      inc_.log = dec_.log = nullptr;
      inc_.pos = scratch_inc_.data();
      inc_.end = scratch_inc_.data() + scratch_inc_.size();
      dec_.pos = scratch_dec_.data();
      dec_.end = scratch_dec_.data() + scratch_dec_.size();
    }

    // The epoch this thread last acknowledged (tests).
    [[nodiscard]] std::uint64_t epoch() const { return state_.epoch; }

   private:
    struct Cursor {
      Obj** pos = nullptr;
      Obj** end = nullptr;
      Log* log = nullptr;
      bool decrefs;
    };

    [[gnu::noinline, gnu::cold]] void rotate(Cursor& c) {
      if (forked_) {
        commit_in_child(c.decrefs);
        return;
      }
      if constexpr (Tuning::kChaos) chaos_.maybe_yield(4);
      std::unique_lock lock(rt_->mu_);
      hand_over_locked(c);
      Log* log = rt_->try_take_log_locked();
      while (log == nullptr) log = wait_for_log(lock);
      c.log = log;
      c.pos = log->entries.data();
      c.end = c.pos + log->entries.size();
    }

    // Backpressure. Park like a blocked thread, so the epochs we would
    // otherwise hold back can close and return logs to the pool.
    Log* wait_for_log(std::unique_lock<std::mutex>& lock) {
      hand_over_all_locked();
      state_.running = false;
      ++rt_->log_waiters_;
      ++rt_->backpressure_waits_;
      rt_->wake_locked();
      rt_->log_freed_.wait(lock, [&] { return rt_->free_logs_ != nullptr; });
      --rt_->log_waiters_;
      rt_->join_locked(state_);
      return rt_->try_take_log_locked();
    }

    [[gnu::noinline, gnu::cold]] void acknowledge() {
      if (forked_) {
        state_.epoch = rt_->epoch_.load(std::memory_order_relaxed);
        return;
      }
      if constexpr (Tuning::kChaos) chaos_.maybe_yield(4);
      std::lock_guard lock(rt_->mu_);
      // Entries already logged belong to the old epoch; an empty log may
      // stay, it carries no tag until it is handed over.
      if (inc_.pos != first(inc_)) hand_over_locked(inc_);
      if (dec_.pos != first(dec_)) hand_over_locked(dec_);
      state_.epoch = rt_->epoch_.load(std::memory_order_relaxed);
      if (rt_->log_waiters_ > 0) rt_->wake_locked();
    }

    // The forked child's own commit: every pending incref before any
    // decref, which for a single thread is the ordering rule.
    void commit_in_child(bool with_decrefs) {
      for (Obj** p = scratch_inc_.data(); p != inc_.pos; ++p) ++(*p)->rc.count;
      inc_.pos = scratch_inc_.data();
      if (!with_decrefs) return;
      for (Obj** p = scratch_dec_.data(); p != dec_.pos; ++p) --(*p)->rc.count;
      dec_.pos = scratch_dec_.data();
    }

    static Obj** first(const Cursor& c) { return c.log ? c.log->entries.data() : nullptr; }

    // Counted instantiation: o's last reference is gone, and with it every
    // reference o holds. Before the decref is logged, so before the
    // committer can free o or anything below it.
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

    void hand_over_all_locked() {
      hand_over_locked(inc_);
      hand_over_locked(dec_);
    }

    // Gives the cursor's log to the committer (tagged with our epoch), or
    // back to the pool if empty, and leaves the cursor without one.
    void hand_over_locked(Cursor& c) {
      if (Log* log = c.log) {
        log->used = static_cast<std::uint32_t>(c.pos - log->entries.data());
        log->epoch = state_.epoch;
        log->decrefs = c.decrefs;
        if (log->used == 0) {
          rt_->recycle_locked(log);
        } else {
          rt_->hand_over_locked(log);
          tally<kCounting>(counters, Counter::log_rotations);
        }
      }
      c.log = nullptr;
      c.pos = c.end = nullptr;
    }

    Runtime* rt_;
    Cursor inc_;
    Cursor dec_;
    ThreadState state_;
    bool forked_ = false;
    [[no_unique_address]] Chaos<Tuning::kChaos> chaos_;
    std::vector<Obj*> dying_;            // died()'s worklist, counted instantiation only
    std::array<Obj*, 256> scratch_inc_;  // the forked child's own logs
    std::array<Obj*, 256> scratch_dec_;
  };
};

using Buffered = BasicBuffered<>;

static_assert(RefCountStrategy<Buffered>);
static_assert(RefCountStrategy<Uncounted<Buffered>>);

}  // namespace rcb
