#pragma once
// When free-threaded CPython collects, for the strategies that model its
// collector (`deferred`, `cpython_ft`): a collection is scheduled by
// allocation, never by time or by safepoints.
//
// Mechanism (CPython 3.14, Python/gc_free_threading.c):
//   - every allocation of a GC object (a container: list, tuple, dict,
//     instance, function, deque, heap type) adds one to its thread's
//     alloc_count, every deallocation subtracts one (record_allocation,
//     record_deallocation);
//   - a thread flushes its count into the interpreter's young.count once it
//     reaches +512 (or -512), so the shared counter is written once per 512
//     allocations, not per allocation;
//   - after a flush of allocations, the thread schedules a collection when
//     young.count exceeds the threshold (2000), is at least a quarter of the
//     objects that survived the last collection (long_lived_total / 4, which
//     keeps collections from going quadratic in a growing heap), and the
//     process's memory grew since the last collection by a tenth or 128 KiB
//     (3.14's gate, gh-132917; VmRSS + VmSwap). When memory did not grow enough the young
//     count is set aside into deferred_count, and 40 thresholds' worth of
//     set-aside allocations collect regardless;
//   - the collection runs at the scheduling thread's next eval-breaker check
//     (our safepoint), and begins by checking the rule again: two threads
//     that both scheduled one collect once.
// Invariant: a thread that allocates no container never schedules a
// collection; a program whose containers die as fast as they are made moves
// young.count by at most 512 per thread.
// Not modelled: CPython's count of survivors comes from its mark over the
// whole GC heap; ours is the live GC objects the flushed counts add up to
// (exact to within 512 per thread). The collection here costs the stop, the
// queue merges and the stack scan, not a mark over the heap, so in a large
// heap it is cheaper than CPython's.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "strategies/object.h"
#include "strategies/stop_the_world.h"

namespace rcb {

// The kinds CPython allocates with Py_TPFLAGS_HAVE_GC, through gc_alloc:
// lists, tuples, dicts, functions, instances of classes, deques, heap
// types, list and tuple iterators (PyListIter_Type, list_iter's
// PyObject_GC_New) and, in the free-threaded build, code objects (made GC
// objects so that they can be deferred, gh-117376). Ints, floats, strs,
// ranges, range iterators and None are not GC objects (PyLong_Type,
// PyFloat_Type, PyUnicode_Type, PyRange_Type, PyRangeIter_Type have no
// Py_TPFLAGS_HAVE_GC).
[[nodiscard]] constexpr bool is_gc_kind(Kind k) {
  switch (k) {
    case Kind::list:
    case Kind::tuple:
    case Kind::dict:
    case Kind::function:
    case Kind::instance:
    case Kind::deque:
    case Kind::type:
    case Kind::seq_iter:
    case Kind::code:
      return true;
    default:
      return false;
  }
}

// The constants, each from gc_free_threading.c (3.14).
struct GcRules {
  static constexpr std::int64_t kLocalAllocCountThreshold = 512;  // LOCAL_ALLOC_COUNT_THRESHOLD
  static constexpr std::int64_t kYoungThreshold = 2000;           // young.threshold at start-up
  static constexpr std::int64_t kLongLivedDivisor = 4;            // count < long_lived_total / 4: wait
  static constexpr std::int64_t kDeferredThresholds = 40;         // deferred_count > threshold * 40: collect
  static constexpr std::int64_t kMemGrowthDivisor = 10;           // mem - last_mem > last_mem / 10
  static constexpr std::int64_t kMinMemGrowthKiB = 128;           // ... or > 128 KiB
};

// The process's memory in KiB as CPython's gate reads it on Linux
// (get_process_mem_usage: VmRSS + VmSwap from /proc/self/status), or -1
// unless both lines were found (the gate then lets the collection go ahead,
// as CPython's does).
[[nodiscard]] inline std::int64_t process_memory_kib() {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return -1;
  char line[256];
  long long rss = -1;
  long long swap = -1;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::strncmp(line, "VmRSS:", 6) == 0) rss = std::strtoll(line + 6, nullptr, 10);
    else if (std::strncmp(line, "VmSwap:", 7) == 0) swap = std::strtoll(line + 7, nullptr, 10);
  }
  std::fclose(f);
  return rss < 0 || swap < 0 ? -1 : rss + swap;
}

// Where the gate reads the process's memory from: the process itself
// (benchmarks), or a value a test sets.
struct ProcessMemory {
  [[nodiscard]] static std::int64_t kib() { return process_memory_kib(); }
};

// The interpreter's share of the rule (gcstate). Written at flushes (once
// per 512 allocations of a thread) and by collections. kMemoryGate: 3.14's
// gc_should_collect_mem_usage (gh-132917); 3.13's rule stops at the
// long_lived_total / 4 test.
template <class Memory = ProcessMemory, bool kMemoryGate = true>
class GcState {
 public:
  // A thread flushes its alloc_count. Returns whether it should schedule a
  // collection (only a flush of allocations can).
  [[nodiscard]] bool flush(std::int64_t count) {
    young_.fetch_add(count, std::memory_order_relaxed);
    live_.fetch_add(count, std::memory_order_relaxed);
    return count > 0 && should_collect() && !collecting_.load(std::memory_order_relaxed);
  }

