#pragma once
// biased: biased reference counting (Choi, Shull and Torrellas, PACT 2018)
// as CPython 3.13t keeps it (Include/internal/pycore_object.h, Python/brc.c).
//
// Mechanism: every object is biased towards the thread that created it (its
// owner, `tid`). The owner counts in `local` with plain adds; every other
// thread counts in `shared` with atomic ops. The true count is
// local + shared_count, and shared_count alone may go negative (a reference
// the owner counted locally, dropped by another thread). A non-owner decref
// that would take an unflagged shared count below zero instead marks the
// object `queued` and pushes it on its owner's merge queue (the queue keeps
// the reference the decref would have dropped); the owner sees its
// eval-breaker flag at its next safepoint and merges: local folds into
// shared, the object is marked `merged` and becomes unowned (tid 0), and is
// freed if the sum is zero. An owner whose local count reaches zero merges
// the same way, or frees at once when the shared word is 0.
//
// Invariant: only one thread ever queues an object (the 0 -> queued CAS
// succeeds once), and only the owner merges an object whose owner is alive.
// The owner may merge a queued object before the queuer has read its owner
// id: once queued, another thread's shared incref can cover a reference
// that the owner then drops from `local`, so local reaches zero and the
// owner merges (merge_zero_local). A queuer that then reads tid 0 must not
// merge again (it would read `local` unordered with the owner's last write
// to it): it drops the queue's reference as an ordinary decref of the now
// merged count, as CPython's _Py_brc_queue_object does.
//
// Thread exit follows CPython, not a walk of owned objects: detach() merges
// its queue until it is empty and leaves the owner registry under the
// bucket lock in the same step; afterwards, whoever would queue one of its
// objects finds no owner and merges the object itself. That is safe because
// owner ids come from a per-runtime counter and are never reused, and the
// owner's last write to `local` happened before it left the registry, which
// the merger observes under the same mutex. A walk would need a list of
// every object each thread ever created (a write per allocation, and a
// list to unlink from on every free) to find the few still alive at exit.
//
// Source: seed 003; the PACT'18 paper; CPython's _Py_DecRefShared,
// _Py_MergeZeroLocalRefcount, _Py_ExplicitMergeRefcount, Python/brc.c.
// Loses: objects created on one thread and dropped on another (handoff):
// each such drop is a CAS, a lock, a queue push and a later merge by the
// owner, on top of the atomic ops every non-owner already pays; and a hot
// object owned by one thread is an atomic object for all the others.

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string_view>
#include <vector>

#include "strategies/chaos.h"
#include "strategies/cpython_facts.h"
#include "strategies/deferred_heap.h"
#include "strategies/gc_trigger.h"
#include "strategies/object.h"
#include "strategies/pinned.h"
#include "strategies/stop_the_world.h"
#include "strategies/strategy.h"

namespace rcb {

// What the tests vary; benchmarks use the defaults.
struct BiasedTuning : Counted {
  static constexpr std::string_view kName = "biased";
  static constexpr bool kChaos = false;  // random yields in slow paths and at safepoints
  // CPython 3.14t's additions (strategies/cpython_ft.h): immortal and
  // deferred objects, and collections, scheduled by CPython's allocation
  // rule, that stop the world and merge every queue.
  static constexpr bool kCPython = false;
  // Which CPython's rules (strategies/cpython_ft.h has both profiles).
  static constexpr CPythonRelease kRelease = CPythonRelease::v3_14;
  using GcMemory = ProcessMemory;  // what the collection rule's memory gate reads
};

template <class Tuning = BiasedTuning>
struct BasicBiased {
  static constexpr bool kCPython = Tuning::kCPython;
  // What 3.14t has and 3.13t had not: deferred counting with tagged stack
  // references (pycore_stackref.h), per-thread counts (uniqueid.c), and the
  // collector's memory gate (gh-132917). 3.13t made its deferred objects
  // immortal once a thread started (gh-117783) and counted every stack
  // reference (its frames hold PyObject *).
  static constexpr bool k313 = kCPython && Tuning::kRelease == CPythonRelease::v3_13;
  static constexpr bool kTaggedStack = kCPython && !k313;
  static constexpr bool kPerThread = kCPython && !k313;
  static constexpr StrategyInfo info{
      Tuning::kName,
      k313        ? "CPython 3.13t: biased counts, immortal objects (deferred ones immortalised once a thread "
                    "starts), every stack reference counted, stop-the-world merges of every queue"
      : kCPython ? "CPython 3.14t: biased counts, immortal and deferred objects, stop-the-world merges of every queue"
                 : "owner thread counts non-atomically, others atomically; cross-thread drops queued to the owner",
      true};
  static constexpr auto reported = [] {
    if constexpr (kCPython)
      return std::array{Counter::owner_ops, Counter::shared_ops, Counter::queued, Counter::merged,
                        Counter::skipped_ops, Counter::immortal_objects, Counter::deferred_objects,
                        Counter::collections, Counter::collected, Counter::per_thread_ops};
    else
      return std::array{Counter::owner_ops, Counter::shared_ops, Counter::queued, Counter::merged};
  }();

