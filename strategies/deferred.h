#pragma once
// deferred: CPython 3.14's deferred reference counting over atomic counts.
//
// Mechanism: an object the workload declares deferred (functions, code
// objects, modules, types: what 3.14 passes to _PyObject_SetDeferredRefcount)
// gets kDeferredBias added to its count. A reference to it on an
// interpreter stack is a tagged slot that takes no count at all
// (strategies/cpython_facts.h: stack_new, stack_close); a reference stored
// in the heap (a list, a global, an attribute) counts atomically as under
// `atomic`, and so does every reference to every other object. The bias
// keeps the count from reaching zero while uncounted stack references may
// exist, so a deferred object is freed only by a collection: the world
// stops, every thread's DataStack is scanned, and a deferred object whose
// count is exactly the bias and that no slot holds is freed. Collections
// happen when CPython's allocation rule schedules one (strategies/gc_trigger.h:
// net container allocations past 2000, a quarter of the survivors, memory
// growth), at the scheduling thread's next safepoint; when a thread asks
// (collect()); and at shutdown.
// Invariant: a deferred object's count never drops below the bias while
// it is alive, and a collection frees it only with every thread stopped at
// a safepoint, blocked or detached, so no uncounted reference can appear
// during the scan (a new stack reference needs a heap reference to load
// from, and the heap holds none).
// Source: CPython Include/internal/pycore_stackref.h (PyStackRef_FromPyObjectNew,
// Py_TAG_REFCNT), Objects/object.c (_PyObject_SetDeferredRefcount),
// Python/gc_free_threading.c (stack scanning); PEP 703 §"Deferred
// reference counting".
// Loses: nothing on the incref/decref path; the cost is the tag test when
// a reference moves onto a stack, and memory held until a collection.

#include <array>
#include <atomic>
#include <cstdint>
#include <vector>

#include "strategies/atomic_count.h"
#include "strategies/cpython_facts.h"
#include "strategies/deferred_heap.h"
#include "strategies/gc_trigger.h"
#include "strategies/object.h"
#include "strategies/stop_the_world.h"
#include "strategies/strategy.h"

namespace rcb {

// What the tests vary; benchmarks use the defaults.
struct DeferredTuning : Counted {
  using GcMemory = ProcessMemory;  // what the collection rule's memory gate reads
};

template <class P = DeferredTuning>
struct BasicDeferred {
  static constexpr StrategyInfo info{
      "deferred",
      "CPython 3.14 deferred counting: stack references to declared-deferred objects are uncounted, "
      "a stop-the-world collection frees them; others atomic",
      true};
  static constexpr std::array reported{Counter::atomic_rmw, Counter::deferred_objects,
                                       Counter::collections, Counter::collected};

  using Obj = Object<BasicDeferred>;
  static constexpr auto kBias = static_cast<std::uint64_t>(kDeferredBias);

  struct Header {
    std::atomic<std::uint64_t> count;
  };

  // No ordinary count reaches the bias, so the count alone says "deferred".
  [[nodiscard]] static bool is_deferred(const Obj* o) {
    return o->rc.count.load(std::memory_order_relaxed) >= kBias;
  }

  class Context;

  class Runtime {
   public:
    Runtime() = default;
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;

    [[nodiscard]] Counters counters() const {
      Counters c;
      c.raise_to(Counter::deferred_objects, heap_.peak());
      return c;
    }
    // After every context detached, no stack holds anything: collect until
    // nothing is left (freeing one deferred object may free the heap
    // reference that kept another).
    void shutdown();
    [[nodiscard]] std::uint64_t objects_freed() const { return objects_freed_; }

   private:
    friend class Context;
    World world_;
    GcState<typename P::GcMemory> gc_;
    DeferredHeap<Obj> heap_;
    std::uint64_t objects_freed_ = 0;
  };

  class Context : public PassiveContext {
   public:
    Context(Runtime& rt, ThreadIndex idx) : PassiveContext(idx), rt_(&rt) {}

