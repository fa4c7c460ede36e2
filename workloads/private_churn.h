#pragma once
// private_churn: each thread builds and discards its own binary trees
// (the binary-trees benchmark), never sharing an object.
//
//   def make(d): return (None, None) if d == 0 else (make(d-1), make(d-1))
//   def check(t):
//       l, r = t
//       return 1 if l is None else 1 + check(l) + check(r)
//   for _ in range(trees): total += check(make(depth))
//
// Pattern: thread-private allocation and short-lived objects, the case
// biased reference counting bets on (every op is by the owner).
// Declares nothing: None (immortal in CPython) is held as null, and every
// tuple is mortal.
// Work per iteration per thread: `trees` trees of 2^(depth+1)-1 nodes
// (quick: 4 trees of depth 12, 32,764 nodes; full: 8 of depth 16, 1,048,568).
// Checksum per thread: the number of nodes checked. None is immortal in
// CPython, so leaves hold null children and cost no refcount traffic.

#include <cstdint>

#include "strategies/object.h"
#include "workloads/workload.h"

namespace rcb {

template <class S>
class PrivateChurn {
 public:
  static constexpr WorkloadInfo info{
      "private_churn", "each thread builds and discards its own binary trees (binary-trees)",
      "thread-private allocation and short-lived objects: the case BRC bets on"};

  using Ctx = typename S::Context;
  using Obj = Object<S>;

  PrivateChurn(Ctx&, Size size, std::uint32_t threads)
      : depth_(size == Size::quick ? 12 : 16),
        trees_(size == Size::quick ? 4 : 8),
        threads_(threads) {}

  std::uint64_t run(Ctx& ctx, ThreadIndex) {
    std::uint64_t total = 0;
    for (std::uint32_t t = 0; t < trees_; ++t) {
      Obj* tree = make(ctx, depth_);
      total += check(ctx, tree);
      ctx.decref(hide(tree));  // del t: frees the whole tree
      ctx.safepoint();
    }
    return total;
  }

  [[nodiscard]] std::uint64_t items_per_thread() const {
    return static_cast<std::uint64_t>(trees_) * ((std::uint64_t{1} << (depth_ + 1)) - 1);
  }
  [[nodiscard]] std::uint64_t expected_checksum() const { return items_per_thread() * threads_; }

  template <class Visit>
  void roots(Visit&&) const {}  // nothing shared
  void teardown(Ctx&) {}

 private:
  static Obj* make(Ctx& ctx, std::uint32_t depth) {
    Obj* node = new_object<S>(ctx, Kind::tuple, 2);
    if (depth > 0) {
      set_item(node, 0, make(ctx, depth - 1));
      set_item(node, 1, make(ctx, depth - 1));
    }
    return node;
  }

  static std::uint64_t check(Ctx& ctx, Obj* tree) {
    Obj* l = hide(tree)->item(0);
    if (l == nullptr) return 1;
    Obj* r = tree->item(1);
    ctx.incref(l);  // l, r = t
    ctx.incref(r);
    const std::uint64_t n = 1 + check(ctx, hide(l)) + check(ctx, hide(r));
    ctx.decref(hide(l));  // locals die at return
    ctx.decref(hide(r));
    return n;
  }

  std::uint32_t depth_;
  std::uint32_t trees_;
  std::uint32_t threads_;
};

}  // namespace rcb
