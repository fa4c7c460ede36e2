#pragma once
// gil: plain counts, every thread serialised by an emulated global
// interpreter lock, as CPython's ceval_gil.c does it.
//
// Mechanism: a thread holds the lock while it runs. A thread that wants the
// lock waits up to one switch interval (5 ms, sys.setswitchinterval); if no
// switch happened meanwhile it sets `drop_request`. The holder reads that
// flag at every safepoint (CPython's eval breaker, checked on backward jumps)
// and, when set, drops the lock and waits until another thread has taken it
// (FORCE_SWITCHING), so the dropper cannot simply win it straight back and
// no waiter starves. Blocking calls release it (Py_BEGIN_ALLOW_THREADS).
// Invariant: counts are only touched by the holder; the mutex hand-over
// orders one holder's writes before the next holder's reads.
// Source: seeds 000 and 004; CPython Python/ceval_gil.c.
// Loses: threads add no throughput on pure-Python work; each switch costs
// a futex round trip and a cold cache for the thread taking over.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <new>

#include "strategies/object.h"
#include "strategies/strategy.h"

namespace rcb {

struct Gil {
  static constexpr StrategyInfo info{
      "gil", "plain counts under an emulated GIL, dropped at safepoints every 5 ms switch interval",
      true};
  static constexpr std::array reported{Counter::gil_switches, Counter::gil_waits};

  struct Header {
    std::uint64_t count;
  };

  class Context;

  class Runtime {
   public:
    static constexpr std::chrono::microseconds kDefaultSwitchInterval{5000};
    explicit Runtime(std::chrono::microseconds interval = kDefaultSwitchInterval)
        : interval_(interval) {}

    [[nodiscard]] Counters counters() const { return {}; }
    void shutdown() {}

    // Blocks until this thread holds the lock.
    void take(Counters& c) {
      std::unique_lock lock(mu_);
      if (locked_) c.add(Counter::gil_waits);
      ++waiters_;
      while (locked_) {
        const std::uint64_t seen = switch_number_;
        const bool freed = cv_.wait_for(lock, interval_, [&] { return !locked_; });
        // A whole interval passed and nobody else got the lock: ask the
        // holder to let go at its next safepoint.
        if (!freed && switch_number_ == seen) drop_request_.store(true, std::memory_order_relaxed);
      }
      --waiters_;
      locked_ = true;
      ++switch_number_;
      drop_request_.store(false, std::memory_order_relaxed);
      switched_.notify_all();
    }

    // Releases the lock. With `force_switch`, waits until some other
    // thread has taken it, so a thread dropping on request does not retake
    // it before the waiter wakes.
    void drop(bool force_switch) {
      std::unique_lock lock(mu_);
      locked_ = false;
      cv_.notify_one();
      if (force_switch && waiters_ > 0) {
        const std::uint64_t seen = switch_number_;
        switched_.wait(lock, [&] { return switch_number_ != seen || waiters_ == 0; });
      }
    }

    [[nodiscard]] bool drop_requested() const {
      return drop_request_.load(std::memory_order_relaxed);
    }

    // In a forked child, whose only thread held the lock when it forked.
    // The copy's waiters, drop request and mutex state belong to threads
    // that do not exist there: a safepoint that honoured the copied request
    // would wait forever for a waiter to take over. Start afresh with the
    // lock held, as CPython's PyEval_ReInitThreads does; the old mutex may
    // be copied locked, so it is replaced, not unlocked or destroyed.
    void reinit_after_fork() {
      new (&mu_) std::mutex;
      new (&cv_) std::condition_variable;
      new (&switched_) std::condition_variable;
      locked_ = true;
      waiters_ = 0;
      drop_request_.store(false, std::memory_order_relaxed);
    }

   private:
    const std::chrono::microseconds interval_;
    // Read by the holder at every safepoint; written rarely.
    alignas(64) std::atomic<bool> drop_request_{false};
    alignas(64) std::mutex mu_;
    std::condition_variable cv_;        // the lock became free
    std::condition_variable switched_;  // someone took it
    bool locked_ = false;
    int waiters_ = 0;
    std::uint64_t switch_number_ = 0;
  };

  class Context : public PassiveContext {
   public:
    Context(Runtime& rt, ThreadIndex idx) : PassiveContext(idx), rt_(&rt) {}

    void attach() { rt_->take(counters); }
    void detach() { rt_->drop(false); }
    void init_header(Object<Gil>* o) { o->rc.count = 1; }
    void incref(Object<Gil>* o) { ++o->rc.count; }
    void decref(Object<Gil>* o) {
      if (--o->rc.count == 0) reclaim<Gil>(*this, o);
    }
    void safepoint() {
      if (rt_->drop_requested()) [[unlikely]]
        switch_threads();
    }
    void enter_blocking() { rt_->drop(false); }
    void leave_blocking() { rt_->take(counters); }
    void after_fork_child() { rt_->reinit_after_fork(); }

   private:
    [[gnu::noinline, gnu::cold]] void switch_threads() {
      counters.add(Counter::gil_switches);
      rt_->drop(true);
      rt_->take(counters);
    }
    Runtime* rt_;
  };
};

static_assert(RefCountStrategy<Gil>);

}  // namespace rcb
