#pragma once
// The one list of strategies. Adding a strategy is one header and one line
// here; the benchmark matrix and the typed tests are built from this list.

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

template <class... Ts>
struct TypeList {};

using AllStrategies = TypeList<
    Plain,
    Gil,
    Atomic,
    Buffered,
    Biased,
    Frozen,
    Remote,
    RemotePadded,
    Immortal,
    Deferred,
    CPythonFt,
    Sticky,
    Sharded,
    RefCache,
    Libstdcxx,
    BoostIntrusive>;

}  // namespace rcb
