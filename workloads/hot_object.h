#pragma once
// hot_object: every thread takes and drops references to one shared object,
// as every thread did to None before CPython 3.12 made it immortal.
//
//   def work(n):
//       acc = 0
//       for i in range(n):
//           x = None
//           acc += i * i + i
//       return acc
//
// Declared: the object is immortal, as None is since 3.12 (PEP 683;
// _Py_NoneStruct is statically immortal), so strategies that know immortal
// objects skip its count as CPython 3.12+ does; the rest count it as 3.11
// and older did.
//
// Pattern: worst-case contention on one cache line. `x = None` increfs None
// and drops the None x held before, so every iteration of every thread
// writes None's count. The arithmetic between is a dependent chain the
// optimiser must keep (it feeds the checksum through an opaque register), so
// the loop is neither back-to-back count updates nor foldable into a closed
// form; it stands in for the bytecodes between two uses of None.
// Work per iteration per thread: n increfs and n decrefs of the one object
// (quick n = 500,000; full 5,000,000).
// Checksum per thread: sum(i * i + i for i in range(n)) = (n - 1) n (n + 1) / 3,
// mod 2^64.

#include <cstdint>

#include "strategies/cpython_facts.h"
#include "strategies/object.h"
#include "workloads/interp.h"
#include "workloads/workload.h"

namespace rcb {

// (n - 1) n (n + 1) / 3 mod 2^64, dividing first so nothing overflows early.
[[nodiscard]] constexpr std::uint64_t sum_of_i_squared_plus_i(std::uint64_t n) {
  if (n == 0) return 0;
  std::uint64_t f[3] = {n - 1, n, n + 1};
  for (auto& x : f)
    if (x % 3 == 0) {
      x /= 3;
      break;
    }
  return f[0] * f[1] * f[2];
}

template <class S>
class HotObject {
 public:
  static constexpr WorkloadInfo info{
      "hot_object", "every thread increfs/decrefs one shared object (None before 3.12)",
      "worst-case contention: one count written by every thread on every iteration"};

  using Ctx = typename S::Context;
  using Obj = Object<S>;

  static constexpr std::uint64_t iterations(Size size) {
    return size == Size::quick ? 500'000 : 5'000'000;
  }

  HotObject(Ctx& ctx, Size size, std::uint32_t threads)
      : n_(iterations(size)), threads_(threads) {
    // The object model has no NoneType; an empty tuple is likewise an
    // immutable singleton in CPython.
    none_ = new_object<S>(ctx, Kind::tuple, 0);
    declare(ctx, none_, CPythonFact::immortal);
    ctx.publish(none_);
  }

  std::uint64_t run(Ctx& ctx, ThreadIndex) {
    Interp<S> py(ctx);
    Obj* x = nullptr;
    std::uint64_t acc = 0;
    for (std::uint64_t i = 0; i < n_; ++i) {
      py.store(x, py.copy(none_));  // x = None
      acc += i * i + i;
      asm volatile("" : "+r"(acc));  // keeps the chain: no closed form, no vectors
      ctx.safepoint();
    }
    py.clear(x);
    return acc;
  }

  [[nodiscard]] std::uint64_t expected_checksum() const {
    return sum_of_i_squared_plus_i(n_) * threads_;
  }
  [[nodiscard]] std::uint64_t items_per_thread() const { return n_; }

  template <class Visit>
  void roots(Visit&& visit) const { visit(none_); }

  void teardown(Ctx& ctx) { ctx.decref(none_); }

 private:
  std::uint64_t n_;
  std::uint32_t threads_;
  Obj* none_ = nullptr;
};

}  // namespace rcb
