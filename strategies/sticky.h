#pragma once
// sticky: plain counts while an object is thread-local; publish() marks
// everything reachable from an object shared, and shared objects count
// atomically for the rest of their life (the mark never comes off).
//
// Mechanism: one 64-bit word per object, bit 63 the shared mark, bits 0..62
// the count. A new object is local to the thread that made it. incref and
// decref read the word once (a relaxed atomic load: a plain mov on x86);
// mark clear, they store count +/- 1 with a plain store, no lock prefix;
// mark set, they do what Lean 4 does to a multi-threaded object: a relaxed
// fetch_add, and one acq_rel fetch_sub whose result names the last
// reference (the one that leaves kShared | 1). publish(o) walks the
// graph from o with a worklist (no recursion: structures can be 1,000,000
// deep), sets the mark on every local object it reaches, and does not enter
// an object that is already shared.
//
// Invariant: (1) only the owner can reach a local object, so only it reads
// or writes a local word; (2) the owner sets the mark before any other
// thread can reach the object, and the hand-off that lets them reach it (a
// release/acquire pair, a mutex, a thread start) orders the mark and every
// earlier plain write before their first access; after it every access to
// the word is atomic, and the mark is never cleared; (3) everything
// reachable from a shared object is shared, which is why the walk may stop
// at a shared object. (3) is the workloads' to keep, and nothing here checks
// it: a container filled before its publish() is covered by the walk, and
// a store into a container that is already shared must publish the stored
// object first (pyvm's deque_append publishes the item, then stores it into
// the shared deque under the deque's lock). A local object stored into a
// shared container without that would stay local, and a later walk would
// stop above it. Shared containers are written after publish; the walk
// never reads their slots, so those stores do not race with it.
// So the shared test is race-free on any thread that holds a reference.
//
// The local count is a plain std::uint64_t, reached through std::atomic_ref
// only where another thread may touch it (the test, the shared ops, the
// mark test in publish). A std::atomic word updated with relaxed loads and
// stores would compile to the same instructions, but then a forgotten
// publish() would be a silent lost update; with plain stores it is a data
// race that ThreadSanitizer reports (tests/test_sticky_unpublished.cpp).
//
// Lean 4 encodes the mark as the sign of m_rc (a multi-threaded object
// counts in negative numbers; lean_mark_mt negates it), and Koka's runtime
// likewise gives thread-shared objects negative counts. Here it is the sign
// bit over a positive count. The shared decrement is Lean's, as read in
// leanprover/lean4 src/runtime/object.cpp at 2e66341f (`lean_dec_ref_cold`:
// `atomic_fetch_add_explicit(rc, 1, memory_order_acq_rel) == -1`, one RMW,
// the acquire and the release in it) behind the test in `lean_dec_ref`
// (src/include/lean/lean.h at f5d64d95): not atomic_count.h's release RMW
// plus acquire re-read, which costs a second access to the line on every
// last drop. Lean's `lean_inc_ref_cold` is a relaxed fetch_sub, as here.
// Measured (AMD EPYC, 2 vCPUs, shared VM; `rcbench run --strategy
// sticky,atomic --workload hot_object,shared_list,handoff --threads 1,2`),
// sticky ns/item before -> after this change: see docs/measurement.md,
// "Fidelity changes".
// Source: Lean 4 `lean_inc_ref`/`lean_dec_ref`/`lean_mark_mt`
// (src/include/lean/lean.h, src/runtime/object.cpp); Koka's kklib
// (kklib/src/refcount.c) and Reinking, Xie, de Moura and Leijen, "Perceus"
// (PLDI 2021).
// Loses: publishing is a walk of everything newly reachable, paid by the
// thread that shares (handoff publishes every tuple it sends); a shared
// object never goes back to plain counts, so a structure shared once costs
// atomic ops for life even if one thread alone still uses it; and every op
// on a shared object is `atomic` plus a load and a branch. No likely/
// unlikely hint on the test: the shared fraction is the workload's
// (none in private_churn, every item in shared_list), see frozen.h.
//
// Counters (counted instantiation only): owner_ops and atomic_rmw split the
// ops by path; published_objects counts marks set; publish_ns sums the
// wall time of publish passes (steady_clock around each pass, the clock
// reads included; none of it exists in the timed instantiation).

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <vector>

#include "strategies/object.h"
#include "strategies/strategy.h"

namespace rcb {

// Containers entered by publish() (counted instantiation only).
template <bool kOn>
struct StickyWalkSteps {};
template <>
struct StickyWalkSteps<true> {
  std::uint64_t entered = 0;
};

template <class P = Counted>
struct BasicSticky {
  static constexpr StrategyInfo info{
      "sticky",
      "plain counts while thread-local; publish() marks the reachable graph shared, atomic from then on",
      true};
  static constexpr std::array reported{Counter::owner_ops, Counter::atomic_rmw,
                                       Counter::published_objects, Counter::publish_ns};

  using Obj = Object<BasicSticky>;

