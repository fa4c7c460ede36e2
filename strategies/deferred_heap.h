#pragma once
// The objects a workload declared deferred (CPython 3.14's deferred
// reference counting), and the collection that frees them.
//
// A deferred object carries a bias in its count, so no decref takes it to
// zero: references from interpreter stacks are not counted, and a count of
// zero would not mean that nothing refers to it. It is garbage when its
// count minus the bias is zero (no heap reference) and no thread's stack
// slot points to it, which only a collection with the world stopped can
// establish: it scans every registered DataStack. CPython does the same in
// gc_free_threading.c (deferred objects are freed by the collector, which
// visits each thread's frames with gc_visit_thread_stacks).
//
// Used by `deferred` and `cpython_ft`; each supplies how to read an
// object's heap count.

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <new>
#include <unordered_set>
#include <vector>

#include "strategies/data_stack.h"

namespace rcb {

// A count no real workload reaches, so a biased count never falls to zero;
// CPython adds PY_SSIZE_T_MAX / 8 for the same reason.
inline constexpr std::int64_t kDeferredBias = std::int64_t{1} << 40;

template <class Obj>
class DeferredHeap {
 public:
  // A thread's stack joins (attach) or leaves (detach) the collector's scan.
  void add_stack(const DataStack* s) {
    std::lock_guard lock(mu_);
    stacks_.push_back(s);
  }
  void remove_stack(const DataStack* s) {
    std::lock_guard lock(mu_);
    std::erase(stacks_, s);
  }

  // In a forked child: a lock another thread held stays held.
  void after_fork_child() { new (&mu_) std::mutex; }

  void remember(Obj* o) {
    std::lock_guard lock(mu_);
    objects_.push_back(o);
    if (objects_.size() > peak_) peak_ = objects_.size();
  }

  // With the world stopped: removes and returns the deferred objects that
  // no heap reference and no stack slot holds. heap_refs(o) is o's count
  // without the bias.
  template <class HeapRefs>
  [[nodiscard]] std::vector<Obj*> take_garbage(HeapRefs&& heap_refs) {
    std::lock_guard lock(mu_);
    std::unordered_set<const Obj*> on_stacks;
    for (const DataStack* s : stacks_)
      s->for_each_slot([&](std::uintptr_t bits) {
        on_stacks.insert(reinterpret_cast<const Obj*>(bits & ~std::uintptr_t{1}));
      });
    std::vector<Obj*> garbage;
    std::erase_if(objects_, [&](Obj* o) {
      const bool dead = heap_refs(o) == 0 && !on_stacks.contains(o);
      if (dead) garbage.push_back(o);
      return dead;
    });
    return garbage;
  }

  [[nodiscard]] std::size_t size() const {
    std::lock_guard lock(mu_);
    return objects_.size();
  }
  [[nodiscard]] std::size_t peak() const {
    std::lock_guard lock(mu_);
    return peak_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<const DataStack*> stacks_;
  std::vector<Obj*> objects_;
  std::size_t peak_ = 0;
};

}  // namespace rcb
