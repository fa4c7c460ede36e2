#pragma once
// The evaluation model: how workloads turn the Python they quote into
// refcount operations. One model for all of them, so every workload counts
// what CPython's eval loop would, and none counts more or less by accident.
//
//   reading a local      borrowed, no count traffic (CPython 3.14's
//                        LOAD_FAST_BORROW; 3.13 and older incref'd here)
//   container[i]         a new reference to the item (BINARY_SUBSCR)
//   a <op> b, f(x)       a new boxed result; an operand that was a temporary
//                        is dropped by the operation that consumes it
//   local = value        the local takes the reference and drops the one it
//                        held (STORE_FAST); the frame's end drops them all
//   constants            immortal (3.12+), no traffic; a local bound to the
//                        constant 0 or 0.0 holds null
//
// Left out on purpose: loop counters and range() ints stay unboxed (fib is
// the workload about boxed ints), and calling math.sqrt and friends touches
// no function object (fib and hot_object measure a hot shared object; here it
// would only blur the temporaries these helpers exist for).
//
// Every pointer passes through hide() between taking a reference and
// dropping it, so the optimiser cannot cancel a plain ++/-- pair.

#include <cstdint>
#include <functional>
#include <span>

#include "strategies/object.h"

namespace rcb {

template <class S>
class Interp {
 public:
  using Obj = Object<S>;
  using Ctx = typename S::Context;

  // A new reference on the value stack, owned by whatever consumes it.
  struct Owned {
    Obj* obj;
  };

  explicit Interp(Ctx& ctx) : ctx_(ctx) {}

  // container[i]
  [[nodiscard]] Owned subscript(Obj* container, std::uint32_t i) {
    Obj* item = hide(container)->item(i);
    ctx_.incref(item);
    return {item};
  }
  // temporary[i], as in a[i][k]: the row is dropped once the item is held.
  [[nodiscard]] Owned subscript(Owned container, std::uint32_t i) {
    Owned item = subscript(container.obj, i);
    drop(container);
    return item;
  }

  // other = local: the store needs a reference of its own.
  [[nodiscard]] Owned copy(Obj* local) {
    if (local != nullptr) ctx_.incref(hide(local));
    return {local};
  }

  [[nodiscard]] static constexpr Owned zero() { return {nullptr}; }

  // local = value
  void store(Obj*& local, Owned value) {
    Obj* old = local;
    local = value.obj;
    if (old != nullptr) ctx_.decref(hide(old));
  }
  void clear(Obj*& local) { store(local, zero()); }

  // Float arithmetic. Operands: a local (Obj*, borrowed), a temporary
  // (Owned, consumed) or a constant (double, immortal).
  template <class A, class B>
  [[nodiscard]] Owned add(A a, B b) { return binary(a, b, std::plus<>{}); }
  template <class A, class B>
  [[nodiscard]] Owned sub(A a, B b) { return binary(a, b, std::minus<>{}); }
  template <class A, class B>
  [[nodiscard]] Owned mul(A a, B b) { return binary(a, b, std::multiplies<>{}); }

  // f(x) for a math function of one float.
  template <class F>
  [[nodiscard]] Owned call(F f, Owned x) {
    Obj* r = new_float<S>(ctx_, f(value(x)));
    drop(x);
    return {r};
  }

  [[nodiscard]] static double value(const Obj* o) { return o != nullptr ? o->value.f : 0.0; }
  [[nodiscard]] static double value(Owned o) { return value(o.obj); }
  [[nodiscard]] static double value(double constant) { return constant; }

 private:
  template <class A, class B, class Op>
  Owned binary(A a, B b, Op op) {
    Obj* r = new_float<S>(ctx_, op(value(a), value(b)));
    drop(a);
    drop(b);
    return {r};
  }

  void drop(Owned v) {
    if (v.obj != nullptr) ctx_.decref(hide(v.obj));
  }
  void drop(Obj*) {}    // a borrowed local
  void drop(double) {}  // a constant

  Ctx& ctx_;
};

// list(values): a new list of new boxed floats, built at setup.
template <class S, class Ctx>
[[nodiscard]] Object<S>* new_float_list(Ctx& ctx, std::span<const double> values) {
  Object<S>* list = new_object<S>(ctx, Kind::list, static_cast<std::uint32_t>(values.size()));
  for (std::uint32_t i = 0; i < values.size(); ++i) set_item(list, i, new_float<S>(ctx, values[i]));
  return list;
}

}  // namespace rcb
