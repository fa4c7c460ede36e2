#pragma once
// The one list of strategies. Adding a strategy is one header and one line
// here; the benchmark matrix and the typed tests are built from this list.
//
// Each line names the strategy's type and, in its comment, the header that
// defines it: harness/CMakeLists.txt reads these lines to compile each
// strategy's cells in a translation unit of its own, which includes that
// header alone (so touching one strategy recompiles one unit).

#include "harness/type_list.h"
#include "strategies/atomic.h"
#include "strategies/biased.h"
#include "strategies/boost_intrusive.h"
#include "strategies/buffered.h"
#include "strategies/cpython_ft.h"
#include "strategies/deferred.h"
#include "strategies/frozen.h"
#include "strategies/gil.h"
#include "strategies/immortal.h"
#include "strategies/libstdcxx.h"
#include "strategies/plain.h"
#include "strategies/refcache.h"
#include "strategies/remote.h"
#include "strategies/sticky.h"
#include "strategies/sharded.h"

namespace rcb {

using AllStrategies = TypeList<
    Plain,          // strategies/plain.h
    Gil,            // strategies/gil.h
    Atomic,         // strategies/atomic.h
    Buffered,       // strategies/buffered.h
    Biased,         // strategies/biased.h
    Frozen,         // strategies/frozen.h
    Remote,         // strategies/remote.h
    RemotePadded,   // strategies/remote.h
    Immortal,       // strategies/immortal.h
    Deferred,       // strategies/deferred.h
    CPythonFt,      // strategies/cpython_ft.h
    CPythonFt313,   // strategies/cpython_ft.h
    Sticky,         // strategies/sticky.h
    Sharded,        // strategies/sharded.h
    RefCache,       // strategies/refcache.h
    Libstdcxx,      // strategies/libstdcxx.h
    BoostIntrusive  // strategies/boost_intrusive.h
    >;

}  // namespace rcb
