#pragma once
// What CPython 3.14 knows about an object that a plain count does not, and
// the two ways a reference can be held: on an interpreter's stack or in the
// heap. Workloads state both; strategies with no notion of either ignore
// them at no cost (every call below compiles to a plain incref/decref).
//
// Facts a workload declares at setup, before it publishes the object:
//   immortal   None, True/False, small ints -5..256, code constants and
//              interned strings (PEP 683; CPython 3.12+ sets their count to
//              _Py_IMMORTAL_REFCNT at creation and never frees them).
//   deferred   functions, code objects, modules and types (3.14's
//              _PyObject_SetDeferredRefcount): references to them from an
//              interpreter stack are not counted, so a collection that scans
//              the stacks is what frees them.
//   per_thread deferred, and given a unique id (3.14's
//              _PyObject_AssignUniqueId, Python/uniqueid.c: heap types and
//              code objects): the references _Py_INCREF_TYPE and
//              _Py_INCREF_CODE take (an object's ob_type, a function's
//              func_code) go to a per-thread array indexed by that id, with
//              plain adds, and a collection merges every thread's array into
//              the count before it looks. Strategies without such arrays
//              treat it as deferred.
//
// Stack references (CPython's _PyStackRef, Include/internal/pycore_stackref.h).
// A stack slot holds tagged bits: the low bit set means "this slot holds no
// count" (Py_TAG_REFCNT in 3.14). Loading an immortal or deferred object
// from the heap onto the stack tags instead of incref'ing
// (PyStackRef_FromPyObjectNew); closing a tagged slot does nothing
// (PyStackRef_CLOSE); storing a tagged slot into the heap must first take a
// real reference (PyStackRef_AsPyObjectSteal). A strategy opts in by giving
// its context `stack_skips_count(o)`; for every other strategy a stack
// reference is an ordinary counted one.
//
// A collection finds stack references only in a thread's DataStack (CPython's
// frames live in tstate's datastack chunks, which its collector walks). A
// workload that keeps a tagged reference in a C++ local instead must hold it
// only to objects a heap reference keeps alive until teardown (fib's function
// is also in its globals), or a collection could free what the local points to.

#include <cstddef>
#include <cstdint>

#include "strategies/object.h"

namespace rcb {

enum class CPythonFact : std::uint8_t { immortal, deferred, per_thread };

// Whose rules a CPython-modelling strategy follows (strategies/cpython_ft.h).
enum class CPythonRelease : std::uint8_t { v3_13, v3_14 };

// Tells the strategy what CPython would do with `o`. Call on the creating
// thread, before the object is published.
template <class Ctx, class O>
void declare(Ctx& ctx, O* o, CPythonFact fact) {
  if constexpr (requires { ctx.declare(o, fact); }) ctx.declare(o, fact);
}

// _Py_INCREF_TYPE / _Py_DECREF_TYPE: the reference an instance holds to its
// class (_PyObject_Init takes it, subtype_dealloc drops it). Per-thread
// where the strategy keeps per-thread counts (cpython_ft), else counted.
template <class Ctx, class O>
void incref_type(Ctx& ctx, O* type) {
  if constexpr (requires { ctx.incref_per_thread(type); })
    ctx.incref_per_thread(type);
  else
    ctx.incref(type);
}
template <class Ctx, class O>
void decref_type(Ctx& ctx, O* type) {
  if constexpr (requires { ctx.decref_per_thread(type); })
    ctx.decref_per_thread(type);
  else
    ctx.decref(type);
}

// CPython's small-int cache: -5..256 are preallocated singletons, immortal
// since 3.12 (Objects/longobject.c, _PY_NSMALLNEGINTS and _PY_NSMALLPOSINTS).
[[nodiscard]] constexpr bool is_small_int(std::int64_t v) { return v >= -5 && v <= 256; }

// int(v) built at setup: a small int is declared immortal, as the cached
// singleton CPython would hand out is. (Workloads that box ints while they
// run use their own cache, as fib does: a declared object stays pinned
// until shutdown, so declaring fresh objects per iteration would pile up.)
template <class S, class Ctx>
[[nodiscard]] Object<S>* new_setup_int(Ctx& ctx, std::int64_t v) {
  Object<S>* o = new_int<S>(ctx, v);
  if (is_small_int(v)) declare(ctx, o, CPythonFact::immortal);
  return o;
}

// Whether the strategy gives stack references to `o` no count.
template <class Ctx, class O>
[[nodiscard]] bool stack_skips_count(Ctx& ctx, const O* o) {
  if constexpr (requires { ctx.stack_skips_count(o); })
    return ctx.stack_skips_count(o);
  else
    return false;
}

// One stack slot: an object pointer whose low bit says it holds no count.
// Objects are at least 8-byte aligned, so the bit is free.
template <class S>
class StackRef {
 public:
  using Obj = Object<S>;
  static constexpr std::uintptr_t kNoCount = 1;

