#pragma once
// The contract every refcount backend satisfies.
//
// A strategy is a compile-time policy: a struct with a `Header` (the refcount
// fields it owns inside every object), a `Runtime` (state shared by one run:
// locks, queues, commit threads, count tables) and a `Context` (one per
// thread, passed explicitly to every refcount operation, as CPython passes
// `tstate`). Nothing on the incref/decref path is virtual, goes through a
// function pointer or looks up thread-local storage: the Gilectomy talk
// (seed 001) measured 370 million `pthread_getspecific` calls in one fib run.
//
// Adding a strategy: one header that ends in
// `static_assert(RefCountStrategy<MyStrategy>);`, plus one line in
// strategies/registry.h.
//
// Optional members, found with `if constexpr (requires ...)`:
//   rt.freeze(workload)     after setup on thread 0, before other threads run
//                           (frozen: walks workload.roots(visit)).
//   rt.objects_freed()      objects the runtime freed itself (a commit thread,
//                           a thaw at shutdown), counted into live-object totals.
//   rt.frees_so_far()       a FreeTally of what the runtime's own threads freed
//                           so far, safe and exact to read from any thread while
//                           they run (workloads/census.h). A runtime whose own
//                           threads free during a run needs it (buffered's
//                           commit thread); one that frees only in shutdown()
//                           does not.
//   ctx.on_free(obj)        reclaim() calls it just before obj's memory goes
//                           (remote: returns the count slot).
//   ctx.after_fork_child()  in a forked child, whose only thread is the one
//                           that forked: rebuild what lost threads left behind
//                           (a commit thread's queues, a GIL's waiters) so the
//                           child can run refcount code. Without it the child
//                           must not need any other thread.

#include <array>
#include <concepts>
#include <cstdint>
#include <string_view>
#include <vector>

#include "strategies/data_stack.h"

