#pragma once
// The object model every strategy counts: a header whose refcount fields
// belong to the strategy, followed by what the object model owns (a kind tag,
// a size, a scalar payload, and for containers the child pointers inline).
//
// Layout of Object<S>:
//   S::Header rc     strategy-owned (a count, or owner+local+shared, or a slot index)
//   Kind kind        object-model-owned from here on
//   uint32 size      number of children for containers, 0 for scalars
//   Value value      int64 or double payload
//   Object* items[]  `size` child pointers, each an owned reference
//
// Every strategy allocates from the same allocator (mimalloc, as CPython's
// free-threaded build does), so strategies differ in refcounting alone. In
// sanitizer builds RCBENCH_SYSTEM_ALLOCATOR routes objects through malloc,
// because AddressSanitizer cannot see memory mimalloc hands out itself.
//
// Teardown never recurses on the C++ stack: reclaim() pushes dead objects on
// the freeing context's worklist and drains it in a loop (CPython's trashcan
// does the same job), so a 1,000,000-deep nested list frees in O(1) stack.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_set>

#include "strategies/strategy.h"

#if !defined(RCBENCH_SYSTEM_ALLOCATOR)
#include <mimalloc.h>
#endif

namespace rcb {

#if defined(RCBENCH_SYSTEM_ALLOCATOR)
inline constexpr bool kSystemAllocator = true;
#else
inline constexpr bool kSystemAllocator = false;
#endif

#if defined(RCBENCH_TRACK_OBJECTS)
inline constexpr bool kTrackObjects = true;
#else
inline constexpr bool kTrackObjects = false;
#endif

// The interpreter workloads (workloads/pyvm) add what a Python program needs
// around the numbers and sequences: functions, code, dicts, classes and
// their instances. Every kind that holds object pointers is a container:
// its children are owned references that reclaim() drops.
enum class Kind : std::uint8_t {
  int_,
  float_,
  list,      // pyvm lists: value.i is the length, size the capacity (unused slots null)
  tuple,
  function,  // children: its code object (pyvm), or none (a builtin; value.i says which)
  freed,
  code,      // pyvm: children are its constants; value.i indexes the program's bytecode
  dict,      // pyvm: children alternate key, value; value.i is the number of entries
  type,      // pyvm: a class; value.i is its instances' attribute count, its child its __init__
  instance,  // pyvm: children are its class, then its attribute values
  str,       // pyvm: an interned name; value.i indexes the program's name table
  none,      // pyvm: None
  range,     // pyvm: range and its iterator; value.i packs next (low half) and stop (high half)
  seq_iter,  // pyvm: a list or tuple iterator; its one child is the sequence, value.i the next index
  deque,     // pyvm: a queue (SimpleQueue) in a ring; value.i packs head (low half) and length (high half)
};

union Value {
  std::int64_t i;
  double f;
};

template <class S>
struct Object {
  typename S::Header rc;
  Kind kind;
  std::uint32_t size;
  Value value;

  [[nodiscard]] Object** items() { return reinterpret_cast<Object**>(this + 1); }
  [[nodiscard]] Object* item(std::uint32_t i) { return items()[i]; }
  [[nodiscard]] bool is_container() const {
    switch (kind) {
      case Kind::list:
      case Kind::tuple:
      case Kind::function:
      case Kind::code:
      case Kind::dict:
      case Kind::instance:
      case Kind::deque:
      case Kind::seq_iter:
      case Kind::type:  // pyvm: a class holds its __init__
        return true;
      default:
        return false;
    }
  }
};

// ---------------------------------------------------------------------------
// Object tracking for tests: every address allocated must be freed exactly
// once. Test builds define RCBENCH_TRACK_OBJECTS; benchmark builds pay nothing.

class ObjectTracker {
 public:
  static ObjectTracker& instance() {
    static ObjectTracker t;
    return t;
  }
  void on_alloc(const void* p) {
    std::lock_guard lock(mu_);
    if (!live_.insert(p).second) die("allocated an address that is still live", p);
  }
  void on_free(const void* p) {
    std::lock_guard lock(mu_);
    if (live_.erase(p) != 1) die("freed an object that is not live (double free?)", p);
  }
  [[nodiscard]] std::size_t live() {
    std::lock_guard lock(mu_);
    return live_.size();
  }