  using Obj = Object<BasicBiased>;

  // The shared word, CPython's layout:
  //   bits 63..2  shared count (signed; negative only once queued)
  //   bits  1..0  state: 00 unflagged, 10 queued, 11 merged
  //               (01 is CPython's maybe-weakref; we have no weakrefs)
  static constexpr int kShift = 2;
  static constexpr std::int64_t kOne = std::int64_t{1} << kShift;
  static constexpr std::int64_t kQueued = 2;
  static constexpr std::int64_t kMerged = 3;
  static constexpr std::uint64_t kUnowned = 0;

  // CPython 3.14t's immortal local count, and the gc bit that says a stack
  // reference needs no count (set for immortal and deferred objects alike,
  // which is the test PyStackRef_FromPyObjectNew makes).
  static constexpr std::uint32_t kImmortalLocal = 0xFFFF'FFFF;
  static constexpr std::uint8_t kStackUncounted = 1;

  struct Header {
    std::atomic<std::uint64_t> tid;  // owner id, kUnowned once merged
    // Written only by the owner while it lives, with relaxed stores as
    // CPython's _Py_atomic_store_uint32_relaxed, so that cpython_ft's
    // immortality test may read it from any thread (a plain mov on x86).
    std::atomic<std::uint32_t> local;
    std::uint8_t gc_bits;  // set before publication, then only read
    std::uint8_t spare;    // zeroed with gc_bits and unique_id: one 4-byte store
    // cpython_ft: 1 + the object's index in the per-thread count arrays
    // (PerThreadIds below); 0: none. In the header's padding.
    std::uint16_t unique_id;
    std::atomic<std::int64_t> shared;
  };

  // cpython_ft: CPython 3.14t's unique ids (Python/uniqueid.c). A class or
  // code object declared per_thread gets one; each thread then counts the
  // references _Py_INCREF_TYPE takes to it in its own array, at that index,
  // with plain adds (a thread's entry may go negative: another thread made
  // the instance). The arrays are merged into the shared count, with the
  // world stopped, at every collection (gc_collect_internal), and by each
  // thread as it exits (_PyObject_FinalizePerThreadRefcounts). The object is
  // deferred, so only a collection frees it, and a collection merges first.
  // Ids are reused after the object dies, as uniqueid.c's freelist does.
  class PerThreadIds {
   public:
    static constexpr std::size_t kMax = 0xFFFF;  // the header's 16 bits; past it, ordinary counts
    [[nodiscard]] std::uint16_t assign(Obj* o) {
      std::lock_guard lock(mu_);
      std::size_t index;
      if (!free_.empty()) {
        index = free_.back();
        free_.pop_back();
        objects_[index] = o;
      } else if (objects_.size() < kMax) {
        index = objects_.size();
        objects_.push_back(o);
      } else {
        return 0;
      }
      return static_cast<std::uint16_t>(index + 1);
    }
    void release(std::uint16_t id) {
      std::lock_guard lock(mu_);
      objects_[id - 1u] = nullptr;
      free_.push_back(id - 1u);
    }
    [[nodiscard]] std::size_t size() {
      std::lock_guard lock(mu_);
      return objects_.size();
    }
    // _PyObject_MergePerThreadRefcounts: each entry into its object's shared
    // count, atomically (other threads' shared ops may run at thread exit).
    void merge(std::vector<std::int64_t>& counts) {
      std::lock_guard lock(mu_);
      for (std::size_t i = 0; i < counts.size(); ++i) {
        if (counts[i] == 0) continue;
        if (Obj* o = objects_[i]) o->rc.shared.fetch_add(counts[i] << kShift, std::memory_order_relaxed);
        counts[i] = 0;
      }
    }