namespace rcb {

// ---------------------------------------------------------------------------
// Counters: what a strategy did, so a plot can explain a time.
// One enum for all strategies; each strategy lists the ones it reports. A
// counter is a plain increment on a line its thread owns (never shared), and
// it exists only in the counted instantiation (see Counted below).

enum class Counter : std::uint8_t {
  atomic_rmw,          // lock-prefixed read-modify-writes on a count
  owner_ops,           // biased: non-atomic ops by the owning thread
  shared_ops,          // biased: atomic ops on the shared count
  queued,              // biased: objects queued to their owner for a merge
  merged,              // biased: local and shared counts merged
  log_rotations,       // buffered: full or partial logs handed to the committer
  log_entries,         // buffered: log entries applied by the committer
  epochs,              // buffered: epochs the committer closed
  delayed_frees,       // objects whose free happened later than their last decref
  peak_pending_frees,  // buffered: most objects dead-but-not-yet-freed at once (exact)
  skipped_ops,         // frozen, immortal: incref/decref skipped on a pinned count
  frozen_objects,      // frozen: objects marked by the freeze pass
  slot_pages,          // remote: count pages in use (peak)
  gil_switches,        // gil: times the holder dropped the lock on request
  gil_waits,           // gil: times a thread had to wait for the lock
  cache_evictions,     // refcache: cached deltas applied early, their slot wanted by another object
  cache_flushes,       // refcache: cached deltas applied at epochs, blocking and detach
  reviews,             // refcache: objects queued for review (global count reached zero)
  review_requeues,     // refcache: objects found dirty at review, reviewed again
  published_objects,   // sticky: objects marked shared by publish()
  publish_ns,          // sticky: nanoseconds spent in publish() passes (sum)
  slot_ops,            // sharded: plain adds on the thread's own count slot
  kills,               // sharded: objects switched from per-thread slots to one atomic count
  grace_periods,       // sharded: grace periods started (one per batch of kills)
  sharded_objects,     // sharded: most objects holding per-thread slots at once
  slot_bytes,          // sharded: slot memory addressable at peak (slots x 8 B x threads)
  immortal_objects,    // immortal, cpython_ft: objects declared immortal (PEP 683)
  deferred_objects,    // deferred, cpython_ft: objects declared deferred (most at once)
  collections,         // deferred, cpython_ft: stop-the-world collections
  collected,           // deferred, cpython_ft: deferred objects freed by a collection
  per_thread_ops,      // cpython_ft: references to a class counted in a per-thread array (3.14t)
  kCount
};

enum class Aggregate : std::uint8_t { sum, max };

struct CounterInfo {
  std::string_view name;
  Aggregate aggregate;
  std::string_view meaning;
};

inline constexpr std::array<CounterInfo, static_cast<std::size_t>(Counter::kCount)>
    kCounterInfo{{
        {"atomic_rmw", Aggregate::sum, "lock-prefixed read-modify-writes on a count"},
        {"owner_ops", Aggregate::sum, "non-atomic refcount ops by the owning thread"},
        {"shared_ops", Aggregate::sum, "atomic ops on a shared count"},
        {"queued", Aggregate::sum, "objects queued to their owner for a merge"},
        {"merged", Aggregate::sum, "objects whose local and shared counts merged"},
        {"log_rotations", Aggregate::sum, "logs handed to the commit thread"},
        {"log_entries", Aggregate::sum, "log entries applied by the commit thread"},
        {"epochs", Aggregate::sum, "epochs closed by the commit thread"},
        {"delayed_frees", Aggregate::sum, "objects freed later than their last decref, children included"},
        {"peak_pending_frees", Aggregate::max,
         "most objects dead (no reference left, children of dead objects included) but not yet freed at once"},
        {"skipped_ops", Aggregate::sum, "refcount ops skipped on frozen or immortal objects"},
        {"frozen_objects", Aggregate::max, "objects marked by the freeze pass"},
        {"slot_pages", Aggregate::max, "pages of remote counts in use"},
        {"gil_switches", Aggregate::sum, "GIL drops on another thread's request"},
        {"gil_waits", Aggregate::sum, "GIL acquisitions that had to wait"},
        {"cache_evictions", Aggregate::sum, "cached count deltas applied early to free their slot for another object"},
        {"cache_flushes", Aggregate::sum, "cached count deltas applied at epoch boundaries, blocking and detach"},
        {"reviews", Aggregate::sum, "objects queued for review when their global count reached zero"},
        {"review_requeues", Aggregate::sum, "objects found dirty (used while under review) and reviewed again"},
        {"published_objects", Aggregate::sum, "objects marked shared by publish()"},
        {"publish_ns", Aggregate::sum,
         "nanoseconds spent in publish() passes, clock reads included (counted pass only)"},
        {"slot_ops", Aggregate::sum, "refcount ops that were a plain add on the thread's own slot"},
        {"kills", Aggregate::sum, "objects switched from per-thread slots to one atomic count"},
        {"grace_periods", Aggregate::sum, "grace periods started before summing killed objects' slots"},
        {"sharded_objects", Aggregate::max, "most objects holding per-thread count slots at once"},
        {"slot_bytes", Aggregate::max,
         "per-thread slot memory addressable at peak: 8 bytes per slot index per thread"},
        {"immortal_objects", Aggregate::max, "objects the workload declared immortal (PEP 683)"},
        {"deferred_objects", Aggregate::max, "most objects declared deferred at once (CPython 3.14 deferred counting)"},
        {"collections", Aggregate::sum,
         "stop-the-world collections, scheduled by CPython's allocation rule or asked for; biased queues merged where there are any"},
        {"collected", Aggregate::sum, "deferred objects freed by a collection that scanned every thread's stack"},
        {"per_thread_ops", Aggregate::sum,
         "increfs and decrefs of a class (an instance's type reference) in the thread's own array, no atomic (CPython 3.14t's per-thread refcounts)"},
    }};

[[nodiscard]] constexpr const CounterInfo& info(Counter c) {
  return kCounterInfo[static_cast<std::size_t>(c)];
}

class Counters {
 public:
  void add(Counter c, std::uint64_t n = 1) { v_[index(c)] += n; }
  void raise_to(Counter c, std::uint64_t x) {
    auto& slot = v_[index(c)];
    if (x > slot) slot = x;
  }
  [[nodiscard]] std::uint64_t operator[](Counter c) const { return v_[index(c)]; }

  // Folds another thread's (or the runtime's) counters into this one.
  void merge(const Counters& other) {
    for (std::size_t i = 0; i < v_.size(); ++i) {
      if (kCounterInfo[i].aggregate == Aggregate::sum)
        v_[i] += other.v_[i];
      else if (other.v_[i] > v_[i])
        v_[i] = other.v_[i];
    }
  }
  // What happened after `before` was taken: sums subtract, peaks stay.
  [[nodiscard]] Counters since(const Counters& before) const {
    Counters d = *this;
    for (std::size_t i = 0; i < v_.size(); ++i)
      if (kCounterInfo[i].aggregate == Aggregate::sum) d.v_[i] -= before.v_[i];
    return d;
  }
  void reset() { v_.fill(0); }