 private:
  [[noreturn]] static void die(const char* what, const void* p) {
    std::fprintf(stderr, "rcbench object tracker: %s: %p\n", what, p);
    std::abort();
  }
  std::mutex mu_;
  std::unordered_set<const void*> live_;
};

// ---------------------------------------------------------------------------
// Allocation.

namespace detail {
inline void* raw_alloc(std::size_t bytes) {
  void* p;
  if constexpr (kSystemAllocator) {
    p = std::malloc(bytes);
  } else {
#if !defined(RCBENCH_SYSTEM_ALLOCATOR)
    p = mi_malloc(bytes);
#endif
  }
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
inline void raw_free(void* p) {
  if constexpr (kSystemAllocator) {
    std::free(p);
  } else {
#if !defined(RCBENCH_SYSTEM_ALLOCATOR)
    mi_free(p);
#endif
  }
}
}  // namespace detail

template <class S>
[[nodiscard]] constexpr std::size_t object_bytes(std::uint32_t children) {
  return sizeof(Object<S>) + children * sizeof(Object<S>*);
}

// The sum of object_bytes over the objects a tally counts.
template <class S>
[[nodiscard]] constexpr std::uint64_t freed_bytes(FreeTally t) {
  return t.objects * sizeof(Object<S>) + t.item_slots * sizeof(Object<S>*);
}

// A new object with count 1, held by `ctx`'s thread. Containers start with
// null children; fill them with set_item().
template <class S, class Ctx>
[[nodiscard]] Object<S>* new_object(Ctx& ctx, Kind kind, std::uint32_t children = 0) {
  void* mem = detail::raw_alloc(object_bytes<S>(children));
  auto* o = new (mem) Object<S>{};
  o->kind = kind;
  o->size = children;
  for (std::uint32_t i = 0; i < children; ++i) o->items()[i] = nullptr;
  ctx.init_header(o);
  ++ctx.allocated;
  if constexpr (kTrackObjects) ObjectTracker::instance().on_alloc(o);
  return o;
}

template <class S, class Ctx>
[[nodiscard]] Object<S>* new_int(Ctx& ctx, std::int64_t v) {
  auto* o = new_object<S>(ctx, Kind::int_);
  o->value.i = v;
  return o;
}

template <class S, class Ctx>
[[nodiscard]] Object<S>* new_float(Ctx& ctx, double v) {
  auto* o = new_object<S>(ctx, Kind::float_);
  o->value.f = v;
  return o;
}

// Stores `child` in slot i, stealing the caller's reference (PyList_SET_ITEM).
template <class S>
void set_item(Object<S>* container, std::uint32_t i, Object<S>* child) {
  container->items()[i] = child;
}

// Called by a strategy when it has established that `o` is dead (its count
// reached zero and no other thread can still reach it). Children are
// released through the same context, iteratively.
template <class S, class Ctx>
void reclaim(Ctx& ctx, Object<S>* o) {
  ctx.reclaim_pending.push_back(o);
  if (ctx.reclaiming) return;  // an outer reclaim() on this thread drains it
  ctx.reclaiming = true;
  while (!ctx.reclaim_pending.empty()) {
    auto* dead = static_cast<Object<S>*>(ctx.reclaim_pending.back());
    ctx.reclaim_pending.pop_back();
    if (dead->is_container()) {
      ctx.freed_item_slots += dead->size;
      std::uint32_t first = 0;
      // An instance's class reference is _Py_DECREF_TYPE's, per-thread
      // where the strategy keeps such counts (cpython_facts.h).
      if constexpr (requires { ctx.decref_per_thread(dead); })
        if (dead->kind == Kind::instance && dead->size > 0) {
          if (auto* type = dead->items()[0]) ctx.decref_per_thread(type);
          first = 1;
        }
      for (std::uint32_t i = first; i < dead->size; ++i)
        if (auto* child = dead->items()[i]) ctx.decref(child);
    }
    if constexpr (requires { ctx.on_free(dead); }) ctx.on_free(dead);
    if constexpr (kTrackObjects) ObjectTracker::instance().on_free(dead);
    dead->kind = Kind::freed;
    dead->~Object<S>();
    detail::raw_free(dead);
    ++ctx.freed;
  }
  ctx.reclaiming = false;
}

// Walks everything reachable from `root` once (iteratively), calling
// visit(obj). Used by freeze passes and by tests; not on any timed path.
template <class S, class Visit>
void for_each_reachable(Object<S>* root, Visit&& visit) {
  std::unordered_set<Object<S>*> seen;
  std::vector<Object<S>*> stack{root};
  while (!stack.empty()) {
    auto* o = stack.back();
    stack.pop_back();
    if (o == nullptr || !seen.insert(o).second) continue;
    visit(o);
    if (o->is_container())
      for (std::uint32_t i = 0; i < o->size; ++i) stack.push_back(o->items()[i]);
  }
}

}  // namespace rcb

namespace rcb {

// Hides from the optimiser that two uses are the same object. Workloads pass
// a pointer through it between taking a reference and dropping it, as an
// interpreter's stack slot would: otherwise the compiler may fold a plain
// `++count ... --count` pair into nothing and flatter the non-atomic
// strategies. Costs no instruction.
template <class T>
[[nodiscard]] inline T* hide(T* p) {
  asm volatile("" : "+r"(p));
  return p;
}

}  // namespace rcb