  constexpr StackRef() = default;
  [[nodiscard]] static StackRef counted(Obj* o) { return StackRef(reinterpret_cast<std::uintptr_t>(o)); }
  [[nodiscard]] static StackRef uncounted(Obj* o) {
    return StackRef(reinterpret_cast<std::uintptr_t>(o) | kNoCount);
  }
  [[nodiscard]] static StackRef from_bits(std::uintptr_t bits) { return StackRef(bits); }

  [[nodiscard]] Obj* get() const { return reinterpret_cast<Obj*>(bits_ & ~kNoCount); }
  [[nodiscard]] bool holds_count() const { return (bits_ & kNoCount) == 0; }
  [[nodiscard]] bool is_null() const { return get() == nullptr; }
  [[nodiscard]] std::uintptr_t bits() const { return bits_; }

 private:
  constexpr explicit StackRef(std::uintptr_t bits) : bits_(bits) {}
  std::uintptr_t bits_ = 0;
};

// hide() for a stack slot (strategies/object.h): the optimiser may not
// fold a counted slot's incref and decref into nothing.
template <class S>
[[nodiscard]] inline StackRef<S> hide(StackRef<S> r) {
  std::uintptr_t bits = r.bits();
  asm volatile("" : "+r"(bits));
  return StackRef<S>::from_bits(bits);
}

// LOAD_GLOBAL / LOAD_ATTR / LOAD_CONST: a new stack reference to an object
// the heap holds (PyStackRef_FromPyObjectNew).
template <class S, class Ctx>
[[nodiscard]] StackRef<S> stack_new(Ctx& ctx, Object<S>* o) {
  if (stack_skips_count(ctx, o)) return StackRef<S>::uncounted(o);
  ctx.incref(o);
  return StackRef<S>::counted(o);
}

// A fresh object (a call's result, a new tuple) moves onto the stack with
// the reference it came with (PyStackRef_FromPyObjectSteal).
template <class S>
[[nodiscard]] StackRef<S> stack_steal(Object<S>* o) {
  return StackRef<S>::counted(o);
}

// PyStackRef_Borrow (LOAD_FAST_BORROW): a stack reference that takes no
// count, because something else (the frame's local, a code object's
// constants) is known to keep the object alive while it is on the stack.
// Closing it does nothing; storing it in the heap counts. The compiler
// chooses it, not the object, so every strategy borrows alike, except one
// that models an interpreter without stack references (cpython_ft313:
// 3.13 has no LOAD_FAST_BORROW, and its LOAD_FAST increfs), which says so
// with kEveryStackRefCounted.
template <class S, class Ctx>
[[nodiscard]] StackRef<S> stack_borrow(Ctx& ctx, Object<S>* o) {
  if constexpr (requires { Ctx::kEveryStackRefCounted; }) {
    if constexpr (Ctx::kEveryStackRefCounted) {
      ctx.incref(o);
      return StackRef<S>::counted(o);
    }
  }
  return StackRef<S>::uncounted(o);
}

// PyStackRef_MakeHeapSafe (RETURN_VALUE): a reference that may outlive the
// frame it came from. An uncounted slot to an object the strategy does not
// skip (a borrow of a mortal local) takes a count here.
template <class S, class Ctx>
[[nodiscard]] StackRef<S> stack_make_heap_safe(Ctx& ctx, StackRef<S> r) {
  if (r.holds_count() || r.is_null() || stack_skips_count(ctx, r.get())) return r;
  ctx.incref(r.get());
  return StackRef<S>::counted(r.get());
}

// PyStackRef_DUP: a second stack reference to the same object.
template <class S, class Ctx>
[[nodiscard]] StackRef<S> stack_dup(Ctx& ctx, StackRef<S> r) {
  if (r.holds_count() && !r.is_null()) ctx.incref(r.get());
  return r;
}

// PyStackRef_CLOSE (XCLOSE for a null slot).
template <class S, class Ctx>
void stack_close(Ctx& ctx, StackRef<S> r) {
  if (r.holds_count() && !r.is_null()) ctx.decref(r.get());
}

// PyStackRef_AsPyObjectSteal: the heap (a list, a dict, an attribute)
// takes the slot's reference; an uncounted slot has none to give, so one is
// taken here.
template <class S, class Ctx>
[[nodiscard]] Object<S>* stack_to_heap(Ctx& ctx, StackRef<S> r) {
  if (!r.holds_count()) ctx.incref(r.get());
  return r.get();
}

}  // namespace rcb
