#pragma once
// shared_list: every thread runs `for x in L: total += x` over one shared
// list of boxed ints (seed 001's example of why atomic counts hurt: "every
// thread touches every object's count").
//
// Declared: items 0..256 are immortal, because list(range(n)) holds
// CPython's cached small ints there (immortal since 3.12, PEP 683); every
// other item is an ordinary mortal int, so this stays the workload of
// mutable-count shared objects it was (the list itself is mortal too).
//
// Pattern: read-mostly shared objects. Each item is incref'd by the list
// iterator's next() and decref'd when the loop variable is rebound, by all
// threads at once, so under `atomic` every item's count line bounces.
// Work per iteration per thread: n items (quick 100,000; full 1,000,000).
// Checksum per thread: sum(range(n)).

#include <cstdint>

#include "strategies/cpython_facts.h"
#include "strategies/object.h"
#include "workloads/workload.h"

namespace rcb {

template <class S>
class SharedList {
 public:
  static constexpr WorkloadInfo info{
      "shared_list", "`for x in L` by every thread over one shared list of boxed ints (seed 001)",
      "read-mostly shared objects: all threads incref/decref the same items"};

  using Ctx = typename S::Context;

  SharedList(Ctx& ctx, Size size, std::uint32_t threads)
      : n_(size == Size::quick ? 100'000 : 1'000'000), threads_(threads) {
    // L = list(range(n))
    list_ = new_object<S>(ctx, Kind::list, n_);
    for (std::uint32_t i = 0; i < n_; ++i) set_item(list_, i, new_setup_int<S>(ctx, i));
    ctx.publish(list_);
  }

  std::uint64_t run(Ctx& ctx, ThreadIndex) {
    std::uint64_t total = 0;
    auto* it = hide(list_);
    ctx.incref(it);  // it = iter(L)
    for (std::uint32_t i = 0; i < n_; ++i) {
      auto* x = hide(it->item(i));
      ctx.incref(x);  // next(it) returns a new reference
      total += static_cast<std::uint64_t>(hide(x)->value.i);
      ctx.decref(hide(x));  // x is rebound on the next turn
      ctx.safepoint();      // the eval breaker, checked on the backward jump
    }
    ctx.decref(it);
    return total;
  }

  [[nodiscard]] std::uint64_t expected_checksum() const {
    return static_cast<std::uint64_t>(n_) * (n_ - 1) / 2 * threads_;
  }
  [[nodiscard]] std::uint64_t items_per_thread() const { return n_; }

  template <class Visit>
  void roots(Visit&& visit) const { visit(list_); }

  void teardown(Ctx& ctx) { ctx.decref(list_); }

 private:
  std::uint32_t n_;
  std::uint32_t threads_;
  Object<S>* list_ = nullptr;
};

}  // namespace rcb
