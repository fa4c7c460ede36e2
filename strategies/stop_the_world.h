#pragma once
// Stop-the-world pauses: one thread runs a piece of work while every other
// thread that could touch a count is parked at a safepoint, blocked, or
// detached. CPython's free-threaded collector pauses the world this way
// (_PyEval_StopTheWorld in Python/pystate.c: threads are ATTACHED, DETACHED
// or SUSPENDED; a detached thread need not be waited for, and one that
// tries to attach during a pause waits until it ends).
//
// Protocol: `running_` counts attached, unblocked, unparked threads. A pause
// sets `paused_` and raises `requested_`, which safepoints poll with one
// relaxed load; each thread that sees it parks (leaves `running_` and waits
// for the pause to end). The pauser runs its work once it is the only one
// running. Everything a parked or blocked thread did before it left
// `running_` happens before the work (the mutex orders them), so the work
// may read and write their stacks, queues and counts without atomics.
// Invariant: while `paused_`, no thread other than the pauser runs refcount
// code; a thread that asks for a pause while another one is in progress
// parks through that one instead (one pause serves both).

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <new>

namespace rcb {

class World {
 public:
  // A thread starts (or comes back from blocking) and may touch counts.
  void attach() {
    std::unique_lock lock(mu_);
    wait_out_pause(lock);
    ++running_;
  }
  // A thread ends (or is about to block) and will not touch counts.
  void detach() {
    std::lock_guard lock(mu_);
    --running_;
    changed_.notify_all();
  }

  // In a forked child, whose only thread is the one that forked (attached):
  // the other threads are gone, and a lock one of them held stays held.
  void after_fork_child() {
    new (&mu_) std::mutex;
    new (&changed_) std::condition_variable;
    running_ = 1;
    paused_ = false;
    requested_.store(false, std::memory_order_relaxed);
  }

  // Polled at every safepoint. Relaxed: a stale false only parks this
  // thread one safepoint later; the pauser waits for it.
  [[nodiscard]] bool pause_requested() const { return requested_.load(std::memory_order_relaxed); }

  // Called at a safepoint that saw pause_requested().
  void park() {
    std::unique_lock lock(mu_);
    --running_;
    changed_.notify_all();
    wait_out_pause(lock);
    ++running_;
  }

  // Runs work() with the world stopped. `caller_attached`: whether the
  // calling thread counts itself in running_ (false at shutdown, when every
  // context has detached). Returns false, without running work, when
  // another thread's pause was in progress: the caller parked through it.
  template <class Work>
  bool stop(Work&& work, bool caller_attached = true) {
    std::unique_lock lock(mu_);
    if (paused_) {
      if (caller_attached) --running_;
      changed_.notify_all();
      wait_out_pause(lock);
      if (caller_attached) ++running_;
      return false;
    }
    paused_ = true;
    requested_.store(true, std::memory_order_relaxed);
    const std::uint32_t self = caller_attached ? 1 : 0;
    changed_.wait(lock, [&] { return running_ == self; });
    lock.unlock();
    work();
    lock.lock();
    paused_ = false;
    requested_.store(false, std::memory_order_relaxed);
    changed_.notify_all();
    return true;
  }

 private:
  void wait_out_pause(std::unique_lock<std::mutex>& lock) {
    changed_.wait(lock, [&] { return !paused_; });
  }

  std::mutex mu_;
  std::condition_variable changed_;
  std::uint32_t running_ = 0;  // guarded by mu_
  bool paused_ = false;        // guarded by mu_
  alignas(64) std::atomic<bool> requested_{false};
};

}  // namespace rcb