  // gc_should_collect, with gc_should_collect_mem_usage.
  [[nodiscard]] bool should_collect() {
    const std::int64_t count = young_.load(std::memory_order_relaxed);
    if (count <= GcRules::kYoungThreshold) return false;
    if (count < long_lived_total_.load(std::memory_order_relaxed) / GcRules::kLongLivedDivisor) return false;
    if constexpr (!kMemoryGate) return true;
    return memory_grew();
  }

  // A collection begins, as gc_collect_main begins one: only one at a
  // time (a second one asked for meanwhile does nothing), and one the rule
  // scheduled only if the rule still holds. `scheduled`: false for a
  // collection a thread asked for (gc.collect(), shutdown).
  [[nodiscard]] bool begin(bool scheduled) {
    bool idle = false;
    if (!collecting_.compare_exchange_strong(idle, true, std::memory_order_acquire, std::memory_order_relaxed))
      return false;
    if (scheduled && !should_collect()) {
      collecting_.store(false, std::memory_order_release);
      return false;
    }
    return true;
  }

  // The collection ended, with the world stopped: the young generation is
  // empty, what lives is long-lived, and memory is measured afresh.
  void end() {
    {
      std::lock_guard lock(mu_);
      young_.store(0, std::memory_order_relaxed);
      deferred_count_ = 0;
      long_lived_total_.store(live_.load(std::memory_order_relaxed), std::memory_order_relaxed);
      last_mem_kib_ = Memory::kib();
    }
    collecting_.store(false, std::memory_order_release);
  }

  // A collection that began but could not stop the world (another pause
  // was in progress) ends without having run.
  void cancel() { collecting_.store(false, std::memory_order_release); }

  [[nodiscard]] std::int64_t young_count() const { return young_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::int64_t long_lived_total() const { return long_lived_total_.load(std::memory_order_relaxed); }

 private:
  bool memory_grew() {
    const std::int64_t mem = Memory::kib();
    if (mem < 0) return true;
    std::lock_guard lock(mu_);
    if (deferred_count_ > GcRules::kYoungThreshold * GcRules::kDeferredThresholds) return true;
    const std::int64_t threshold = std::max(last_mem_kib_ / GcRules::kMemGrowthDivisor, GcRules::kMinMemGrowthKiB);
    if (mem - last_mem_kib_ > threshold) return true;
    // Not enough growth: set the young count aside, so the next flush
    // does not read the memory again at once.
    deferred_count_ += young_.exchange(0, std::memory_order_relaxed);
    return false;
  }

  alignas(64) std::atomic<std::int64_t> young_{0};  // young.count
  std::atomic<std::int64_t> live_{0};                // net GC objects flushed so far
  std::atomic<std::int64_t> long_lived_total_{0};
  std::atomic<bool> collecting_{false};
  std::mutex mu_;
  std::int64_t deferred_count_ = 0;  // guarded by mu_
  std::int64_t last_mem_kib_ = 0;    // guarded by mu_
};

// A thread's share (its alloc_count, and the eval-breaker bit that says a
// collection is due). Only its thread touches it.
class GcThreadState {
 public:
  template <class State>
  void on_alloc(State& gc) {
    if (++alloc_count_ >= GcRules::kLocalAllocCountThreshold) flush(gc);
  }
  template <class State>
  void on_free(State& gc) {
    if (--alloc_count_ <= -GcRules::kLocalAllocCountThreshold) flush(gc);
  }
  // A thread leaving folds what it has not flushed into the total.
  template <class State>
  void flush_residue(State& gc) {
    if (alloc_count_ != 0) flush(gc);
  }

  [[nodiscard]] bool scheduled() const { return scheduled_; }
  void clear_scheduled() { scheduled_ = false; }

 private:
  template <class State>
  void flush(State& gc) {
    if (gc.flush(alloc_count_)) scheduled_ = true;
    alloc_count_ = 0;
  }
  std::int64_t alloc_count_ = 0;
  bool scheduled_ = false;
};

// One collection, begun as gc_collect_main begins one: not while another
// is in progress, and, when the rule scheduled it, only if the rule still
// holds. Runs work() with the world stopped. Returns whether it ran. A
// thread that finds another collection in progress returns at once, and
// parks first if that one already asked for the pause (it would otherwise
// wait for this thread's next safepoint).
template <class Memory, bool kMemoryGate, class Work>
bool run_collection(World& world, GcState<Memory, kMemoryGate>& gc, bool scheduled, bool attached, Work&& work) {
  if (!gc.begin(scheduled)) {
    if (attached && world.pause_requested()) world.park();
    return false;
  }
  const bool ran = world.stop(
      [&] {
        work();
        gc.end();
      },
      attached);
  if (!ran) gc.cancel();
  return ran;
}

}  // namespace rcb
