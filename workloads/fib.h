#pragma once
// fib: the Gilectomy's official benchmark (seed 001), recursive fib over
// boxed ints; every thread computes its own fib(n).
//
//   def fib(n):
//       if n < 2: return 1
//       return fib(n-1) + fib(n-2)
//
// Pattern: a hot shared object plus short-lived private objects. Per call,
// as CPython 3.6 (the Gilectomy's base) counts it, and as 3.14t does for a
// strategy that knows what the workload declares (cpython_facts.h):
//   - `LOAD_GLOBAL fib` pushes a stack reference to the one function object
//     that every thread calls; the call drops it when the callee returns.
//     3.6 counts it; 3.14t makes functions deferred
//     (_PyObject_SetDeferredRefcount in func_new), so the reference is an
//     uncounted stack slot under `deferred` and `cpython_ft`. The slot is a
//     C++ local, which a collection cannot see; that is safe because the
//     workload's own reference (fib's global) keeps the function alive
//     until teardown.
//   - small ints: CPython keeps -5..256 as one shared object each (built
//     here at setup), and the constants 1 and 2 are those same objects.
//     Declared immortal (PEP 683: the small-int cache is immortal since
//     3.12). Before 3.12 every use was counted, by every thread, and so it
//     is under every strategy without immortal objects: `n < 2`, `n-1` and
//     `n-2` incref their constant and drop it, `return 1` hands out a
//     reference to 1, and `n-1`, `n-2` and sums up to 256 return references
//     to cached ints.
//   - `fib(n-1) + fib(n-2)` boxes the sum (a cached small int up to 256, a
//     new private int above) and drops both operands.
//   - the callee's frame is a new private object holding the argument (a
//     PyFrameObject in 3.6; a one-slot container here) and is freed at
//     return, dropping the argument.
// Reading n is borrowed (workloads/interp.h's model), and the bool from
// `n < 2` is not counted: True and False are immortal since 3.12, and
// counting them would only add another hot object of the same kind.
// Objects allocated per call: its frame; plus an int for each `+` whose sum
// exceeds 256, which starts at fib(13) = 377 (143 such ints in fib(22)).
// Work per iteration per thread: one fib(n), quick n = 22 (57,313 calls),
// full n = 27 (635,621 calls); items are calls, 2 * fib(n) - 1.
// Checksum per thread: fib(n), with fib(0) = fib(1) = 1 as above.

#include <cstdint>

#include "strategies/cpython_facts.h"
#include "strategies/object.h"
#include "workloads/workload.h"

namespace rcb {

// fib(n) on machine integers, for the expected checksum.
[[nodiscard]] constexpr std::uint64_t fib_value(std::uint32_t n) {
  std::uint64_t a = 1, b = 1;  // fib(0), fib(1)
  for (std::uint32_t i = 1; i < n; ++i) {
    const std::uint64_t next = a + b;
    a = b;
    b = next;
  }
  return b;
}

template <class S>
class Fib {
 public:
  static constexpr WorkloadInfo info{
      "fib", "the Gilectomy's benchmark: recursive fib on boxed ints (seed 001)",
      "a hot shared object (fib, small ints) plus a private frame per call"};

  using Ctx = typename S::Context;
  using Obj = Object<S>;

  static constexpr std::uint32_t argument(Size size) { return size == Size::quick ? 22 : 27; }

  Fib(Ctx& ctx, Size size, std::uint32_t threads) : n_(argument(size)), threads_(threads) {
    function_ = new_object<S>(ctx, Kind::function);
    declare(ctx, function_, CPythonFact::deferred);
    // In CPython a C array; a list here only so it has one root to freeze.
    small_ints_ = new_object<S>(ctx, Kind::list, kSmallMax - kSmallMin + 1);
    for (std::int64_t v = kSmallMin; v <= kSmallMax; ++v) {
      Obj* small = new_int<S>(ctx, v);
      declare(ctx, small, CPythonFact::immortal);
      set_item(small_ints_, static_cast<std::uint32_t>(v - kSmallMin), small);
    }
    ctx.publish(function_);
    ctx.publish(small_ints_);
  }

  std::uint64_t run(Ctx& ctx, ThreadIndex) {
    Obj* result = call(ctx, box(ctx, n_));  // fib(n)
    const auto value = static_cast<std::uint64_t>(hide(result)->value.i);
    ctx.decref(hide(result));
    return value;
  }

  [[nodiscard]] std::uint64_t expected_checksum() const { return fib_value(n_) * threads_; }
  [[nodiscard]] std::uint64_t items_per_thread() const { return 2 * fib_value(n_) - 1; }

  template <class Visit>
  void roots(Visit&& visit) const {
    visit(function_);
    visit(small_ints_);
  }

  void teardown(Ctx& ctx) {
    ctx.decref(function_);
    ctx.decref(small_ints_);
  }

 private:
  static constexpr std::int64_t kSmallMin = -5;
  static constexpr std::int64_t kSmallMax = 256;
  static_assert(is_small_int(kSmallMin) && is_small_int(kSmallMax) && !is_small_int(kSmallMax + 1));

  // fib(argument): the callee's frame takes over `argument`; returns a new
  // reference.
  Obj* call(Ctx& ctx, Obj* argument) {
    const StackRef<S> callable = stack_new(ctx, hide(function_));  // LOAD_GLOBAL fib
    Obj* frame = new_object<S>(ctx, Kind::tuple, 1);
    set_item(frame, 0, argument);
    Obj* result = body(ctx, frame);
    ctx.decref(hide(frame));
    stack_close(ctx, hide(callable));
    return result;
  }

  Obj* body(Ctx& ctx, Obj* frame) {
    ctx.safepoint();  // RESUME checks the eval breaker on every call
    const std::int64_t n = hide(frame)->item(0)->value.i;
    if (n < constant(ctx, 2)) return box(ctx, 1);
    Obj* a = call(ctx, box(ctx, n - constant(ctx, 1)));
    Obj* b = call(ctx, box(ctx, n - constant(ctx, 2)));
    Obj* sum = box(ctx, hide(a)->value.i + hide(b)->value.i);
    ctx.decref(hide(a));
    ctx.decref(hide(b));
    return sum;
  }

  // PyLong_FromLong: a new reference to the cached small int, or a new int.
  Obj* box(Ctx& ctx, std::int64_t v) {
    if (v < kSmallMin || v > kSmallMax) return new_int<S>(ctx, v);
    Obj* cached = hide(small_ints_->item(static_cast<std::uint32_t>(v - kSmallMin)));
    ctx.incref(cached);
    return cached;
  }

  // A small-int constant as an operand: LOAD_CONST pushes a reference to
  // the cached object and the operation drops it.
  std::int64_t constant(Ctx& ctx, std::int64_t v) {
    Obj* k = box(ctx, v);
    const std::int64_t value = hide(k)->value.i;
    ctx.decref(hide(k));
    return value;
  }

  std::uint32_t n_;
  std::uint32_t threads_;
  Obj* function_ = nullptr;
  Obj* small_ints_ = nullptr;
};

}  // namespace rcb