    void attach() {
      rt_->world_.attach();
      rt_->heap_.add_stack(&data_stack);
    }
    void detach() {
      gc_thread_.flush_residue(rt_->gc_);
      rt_->heap_.remove_stack(&data_stack);
      rt_->world_.detach();
    }
    void enter_blocking() { rt_->world_.detach(); }
    void leave_blocking() { rt_->world_.attach(); }
    void safepoint() {
      if (rt_->world_.pause_requested()) [[unlikely]]
        rt_->world_.park();
      else if (gc_thread_.scheduled()) [[unlikely]]
        collect_scheduled();
    }

    // The child of fork_cow runs alone: a pause must not wait for threads
    // that did not come along.
    void after_fork_child() {
      rt_->world_.after_fork_child();
      rt_->heap_.after_fork_child();
    }

    void init_header(Obj* o) {
      o->rc.count.store(1, std::memory_order_relaxed);
      if (is_gc_kind(o->kind)) gc_thread_.on_alloc(rt_->gc_);
    }
    // record_deallocation (gc_trigger.h).
    void on_free(const Obj* o) {
      if (is_gc_kind(o->kind)) gc_thread_.on_free(rt_->gc_);
    }

    // Not yet published: a plain add of the bias suffices.
    void declare(Obj* o, CPythonFact fact) {
      if (fact == CPythonFact::immortal || is_deferred(o)) return;  // per_thread: deferred here
      o->rc.count.fetch_add(kBias, std::memory_order_relaxed);
      rt_->heap_.remember(o);
    }
    [[nodiscard]] bool stack_skips_count(const Obj* o) const { return is_deferred(o); }

    void incref(Obj* o) {
      count_increment_relaxed(o->rc.count);
      tally<P::kCounting>(counters, Counter::atomic_rmw);
    }
    void decref(Obj* o) {
      tally<P::kCounting>(counters, Counter::atomic_rmw);
      if (count_decrement_release_is_last(o->rc.count)) reclaim<BasicDeferred>(*this, o);
    }

    // A collection a thread asks for (gc.collect(); tests, shutdown):
    // stops the world, frees unreachable deferred objects. Returns how
    // many it freed (0 when another collection was in progress).
    std::size_t collect(bool attached = true) { return collect_now(false, attached); }

    // A collection the allocation rule scheduled, at this thread's
    // eval-breaker check.
    [[gnu::noinline, gnu::cold]] void collect_scheduled() {
      gc_thread_.clear_scheduled();
      (void)collect_now(true, true);
    }

   private:
    std::size_t collect_now(bool scheduled, bool attached) {
      std::vector<Obj*> garbage;
      if (!run_collection(rt_->world_, rt_->gc_, scheduled, attached,
                          [&] { garbage = rt_->heap_.take_garbage(heap_refs); }))
        return 0;
      tally<P::kCounting>(counters, Counter::collections);
      // Freed with the world running again, as CPython's collector frees
      // after _PyEval_StartTheWorld: nothing can reach these objects.
      for (Obj* o : garbage) {
        o->rc.count.store(1, std::memory_order_relaxed);
        decref(o);
      }
      tally<P::kCounting>(counters, Counter::collected, garbage.size());
      return garbage.size();
    }

    static std::uint64_t heap_refs(const Obj* o) {
      return o->rc.count.load(std::memory_order_relaxed) - kBias;
    }
    Runtime* rt_;
    GcThreadState gc_thread_;
  };
};

template <class P>
void BasicDeferred<P>::Runtime::shutdown() {
  Context ctx(*this, ThreadIndex{0});
  while (ctx.collect(false) != 0) {
  }
  objects_freed_ += ctx.freed;
}

using Deferred = BasicDeferred<>;

static_assert(RefCountStrategy<Deferred>);
static_assert(RefCountStrategy<Uncounted<Deferred>>);

}  // namespace rcb