 private:
  static constexpr std::size_t index(Counter c) { return static_cast<std::size_t>(c); }
  std::array<std::uint64_t, static_cast<std::size_t>(Counter::kCount)> v_{};
};

// Counting is a compile-time policy. A strategy whose incref/decref path
// counts anything takes a policy parameter `P` (its tuning) and counts with
// tally<P::kCounting>(...), which compiles to nothing when counting is off.
// Timed repetitions run Uncounted<S>; the counters come from a separate,
// untimed pass of S itself (harness/engine/measure.h). So no number the
// suite times carries an `add` that is only there to explain it.
struct Counted {
  static constexpr bool kCounting = true;
};
template <class P>
struct NoCounting : P {
  static constexpr bool kCounting = false;
};

template <bool kOn>
inline void tally(Counters& c, Counter which, std::uint64_t n = 1) {
  if constexpr (kOn) c.add(which, n);
}
template <bool kOn>
inline void tally_peak(Counters& c, Counter which, std::uint64_t x) {
  if constexpr (kOn) c.raise_to(which, x);
}

namespace detail {
// A strategy with no policy parameter counts nothing on its hot path
// (plain; gil counts only on its cold lock hand-over path).
template <class S>
struct UncountedOf {
  using type = S;
};
template <template <class> class T, class P>
struct UncountedOf<T<P>> {
  using type = T<NoCounting<P>>;
};
}  // namespace detail

// The instantiation of S that timed repetitions run.
template <class S>
using Uncounted = typename detail::UncountedOf<S>::type;

// ---------------------------------------------------------------------------
// Thread identity, passed explicitly (never looked up).

struct ThreadIndex {
  std::uint32_t value;
  friend bool operator==(ThreadIndex, ThreadIndex) = default;
};

// Objects freed, and the child slots those objects held: together, the
// bytes they took (freed_bytes() in object.h), without a per-free size add.
struct FreeTally {
  std::uint64_t objects = 0;
  std::uint64_t item_slots = 0;
};

// What every per-thread context carries besides the strategy's own state:
// its counters, its allocation tally (live = allocated - freed, summed over
// all contexts, so no shared counter is touched per allocation) and the
// teardown worklist that keeps freeing a deep structure off the C++ stack.
class ContextBase {
 public:
  explicit ContextBase(ThreadIndex idx) : index_(idx) { reclaim_pending.reserve(64); }
  ContextBase(const ContextBase&) = delete;
  ContextBase& operator=(const ContextBase&) = delete;

  [[nodiscard]] ThreadIndex index() const { return index_; }
  [[nodiscard]] FreeTally frees() const { return {freed, freed_item_slots}; }

  Counters counters;
  std::uint64_t allocated = 0;
  std::uint64_t freed = 0;
  // Child slots of the containers this thread freed: one add per container
  // free (scalars add nothing), so a census can tell bytes from objects.
  std::uint64_t freed_item_slots = 0;

  // Frames of an interpreter running on this thread (workloads/pyvm); a
  // collection that must see stack references scans it.
  DataStack data_stack;

  // Used only by reclaim() in object.h (CPython's trashcan, as a worklist).
  std::vector<void*> reclaim_pending;
  bool reclaiming = false;

 private:
  ThreadIndex index_;
};

// A runtime with no shared state of its own (plain, atomic): nothing to
// count and nothing to stop.
struct StatelessRuntime {
  [[nodiscard]] Counters counters() const { return {}; }
  void shutdown() {}
};

// A context whose strategy needs nothing when a thread starts or ends,
// reaches a safepoint, blocks, or shares an object. A strategy that does
// need one of these hooks defines it in its own context, hiding this one.
class PassiveContext : public ContextBase {
 public:
  using ContextBase::ContextBase;
  void attach() {}
  void detach() {}
  void safepoint() {}
  template <class O>
  void publish(O*) {}
  void enter_blocking() {}
  void leave_blocking() {}
};

// ---------------------------------------------------------------------------
// Static facts a strategy states about itself.

struct StrategyInfo {
  std::string_view name;
  std::string_view description;  // one line, shown by `rcbench list`
  bool multi_threaded;            // false: only ever run at one thread
};

template <class S>
struct Object;  // the object model, strategies/object.h

// The interface, checked at the bottom of every strategy header.
template <class S>
concept RefCountStrategy =
    requires {
      typename S::Header;
      typename S::Runtime;
      typename S::Context;
      { S::info } -> std::convertible_to<StrategyInfo>;
      { S::reported } ;  // the Counters this strategy reports
    } &&
    std::derived_from<typename S::Context, ContextBase> &&
    std::constructible_from<typename S::Context, typename S::Runtime&, ThreadIndex> &&
    requires(typename S::Runtime& rt, typename S::Context& ctx, Object<S>* o) {
      ctx.attach();                // the thread starts running code
      ctx.detach();                // it ends: nothing it owns may leak
      ctx.init_header(o);          // a new object, count 1, held by ctx
      ctx.incref(o);
      ctx.decref(o);
      ctx.safepoint();             // eval-breaker point: GIL drop, queue drain
      ctx.publish(o);              // o becomes reachable by other threads
      ctx.enter_blocking();        // about to block (Py_BEGIN_ALLOW_THREADS)
      ctx.leave_blocking();        // back from blocking
      { rt.counters() } -> std::convertible_to<Counters>;  // the runtime's own (commit thread)
      rt.shutdown();               // after every context detached: drain, join
    };

}  // namespace rcb