   private:
    std::mutex mu_;
    std::vector<Obj*> objects_;  // by index; null once freed
    std::vector<std::size_t> free_;
  };

  // One per thread. Queuers push under the owner's bucket lock and raise
  // `requested`, which the owner polls at every safepoint.
  struct alignas(64) MergeQueue {
    std::atomic<bool> requested{false};
    std::uint64_t owner = kUnowned;
    std::vector<Obj*> objects;  // guarded by the bucket mutex; each holds a reference
    // cpython_ft: the owner's per-thread counts, which a collection merges
    // with the owner stopped. Set once, at construction.
    std::vector<std::int64_t>* per_thread = nullptr;
  };

  class Context;

  class Runtime {
   public:
    Runtime() = default;
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;

    [[nodiscard]] Counters counters() const {
      Counters c;  // the rest is counted per thread
      if constexpr (kCPython) {
        c.raise_to(Counter::immortal_objects, immortal_.size());
        c.raise_to(Counter::deferred_objects, deferred_.peak());
      }
      return c;
    }
    // Every detach() already merged its queue. cpython_ft still holds its
    // deferred and immortal objects: see shutdown_cpython().
    void shutdown() {
      if constexpr (kCPython) shutdown_cpython();
    }
    [[nodiscard]] std::uint64_t objects_freed() const { return objects_freed_; }

   private:
    friend class Context;
    void shutdown_cpython();

    // cpython_ft only.
    World world_;
    GcState<typename Tuning::GcMemory, /*kMemoryGate=*/!k313> gc_;
    DeferredHeap<Obj> deferred_;
    PinnedList<Obj> immortal_;
    PerThreadIds ids_;
    std::uint64_t objects_freed_ = 0;

    // CPython hashes thread ids into 251 buckets; a power of two does here
    // because our ids are dense.
    static constexpr std::size_t kBuckets = 64;
    struct alignas(64) Bucket {
      std::mutex mu;
      std::vector<MergeQueue*> queues;
      [[nodiscard]] MergeQueue* find(std::uint64_t owner) const {
        for (MergeQueue* q : queues)
          if (q->owner == owner) return q;
        return nullptr;
      }
    };
    Bucket& bucket(std::uint64_t owner) { return buckets_[owner % kBuckets]; }

    // Relaxed: ids need only be unique, not ordered with anything.
    std::uint64_t new_owner_id() { return next_id_.fetch_add(1, std::memory_order_relaxed); }

    std::array<Bucket, kBuckets> buckets_;
    alignas(64) std::atomic<std::uint64_t> next_id_{1};  // never reused: exit handling relies on it
  };

  class Context : public PassiveContext {
   public:
    Context(Runtime& rt, ThreadIndex idx)
        : PassiveContext(idx), rt_(&rt), id_(rt.new_owner_id()), chaos_(idx.value + 1) {
      queue_.owner = id_;
      if constexpr (kCPython) queue_.per_thread = &per_thread_;
    }

    void attach() {
      if constexpr (kCPython) {
        per_thread_final_ = false;
        rt_->world_.attach();
        rt_->deferred_.add_stack(&data_stack);
      }
      auto& b = rt_->bucket(id_);
      std::lock_guard lock(b.mu);
      b.queues.push_back(&queue_);
    }

    // Merges what is queued for this thread until nothing is, then leaves
    // the registry in the same critical section: a queuer either finds us
    // (and we merge its object in the next turn) or finds us gone (and merges
    // it itself). No owner op follows, so our `local` writes are final.
    void detach() {
      auto& b = rt_->bucket(id_);
      for (;;) {
        {
          std::lock_guard lock(b.mu);
          if (queue_.objects.empty()) {
            std::erase(b.queues, &queue_);
            break;
          }
        }
        merge_queued();
      }
      // Only now may a pause go ahead without us: our merges above were
      // refcount work, and a pauser merges queues itself.
      if constexpr (kCPython) {
        // Still attached, so no collection can run between leaving the
        // registry above and this merge (one that did would see the class
        // without the references our instances hold).
        rt_->ids_.merge(per_thread_);
        per_thread_final_ = true;
        gc_thread_.flush_residue(rt_->gc_);
        rt_->deferred_.remove_stack(&data_stack);
        rt_->world_.detach();
      }
    }

