#pragma once
// cpython_ft: the refcounting CPython 3.14t ships, as one strategy: biased
// counts (strategies/biased.h) plus immortal objects, deferred objects and
// stop-the-world collections that merge every thread's queue.
//
// Mechanism, on top of `biased`:
//   - immortal: a declared-immortal object is unowned with local count
//     0xFFFFFFFF; incref/decref load `local` first and return (3.14t's
//     Py_INCREF / Py_DECREF). Freed at shutdown, never by counting.
//   - deferred: a declared-deferred object carries kDeferredBias in its
//     shared count and a gc bit; stack references to it (and to immortal
//     objects) are tagged and uncounted (cpython_facts.h). Freed only by a
//     collection, which scans every thread's DataStack.
//   - per-thread counts: an object declared per_thread (a class, a code
//     object; 3.14's unique ids, Python/uniqueid.c) is deferred and has an
//     index into every thread's own array of counts; the reference an
//     instance holds to its class (_Py_INCREF_TYPE / _Py_DECREF_TYPE) is a
//     plain add there, not an atomic on the class's shared line. A
//     collection merges every thread's array before it reads a count, and
//     a thread merges its own as it exits.
//   - collections: when CPython's allocation rule schedules one
//     (strategies/gc_trigger.h: net GC-object allocations past 2000, a
//     quarter of the survivors, and memory growth), at the scheduling
//     thread's next safepoint, or when a thread calls collect(). The world
//     stops (stop_the_world.h) and the collector merges every queue on its
//     owners' behalf, as gc_free_threading.c's merge_queued_objects does
//     inside each collection. A thread that allocates no container never
//     collects, as in CPython, so an owner that blocks holds its queued
//     objects until it wakes or someone else's allocations collect
//     (CPython issue #157838).
// Invariant: biased's, plus: a collection touches another thread's counts
// and queue only while that thread is parked, blocked or detached.
// Source: PEP 703; CPython 3.14 Include/refcount.h, Python/brc.c,
// Python/gc_free_threading.c (record_allocation, gc_should_collect,
// merge_queued_objects, _PyObject_MergePerThreadRefcounts in
// gc_collect_internal), Python/uniqueid.c, Include/internal/pycore_object.h
// (_Py_THREAD_INCREF_OBJECT), Include/internal/pycore_stackref.h. Read on
// CPython's main branch of the 3.14 era (uniqueid.c at f712b65,
// gc_free_threading.c at 0090365), not on a 3.14 tag.

#include <cstdint>
#include <string_view>

#include "strategies/biased.h"

namespace rcb {

struct CPythonFtTuning : BiasedTuning {
  static constexpr std::string_view kName = "cpython_ft";
  static constexpr bool kCPython = true;
  static constexpr CPythonRelease kRelease = CPythonRelease::v3_14;
};

// cpython_ft313: CPython 3.13t's profile of the same machinery (the
// differences, each from 3.13.0's source, are in docs/pyvm.md, "CPython
// 3.13t and 3.14t"):
//   - no deferred counting yet: what 3.14t defers (functions, code objects,
//     heap types) is immortal once the first non-main thread starts
//     (gh-117783, _PyGC_ImmortalizeDeferredObjects; 3.13.0's
//     pycore_gc.h `immortalize`), so declared deferred and per_thread
//     objects are immortal here;
//   - no stack references: frames hold PyObject * (pycore_frame.h), every
//     LOAD_FAST increfs and nothing is borrowed (LOAD_FAST_BORROW is 3.14a7);
//   - no per-thread counts (_Py_INCREF_TYPE and uniqueid.c are 3.14):
//     _PyObject_Init does Py_INCREF(type), an immortal no-op after the above;
//   - the collector's trigger without 3.14's memory gate.
// Specialisation is off in 3.13t (pycore_code.h: ENABLE_SPECIALIZATION 0);
// the generic forms take and drop the same references as the specialised
// ones pyvm runs, so that changes dispatch, which pyvm does not model.
struct CPythonFt313Tuning : CPythonFtTuning {
  static constexpr std::string_view kName = "cpython_ft313";
  static constexpr CPythonRelease kRelease = CPythonRelease::v3_13;
};

using CPythonFt = BasicBiased<CPythonFtTuning>;
using CPythonFt313 = BasicBiased<CPythonFt313Tuning>;

static_assert(RefCountStrategy<CPythonFt>);
static_assert(RefCountStrategy<Uncounted<CPythonFt>>);
static_assert(RefCountStrategy<CPythonFt313>);

}  // namespace rcb
