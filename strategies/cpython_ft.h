#pragma once
// cpython_ft: the refcounting CPython 3.14t ships, as one strategy: biased
// counts (strategies/biased.h) plus immortal objects, deferred objects and
// a stop-the-world pause that merges every thread's queue.
//
// Mechanism, on top of `biased`:
//   - immortal: a declared-immortal object is unowned with local count
//     0xFFFFFFFF; incref/decref load `local` first and return (3.14t's
//     Py_INCREF / Py_DECREF). Freed at shutdown, never by counting.
//   - deferred: a declared-deferred object carries kDeferredBias in its
//     shared count and a gc bit; stack references to it (and to immortal
//     objects) are tagged and uncounted (cpython_facts.h). Freed only by a
//     pause that scans every thread's DataStack.
//   - pauses: every kPauseEvery safepoints of a thread, or when a thread
//     calls collect(), the world stops (stop_the_world.h) and the pauser
//     merges every queue on its owners' behalf, as gc_free_threading.c's
//     merge_queued_objects does inside each collection. So an owner that
//     blocks, or never reaches a safepoint, holds dead objects only until
//     the next pause, not until it wakes.
// Invariant: biased's, plus: a pause touches another thread's counts and
// queue only while that thread is parked, blocked or detached.
// Source: PEP 703; CPython 3.14 Include/refcount.h, Python/brc.c,
// Python/gc_free_threading.c (merge_queued_objects, the young-generation
// threshold), Include/internal/pycore_stackref.h.
//
// kPauseEvery = 2000. CPython schedules a collection once 2000 net
// container objects were allocated since the last one (gc threshold 0,
// gc.get_threshold()) and runs it at the next eval-breaker check. The
// eval breaker is checked at every backward jump and call, our safepoint;
// in a loop that allocates one container per iteration that is one
// collection per 2000 safepoints. We count safepoints rather than
// allocations so that a thread that only drops references (the dropper
// in blocked_owner) still triggers pauses; CPython's allocation trigger
// would never fire there, and 3.14t also skips a collection until the heap
// grew by a quarter, so CPython itself can retain more than this bound.

#include <cstdint>
#include <string_view>

#include "strategies/biased.h"

namespace rcb {

struct CPythonFtTuning : BiasedTuning {
  static constexpr std::string_view kName = "cpython_ft";
  static constexpr bool kCPython = true;
  static constexpr std::uint32_t kPauseEvery = 2000;
};

using CPythonFt = BasicBiased<CPythonFtTuning>;

static_assert(RefCountStrategy<CPythonFt>);
static_assert(RefCountStrategy<Uncounted<CPythonFt>>);

}  // namespace rcb