    // The child of fork_cow runs alone: a pause must not wait for threads
    // that did not come along. (Plain biased needs nothing: its child never
    // waits for another thread.)
    void after_fork_child()
      requires kCPython
    {
      rt_->world_.after_fork_child();
      rt_->deferred_.after_fork_child();
    }

    // A blocked thread does no refcount work, so a pause need not wait for
    // it (CPython detaches the thread state around blocking calls).
    void enter_blocking() {
      if constexpr (kCPython) rt_->world_.detach();
    }
    void leave_blocking() {
      if constexpr (kCPython) rt_->world_.attach();
    }

    // Not yet visible to any other thread: relaxed stores suffice; the
    // hand-over that publishes the object orders them.
    void init_header(Obj* o) {
      o->rc.tid.store(id_, std::memory_order_relaxed);
      o->rc.local.store(1, std::memory_order_relaxed);
      o->rc.gc_bits = 0;
      if constexpr (kCPython) {
        o->rc.spare = 0;
        o->rc.unique_id = 0;
      }
      o->rc.shared.store(0, std::memory_order_relaxed);
      if constexpr (kCPython)
        if (is_gc_kind(o->kind)) gc_thread_.on_alloc(rt_->gc_);
    }

    // cpython_ft: a GC object's deallocation counts against the
    // allocations (record_deallocation).
    void on_free(const Obj* o)
      requires kCPython
    {
      if (is_gc_kind(o->kind)) gc_thread_.on_free(rt_->gc_);
    }

    // cpython_ft: CPython's rules, on the creating thread before
    // publication. Immortal: _Py_SetImmortal's unowned, saturated local
    // count. Deferred: _PyObject_SetDeferredRefcount's bias in the shared
    // count, so merges and shared decrefs never see zero.
    void declare(Obj* o, CPythonFact fact)
      requires kCPython
    {
      if ((o->rc.gc_bits & kStackUncounted) != 0) return;
      o->rc.gc_bits |= kStackUncounted;
      // 3.13t: what 3.14t defers (functions, code objects, heap types,
      // modules) it marks deferred and then makes immortal when the first
      // non-main thread starts (gh-117783, _PyGC_ImmortalizeDeferredObjects);
      // every thread that runs a cell here is one.
      if (k313 || fact == CPythonFact::immortal) {
        o->rc.tid.store(kUnowned, std::memory_order_relaxed);
        o->rc.local.store(kImmortalLocal, std::memory_order_relaxed);
        o->rc.shared.store(0, std::memory_order_relaxed);
        rt_->immortal_.remember(o);
      } else {
        o->rc.shared.fetch_add(kDeferredBias << kShift, std::memory_order_relaxed);
        rt_->deferred_.remember(o);
        if (fact == CPythonFact::per_thread) o->rc.unique_id = rt_->ids_.assign(o);
      }
    }

    // _Py_INCREF_TYPE (Include/internal/pycore_object.h, 3.14): a plain add
    // to this thread's entry when the array reaches the id; else grow it
    // (_PyObject_ThreadIncrefSlow), or count as usual when the object has no
    // id or this thread is exiting.
    void incref_per_thread(Obj* o)
      requires kPerThread
    {
      const std::size_t index = static_cast<std::size_t>(o->rc.unique_id) - 1;  // no id: wraps past any size
      if (index < per_thread_.size()) [[likely]] {
        ++per_thread_[index];
        tally<Tuning::kCounting>(counters, Counter::per_thread_ops);
        return;
      }
      incref_per_thread_slow(o, index);
    }
    // _Py_DECREF_TYPE: out of range, an ordinary decref (never a resize).
    void decref_per_thread(Obj* o)
      requires kPerThread
    {
      const std::size_t index = static_cast<std::size_t>(o->rc.unique_id) - 1;
      if (index < per_thread_.size()) [[likely]] {
        --per_thread_[index];
        tally<Tuning::kCounting>(counters, Counter::per_thread_ops);
        return;
      }
      decref(o);
    }
    [[nodiscard]] bool stack_skips_count(const Obj* o) const
      requires kTaggedStack
    {
      return (o->rc.gc_bits & kStackUncounted) != 0;
    }
    // 3.13t's frames and value stack hold PyObject * with a count each
    // (pycore_frame.h: `PyObject *localsplus[]`; LOAD_FAST is Py_INCREF),
    // so what 3.14 borrows is counted; an immortal object's count is then
    // Py_INCREF's immortality test and nothing more.
    static constexpr bool kEveryStackRefCounted = k313;

