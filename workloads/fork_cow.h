#pragma once
// fork_cow: build a large graph, then fork workers that only read it, and
// measure how much memory each worker copies on write (the multiprocessing
// pattern: load once, fork a pool, read from every worker).
//
//   data = [(i, i + 0.25, 3 * i, 2 * i + 0.75) for i in range(n)]  # setup
//   def worker():                                 # in each forked child
//       total = 0
//       for t in data:
//           for x in t:
//               total += int(4 * x)
//       return total
//
// Pattern: copy-on-write damage from refcount writes. The child never
// writes the graph itself, but every `for` takes and drops a reference, and
// a count stored in the object dirties the object's page, so the child ends
// up with a private copy of the whole graph. Freezing (no count written) and
// remote headers (counts in their own pages) are the two cures; this
// workload measures them.
// Work per iteration per thread: fork one child that walks n tuples and
// their 4 items each, increfs and decrefs every one (quick: n = 100,000,
// ~16 MiB of graph; full: n = 600,000, ~96 MiB), then wait for it.
// Checksum per thread: the child's total, sum(28 * i + 4 for i in range(n)),
// which is exact in floating point (4 * x of a quarter is an integer).
// Declared: the ints below 257 are immortal (CPython's small-int cache,
// PEP 683); tuples, floats and larger ints are mortal.
// Figures (report()): KiB dirtied per child (mean over all children of the
// run) and per MiB of graph.

#include <cstdint>
#include <vector>

#include "strategies/cpython_facts.h"
#include "strategies/object.h"
#include "workloads/fork_child.h"
#include "workloads/workload.h"

namespace rcb {

template <class S>
class ForkCow {
 public:
  static constexpr WorkloadInfo info{
      "fork_cow", "forked workers read a large graph built before the fork (multiprocessing)",
      "copy-on-write damage from refcount writes: what freezing and remote headers fix"};
  // Tests read this: ThreadSanitizer does not support fork in a threaded
  // process, and its shadow writes would swamp the dirtied-page figure.
  static constexpr bool forks_processes = true;

  using Ctx = typename S::Context;
  using Obj = Object<S>;
  static constexpr std::uint32_t kTupleLen = 4;

  ForkCow(Ctx& ctx, Size size, std::uint32_t threads)
      : n_(size == Size::quick ? 100'000 : 600'000), threads_(threads), tallies_(threads) {
    data_ = new_object<S>(ctx, Kind::list, n_);
    graph_bytes_ = object_bytes<S>(n_);
    for (std::uint32_t i = 0; i < n_; ++i) {
      const auto v = static_cast<std::int64_t>(i);
      Obj* t = new_object<S>(ctx, Kind::tuple, kTupleLen);
      set_item(t, 0, new_setup_int<S>(ctx, v));
      set_item(t, 1, new_float<S>(ctx, static_cast<double>(v) + 0.25));
      set_item(t, 2, new_setup_int<S>(ctx, 3 * v));
      set_item(t, 3, new_float<S>(ctx, 2.0 * static_cast<double>(v) + 0.75));
      set_item(data_, i, t);
      graph_bytes_ += object_bytes<S>(kTupleLen) + 4 * object_bytes<S>(0);
    }
    ctx.publish(data_);
  }

  std::uint64_t run(Ctx& ctx, ThreadIndex t) {
    const ChildReport r = run_in_forked_child(ctx, [&] { return worker(ctx); }, fault_);
    Tally& tally = tallies_[t.value];
    ++tally.children;
    tally.kib_dirtied += r.kib_dirtied;
    return r.checksum;
  }

  [[nodiscard]] std::uint64_t expected_checksum() const {
    const std::uint64_t n = n_;
    return (14 * n * (n - 1) + 4 * n) * threads_;
  }
  // Objects the child increfs and decrefs: the tuples and their items.
  [[nodiscard]] std::uint64_t items_per_thread() const {
    return static_cast<std::uint64_t>(n_) * (1 + kTupleLen);
  }

  template <class Visit>
  void roots(Visit&& visit) const { visit(data_); }
  void teardown(Ctx& ctx) { ctx.decref(data_); }

  template <class Emit>
  void report(Emit&& emit) const {
    std::uint64_t children = 0, kib = 0;
    for (const Tally& t : tallies_) {
      children += t.children;
      kib += t.kib_dirtied;
    }
    const double graph_mib = static_cast<double>(graph_bytes_) / (1024.0 * 1024.0);
    const double per_child = children ? static_cast<double>(kib) / static_cast<double>(children) : 0;
    emit("children", static_cast<double>(children));
    emit("graph_mib", graph_mib);
    emit("kib_dirtied_per_child", per_child);
    emit("kib_dirtied_per_graph_mib", per_child / graph_mib);
  }

 protected:
  ChildFault fault_ = ChildFault::none;  // tests make children fail

 private:
  // Runs in the child: the Python worker above, with the references an
  // interpreter takes (iter(), next(), the loop variable's rebinding).
  std::uint64_t worker(Ctx& ctx) const {
    std::uint64_t total = 0;
    Obj* it = hide(data_);
    ctx.incref(it);  // iter(data)
    for (std::uint32_t i = 0; i < n_; ++i) {
      Obj* t = hide(it->item(i));
      ctx.incref(t);  // next() returns a new reference
      for (std::uint32_t j = 0; j < kTupleLen; ++j) {
        Obj* x = hide(t->item(j));
        ctx.incref(x);
        total += x->kind == Kind::int_ ? static_cast<std::uint64_t>(4 * x->value.i)
                                       : static_cast<std::uint64_t>(4.0 * x->value.f);
        ctx.decref(hide(x));
      }
      ctx.decref(hide(t));
      ctx.safepoint();  // the eval breaker, on the outer loop's backward jump
    }
    ctx.decref(it);
    return total;
  }

  struct alignas(64) Tally {  // one per thread: written only by it
    std::uint64_t children = 0;
    std::uint64_t kib_dirtied = 0;
  };

  std::uint32_t n_;
  std::uint32_t threads_;
  Obj* data_ = nullptr;
  std::uint64_t graph_bytes_ = 0;
  std::vector<Tally> tallies_;
};

}  // namespace rcb
