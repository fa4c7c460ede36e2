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
};

using CPythonFt = BasicBiased<CPythonFtTuning>;

static_assert(RefCountStrategy<CPythonFt>);
static_assert(RefCountStrategy<Uncounted<CPythonFt>>);

}  // namespace rcb
