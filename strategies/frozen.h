#pragma once
// frozen: refcount freezing. Everything reachable from the workload's roots
// after setup gets a magic count that incref/decref test for and leave alone;
// every other object is counted exactly as under `atomic`.
//
// Mechanism: Runtime::freeze(workload) walks the graph from roots() once
// (the team calls it after setup, before any other thread runs) and stores
// kFrozen, a count with bit 63 set, in each object. incref/decref load the
// count first; a set bit returns at once, so a frozen object's memory is never
// written again. Unfrozen objects: relaxed fetch_add, release fetch_sub,
// acquire before the free, as in strategies/atomic.h. A frozen object has no
// count any more, so it can never die by counting: the runtime remembers what
// it froze and thaws and frees all of it at shutdown (objects_freed()).
// Invariant: bit 63 is set once, before the object is shared, and cleared
// only at shutdown after every context detached, so a relaxed load sees a
// stable bit; no real count reaches 2^63.
// Source: seed 002 (refcount freezing for copy-on-write after fork; "a check
// for a thawed refcount would be similarly cheap"); the immortal-object idea
// of PEP 683 applied after setup instead of at creation.
// Loses: every op on an unfrozen object pays a load and a branch before its
// RMW, and the load takes the line shared before the RMW needs it exclusive
// (one more coherence step when contended). Frozen objects are never freed
// during the run: a workload that drops a frozen graph keeps its memory.
//
// No [[likely]]/[[unlikely]] on the frozen test: the frozen fraction is a
// property of the workload (none in private_churn, every shared item in
// shared_list and fork_cow), so a static hint would be wrong for half the
// matrix; the predictor learns each call site's direction (seed 002's point).

#include <atomic>
#include <cstdint>
#include <vector>

#include "strategies/atomic_count.h"
#include "strategies/object.h"
#include "strategies/pinned.h"
#include "strategies/strategy.h"

namespace rcb {

template <class P = Counted>
struct BasicFrozen {
  static constexpr StrategyInfo info{
      "frozen", "freeze pass marks the setup graph; frozen counts are skipped, others atomic",
      true};
  static constexpr std::array reported{Counter::atomic_rmw, Counter::skipped_ops,
                                       Counter::frozen_objects};

  static constexpr std::uint64_t kFrozen = std::uint64_t{1} << 63;

  struct Header {
    std::atomic<std::uint64_t> count;
  };

  [[nodiscard]] static bool is_frozen(const Object<BasicFrozen>* o) {
    return (o->rc.count.load(std::memory_order_relaxed) & kFrozen) != 0;
  }

  class Context;

  class Runtime {
   public:
    Runtime() = default;
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;

    // Called by the team on thread 0 after setup, while no other thread runs
    // refcount code: the command hand-off that starts the first iteration
    // (release/acquire) publishes the frozen counts, so plain stores suffice.
    template <class W>
      requires requires(const W& w) { w.roots([](Object<BasicFrozen>*) {}); }
    void freeze(const W& workload) {
      workload.roots([this](Object<BasicFrozen>* root) { freeze_graph(root); });
    }

    // Freezes everything reachable from `root`. The frozen bit doubles as
    // the visited mark, so roots that share subgraphs freeze each object once
    // and the walk needs no hash set over a 100 MB graph.
    void freeze_graph(Object<BasicFrozen>* root) {
      std::vector<Object<BasicFrozen>*> stack{root};
      while (!stack.empty()) {
        Object<BasicFrozen>* o = stack.back();
        stack.pop_back();
        if (o == nullptr || is_frozen(o)) continue;
        o->rc.count.store(kFrozen, std::memory_order_relaxed);
        frozen_.push_back(o);
        if (o->is_container())
          for (std::uint32_t i = 0; i < o->size; ++i) stack.push_back(o->item(i));
      }
    }

    [[nodiscard]] const std::vector<Object<BasicFrozen>*>& frozen() const { return frozen_; }

    [[nodiscard]] Counters counters() const {
      Counters c;
      c.raise_to(Counter::frozen_objects, frozen_.size());
      return c;
    }

    // After every context detached: thaws and frees what was frozen.
    void shutdown() { thaw_and_free(); }
    // Objects freed by shutdown(): the frozen ones and whatever only they held.
    [[nodiscard]] std::uint64_t objects_freed() const { return objects_freed_; }

   private:
    void thaw_and_free();
    std::vector<Object<BasicFrozen>*> frozen_;
    std::uint64_t objects_freed_ = 0;
  };

  class Context : public PassiveContext {
   public:
    Context(Runtime&, ThreadIndex idx) : PassiveContext(idx) {}

    // Not yet visible to any other thread, and never frozen at birth.
    void init_header(Object<BasicFrozen>* o) { o->rc.count.store(1, std::memory_order_relaxed); }
    void incref(Object<BasicFrozen>* o) {
      if (is_frozen(o)) {
        tally<P::kCounting>(counters, Counter::skipped_ops);
        return;
      }
      count_increment_relaxed(o->rc.count);
      tally<P::kCounting>(counters, Counter::atomic_rmw);
    }
    void decref(Object<BasicFrozen>* o) {
      if (is_frozen(o)) {
        tally<P::kCounting>(counters, Counter::skipped_ops);
        return;
      }
      tally<P::kCounting>(counters, Counter::atomic_rmw);
      if (count_decrement_release_is_last(o->rc.count)) reclaim<BasicFrozen>(*this, o);
    }
  };
};

template <class P>
void BasicFrozen<P>::Runtime::thaw_and_free() {
  objects_freed_ += free_pinned<BasicFrozen>(*this, frozen_, is_frozen, [](Object<BasicFrozen>* o) {
    o->rc.count.store(1, std::memory_order_relaxed);
  });
}

using Frozen = BasicFrozen<>;

static_assert(RefCountStrategy<Frozen>);
static_assert(RefCountStrategy<Uncounted<Frozen>>);

}  // namespace rcb