    // CPython 3.14t's Py_INCREF loads `local` once and uses that one value
    // for the immortality test and the owner's add (Py_DECREF likewise).
    // Here cpython_ft loads it twice on the owner path: is_immortal() reads
    // it, then the owner's add (or decref) reads it again after the owner
    // test. Both are relaxed loads of a line only the owner writes, so the
    // second hits L1; plain biased has only the second.
    void incref(Obj* o) {
      if constexpr (kCPython) {
        if (is_immortal(o)) {
          tally<Tuning::kCounting>(counters, Counter::skipped_ops);
          return;
        }
      }
      if (owns(o)) {
        o->rc.local.store(o->rc.local.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        tally<Tuning::kCounting>(counters, Counter::owner_ops);
      } else {
        // Relaxed: the caller already holds a reference, so nothing can be
        // freed under us and no data is published by taking one more.
        o->rc.shared.fetch_add(kOne, std::memory_order_relaxed);
        tally<Tuning::kCounting>(counters, Counter::shared_ops);
      }
    }

    void decref(Obj* o) {
      if constexpr (kCPython) {
        if (is_immortal(o)) {
          tally<Tuning::kCounting>(counters, Counter::skipped_ops);
          return;
        }
      }
      if (owns(o)) {
        tally<Tuning::kCounting>(counters, Counter::owner_ops);
        const std::uint32_t local = o->rc.local.load(std::memory_order_relaxed) - 1;
        o->rc.local.store(local, std::memory_order_relaxed);
        if (local == 0) release_local_zero(o);
      } else {
        decref_shared(o);
      }
    }

    // The eval breaker: one relaxed load of a flag only queuers write. A
    // stale false only delays the merge to the next safepoint; the mutex
    // taken in merge_queued() orders the queue's contents.
    void safepoint() {
      if constexpr (Tuning::kChaos) chaos_.maybe_yield(16);
      if (queue_.requested.load(std::memory_order_relaxed)) [[unlikely]]
        merge_queued();
      if constexpr (kCPython) {
        if (rt_->world_.pause_requested()) [[unlikely]]
          rt_->world_.park();
        else if (gc_thread_.scheduled()) [[unlikely]]
          collect_scheduled();
      }
    }

    // cpython_ft's collection (gc_free_threading.c, reduced to what counts
    // touch): stop the world; merge every thread's queue on its behalf
    // (merge_queued_objects), so a blocked or busy owner holds nothing
    // back; find the deferred objects no heap reference and no stack slot
    // holds; start the world and free what died. A collection a thread asks
    // for (gc.collect(); tests, shutdown). Returns how many objects it freed
    // directly (their children come on top); 0 when another collection was
    // in progress.
    std::size_t collect(bool attached = true)
      requires kCPython
    {
      return collect_now(false, attached);
    }

    // A collection the allocation rule scheduled (gc_trigger.h), run at the
    // scheduling thread's eval-breaker check as _Py_RunGC runs it.
    [[gnu::noinline, gnu::cold]] void collect_scheduled()
      requires kCPython
    {
      gc_thread_.clear_scheduled();
      (void)collect_now(true, true);
    }

    [[nodiscard]] static bool is_immortal(const Obj* o) {
      return o->rc.local.load(std::memory_order_relaxed) == kImmortalLocal;
    }

   private:
    std::size_t collect_now(bool scheduled, bool attached)
      requires kCPython
    {
      std::size_t deferred = 0;
      const bool ran = run_collection(
          rt_->world_, rt_->gc_, scheduled, attached, [&] {
            for (auto& b : rt_->buckets_) {
              std::lock_guard lock(b.mu);
              for (MergeQueue* q : b.queues) {
                rt_->ids_.merge(*q->per_thread);  // before any count is read

                for (Obj* o : q->objects)
                  if (merge(o, -1) == 0) dead_.push_back(o);
                q->objects.clear();
                q->requested.store(false, std::memory_order_relaxed);
              }
            }
            auto garbage = rt_->deferred_.take_garbage(heap_refs);
            // An object with an id is deferred, so it dies here and only
            // here; its id goes back to the pool (_PyObject_ReleaseUniqueId).
            for (Obj* o : garbage)
              if (o->rc.unique_id != 0) rt_->ids_.release(o->rc.unique_id);
            deferred = garbage.size();
            dead_.insert(dead_.end(), garbage.begin(), garbage.end());
          });
      if (!ran) return 0;
      tally<Tuning::kCounting>(counters, Counter::collections);
      tally<Tuning::kCounting>(counters, Counter::collected, deferred);
      const std::size_t freed = dead_.size();
      for (Obj* o : dead_) reclaim<BasicBiased>(*this, o);
      dead_.clear();
      return freed;
    }

    // Relaxed: the only value that matters, our own id, was written by us
    // (init_header) or before the object reached us; another thread can
    // only change tid to kUnowned, which is never our id.
    [[nodiscard]] bool owns(Obj* o) const {
      return o->rc.tid.load(std::memory_order_relaxed) == id_;
    }

    void release_local_zero(Obj* o) {
      // Acquire: pairs with the release of every non-owner decref, so their
      // accesses to the object happen before we free it. 0 means no shared
      // references and no flags: nobody else can reach the object.
      if (o->rc.shared.load(std::memory_order_acquire) == 0)
        reclaim<BasicBiased>(*this, o);
      else
        merge_zero_local(o);
    }

    [[gnu::noinline, gnu::cold]] void incref_per_thread_slow(Obj* o, std::size_t index)
      requires kCPython
    {
      if (o->rc.unique_id != 0 && !per_thread_final_) {
        per_thread_.resize(std::max(per_thread_.size(), rt_->ids_.size()), 0);
        if (index < per_thread_.size()) {
          ++per_thread_[index];
          tally<Tuning::kCounting>(counters, Counter::per_thread_ops);
          return;
        }
      }
      incref(o);
    }

    [[gnu::noinline, gnu::cold]] void merge_zero_local(Obj* o) {
      if (merge(o, 0) == 0) reclaim<BasicBiased>(*this, o);
    }

    // _Py_DecRefShared. Acq_rel on success: release so our accesses to the
    // object happen before whoever frees it; acquire in case that is us.
    void decref_shared(Obj* o) {
      tally<Tuning::kCounting>(counters, Counter::shared_ops);
      std::int64_t s = o->rc.shared.load(std::memory_order_relaxed);
      bool queue;
      std::int64_t next;
      do {
        // Unflagged and zero: the reference we drop was counted in the
        // owner's local count, so give it to the owner instead of going
        // negative. Queued objects may go negative; merged ones never do.
        queue = s == 0;
        next = queue ? kQueued : s - kOne;
      } while (!o->rc.shared.compare_exchange_weak(s, next, std::memory_order_acq_rel,
                                                   std::memory_order_relaxed));
      if (queue)
        queue_to_owner(o);
      else if (next == kMerged)
        reclaim<BasicBiased>(*this, o);
    }

    // _Py_brc_queue_object. Relaxed tid load: a stale owner id finds the
    // owner (which merges again, harmlessly) or its absence (and the
    // bucket mutex orders the merge below).
    [[gnu::noinline, gnu::cold]] void queue_to_owner(Obj* o) {
      if constexpr (Tuning::kChaos) chaos_.maybe_yield(2);
      const std::uint64_t owner = o->rc.tid.load(std::memory_order_relaxed);
      if (owner == kUnowned) {
        // The owner merged `o` since our CAS (see the invariant above):
        // the count is all in `shared` now, so drop the queue's reference
        // there. The CAS's acquire orders the owner's writes before a free.
        decref_shared(o);
        return;
      }
      auto& b = rt_->bucket(owner);
      std::unique_lock lock(b.mu);
      if (MergeQueue* q = b.find(owner)) {
        q->objects.push_back(o);
        // Relaxed: the owner reads the queue itself under the mutex.
        q->requested.store(true, std::memory_order_relaxed);
        tally<Tuning::kCounting>(counters, Counter::queued);
        return;
      }
      // The owner has exited, and its id will never come back: merge for
      // it. Its last write to `local` preceded its leaving the registry
      // under this mutex. Minus one: we are dropping the queue's reference.
      const std::int64_t total = merge(o, -1);
      lock.unlock();
      if (total == 0) reclaim<BasicBiased>(*this, o);
    }

    // _Py_brc_merge_refcounts: merges every queued object, dropping the
    // reference each queue entry held.
    [[gnu::noinline, gnu::cold]] void merge_queued() {
      {
        std::lock_guard lock(rt_->bucket(id_).mu);
        merging_.swap(queue_.objects);
        queue_.requested.store(false, std::memory_order_relaxed);
      }
      for (Obj* o : merging_)
        if (merge(o, -1) == 0) reclaim<BasicBiased>(*this, o);
      merging_.clear();
    }

    // _Py_ExplicitMergeRefcount: folds local into shared, marks the object
    // merged and unowned, and returns the merged count. Called by the owner,
    // or by anyone once the owner has exited. tid and local are written
    // before the CAS, whose release publishes them: once merged, another
    // thread may free the object, so nothing may touch it after the CAS.
    std::int64_t merge(Obj* o, std::int64_t extra) {
      if constexpr (Tuning::kChaos) chaos_.maybe_yield(4);
      const std::int64_t local = o->rc.local.load(std::memory_order_relaxed);
      o->rc.local.store(0, std::memory_order_relaxed);
      o->rc.tid.store(kUnowned, std::memory_order_relaxed);
      std::int64_t s = o->rc.shared.load(std::memory_order_relaxed);
      std::int64_t total;
      do {
        total = (s >> kShift) + local + extra;
      } while (!o->rc.shared.compare_exchange_weak(s, (total << kShift) | kMerged,
                                                   std::memory_order_acq_rel,
                                                   std::memory_order_relaxed));
      tally<Tuning::kCounting>(counters, Counter::merged);
      return total;
    }

    Runtime* rt_;
    std::uint64_t id_;
    [[no_unique_address]] Chaos<Tuning::kChaos> chaos_;
    // A deferred object's heap references: both counts, less the bias.
    // Read with the world stopped.
    static std::int64_t heap_refs(const Obj* o) {
      return static_cast<std::int64_t>(o->rc.local.load(std::memory_order_relaxed)) +
             (o->rc.shared.load(std::memory_order_relaxed) >> kShift) - kDeferredBias;
    }

    std::vector<Obj*> merging_;  // reused between merges: no allocation per merge
    std::vector<Obj*> dead_;     // cpython_ft: what a pause found dead
    GcThreadState gc_thread_;    // cpython_ft: its alloc_count and scheduled collection
    std::vector<std::int64_t> per_thread_;  // cpython_ft: tstate->refcounts.values, by unique id - 1
    bool per_thread_final_ = false;         // refcounts.is_finalized: exiting, count as usual
    MergeQueue queue_;           // last: its own cache line, written by queuers
  };
};

// After every context detached. Deferred objects go first, while the
// immortal ones they may point to still skip their counts; then the
// immortal ones (and whatever only they held); then deferred objects only
// an immortal container held.
template <class Tuning>
void BasicBiased<Tuning>::Runtime::shutdown_cpython() {
  Context ctx(*this, ThreadIndex{0});
  ctx.attach();
  while (ctx.collect() != 0) {
  }
  objects_freed_ += immortal_.template free_all<BasicBiased>(*this, Context::is_immortal, [](Obj* o) {
    o->rc.tid.store(kUnowned, std::memory_order_relaxed);
    o->rc.local.store(0, std::memory_order_relaxed);
    o->rc.shared.store(kOne | kMerged, std::memory_order_relaxed);
  });
  while (ctx.collect() != 0) {
  }
  ctx.detach();
  objects_freed_ += ctx.freed;
}

using Biased = BasicBiased<>;

static_assert(RefCountStrategy<Biased>);
static_assert(RefCountStrategy<Uncounted<Biased>>);

}  // namespace rcb