  // Bit 63: the shared mark. Bits 0..62: the count (no real count gets near).
  static constexpr std::uint64_t kShared = std::uint64_t{1} << 63;

  struct Header {
    alignas(std::atomic_ref<std::uint64_t>::required_alignment) std::uint64_t word;
  };

  // Any thread holding a reference may ask (invariant 2 above).
  [[nodiscard]] static bool is_shared(Obj* o) { return (load_relaxed(o) & kShared) != 0; }

  using Runtime = StatelessRuntime;

  class Context : public PassiveContext {
   public:
    Context(Runtime&, ThreadIndex idx) : PassiveContext(idx) { publishing_.reserve(64); }

    // Local to us: a plain store.
    void init_header(Obj* o) { o->rc.word = 1; }

    void incref(Obj* o) {
      const std::uint64_t w = load_relaxed(o);
      if ((w & kShared) == 0) {
        o->rc.word = w + 1;
        tally<P::kCounting>(counters, Counter::owner_ops);
      } else {
        // Relaxed: the caller already holds a reference.
        word(o).fetch_add(1, std::memory_order_relaxed);
        tally<P::kCounting>(counters, Counter::atomic_rmw);
      }
    }

    void decref(Obj* o) {
      const std::uint64_t w = load_relaxed(o);
      if ((w & kShared) == 0) {
        tally<P::kCounting>(counters, Counter::owner_ops);
        if (w == 1)
          reclaim<BasicSticky>(*this, o);
        else
          o->rc.word = w - 1;
      } else {
        tally<P::kCounting>(counters, Counter::atomic_rmw);
        if (decrement_acq_rel_is_last(o)) reclaim<BasicSticky>(*this, o);
      }
    }

    // Marks o and every local object reachable from it shared. Must run on
    // the owner before the hand-off (invariant 2).
    void publish(Obj* root) {
      if constexpr (P::kCounting) {
        const auto start = std::chrono::steady_clock::now();
        const std::uint64_t marked = mark_reachable(root);
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
            std::chrono::steady_clock::now() - start);
        tally<P::kCounting>(counters, Counter::published_objects, marked);
        tally<P::kCounting>(counters, Counter::publish_ns, static_cast<std::uint64_t>(ns.count()));
      } else {
        (void)mark_reachable(root);
      }
    }

    // Containers publish() has entered, summed over this context's passes
    // (counted instantiation only; the timed one keeps no such field). A
    // test checks with it that the walk stops at what is already shared:
    // re-entering shared containers would change no mark, only the cost.
    [[nodiscard]] std::uint64_t containers_entered() const
      requires P::kCounting
    {
      return walk_steps_.entered;
    }

   private:
    // The walk. A scalar is marked without touching the worklist; only
    // containers are pushed, already marked, so each object is visited once
    // even where the graph shares subgraphs. Returns how many it marked
    // (counted instantiation; 0 otherwise).
    std::uint64_t mark_reachable(Obj* root) {
      std::uint64_t marked = 0;
      auto mark = [&](Obj* o) {
        if (o == nullptr) return false;
        // Atomic: a shared object's word may be under another thread's
        // RMW right now. A local one is ours, so the mark is a plain store.
        const std::uint64_t w = load_relaxed(o);
        if ((w & kShared) != 0) return false;  // and, by invariant 3, all below it
        o->rc.word = w | kShared;
        if constexpr (P::kCounting) ++marked;
        return o->is_container();
      };
      if (mark(root)) publishing_.push_back(root);
      while (!publishing_.empty()) {
        Obj* o = publishing_.back();
        publishing_.pop_back();
        if constexpr (P::kCounting) ++walk_steps_.entered;
        for (std::uint32_t i = 0; i < o->size; ++i)
          if (Obj* child = o->item(i); mark(child)) publishing_.push_back(child);
      }
      return marked;
    }

    std::vector<Obj*> publishing_;  // publish()'s worklist, reused between passes
    [[no_unique_address]] StickyWalkSteps<P::kCounting> walk_steps_;
  };

 private:
  [[nodiscard]] static std::atomic_ref<std::uint64_t> word(Obj* o) {
    return std::atomic_ref<std::uint64_t>(o->rc.word);
  }
  [[nodiscard]] static std::uint64_t load_relaxed(Obj* o) {
    return word(o).load(std::memory_order_relaxed);
  }
  // Lean's one RMW, with the mark riding in bit 63. Acq_rel: the release
  // half orders our accesses to the object before whoever frees it; the
  // acquire half lets the thread that takes kShared | 1 -> kShared read
  // every earlier decrement's release (they are one release sequence)
  // before it frees. Exactly one RMW sees kShared | 1, so exactly one frees.
  [[nodiscard]] static bool decrement_acq_rel_is_last(Obj* o) {
    return word(o).fetch_sub(1, std::memory_order_acq_rel) == (kShared | 1);
  }
};

using Sticky = BasicSticky<>;

static_assert(RefCountStrategy<Sticky>);
static_assert(RefCountStrategy<Uncounted<Sticky>>);

}  // namespace rcb
