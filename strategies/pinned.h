#pragma once
// Objects whose count is pinned never die by counting: a frozen object
// (frozen.h) or an immortal one (immortal.h, cpython_ft.h). Their runtime
// remembers them and frees them itself once every context has detached,
// so a run still ends with nothing live.

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "strategies/object.h"
#include "strategies/strategy.h"

namespace rcb {

// Frees every pinned object and whatever only they held; returns how many
// objects that freed. Two passes, because a pinned object may hold unpinned
// ones (a child stored after pinning) that in turn hold pinned ones. First
// every pinned container drops its unpinned children and forgets its pinned
// ones, while all pinned objects are still alive and marked, so those
// cascades skip them. Then each pinned object, now childless, is unpinned to
// one reference (`unpin`) and released.
template <class S, class IsPinned, class Unpin>
[[nodiscard]] std::uint64_t free_pinned(typename S::Runtime& rt, std::vector<Object<S>*>& pinned,
                                        IsPinned is_pinned, Unpin unpin) {
  typename S::Context ctx(rt, ThreadIndex{0});
  for (Object<S>* o : pinned) {
    if (!o->is_container()) continue;
    for (std::uint32_t i = 0; i < o->size; ++i) {
      Object<S>* child = o->item(i);
      o->items()[i] = nullptr;
      if (child != nullptr && !is_pinned(child)) ctx.decref(child);
    }
  }
  for (Object<S>* o : pinned) {
    unpin(o);
    ctx.decref(o);
  }
  pinned.clear();
  return ctx.freed;
}

// The objects a workload declared immortal, remembered by the runtime
// (immortal, cpython_ft). Under a mutex: workloads declare at setup, but
// any thread may.
template <class Obj>
class PinnedList {
 public:
  void remember(Obj* o) {
    std::lock_guard lock(mu_);
    objects_.push_back(o);
  }
  [[nodiscard]] std::size_t size() const {
    std::lock_guard lock(mu_);
    return objects_.size();
  }
  // After every context detached: frees them all (free_pinned) and
  // returns how many objects that freed.
  template <class S, class IsPinned, class Unpin>
  [[nodiscard]] std::uint64_t free_all(typename S::Runtime& rt, IsPinned is_pinned, Unpin unpin) {
    return free_pinned<S>(rt, objects_, is_pinned, unpin);
  }

 private:
  mutable std::mutex mu_;
  std::vector<Obj*> objects_;
};

}  // namespace rcb
