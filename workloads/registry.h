#pragma once
// The one list of workloads. Adding a workload is one header and one line
// here; the benchmark matrix and the typed tests are built from this list.

#include "workloads/blocked_owner.h"
#include "workloads/dimuon.h"
#include "workloads/fib.h"
#include "workloads/fork_cow.h"
#include "workloads/handoff.h"
#include "workloads/hot_object.h"
#include "workloads/matmul_lists.h"
#include "workloads/private_churn.h"
#include "workloads/pyvm/workloads.h"
#include "workloads/shared_list.h"

namespace rcb {

template <template <class> class... Ws>
struct WorkloadList {};

using AllWorkloads = WorkloadList<
    SharedList,
    PrivateChurn,
    Handoff,
    Fib,
    Dimuon,
    MatmulLists,
    HotObject,
    ForkCow,
    PyvmFib,
    PyvmSharedIter,
    PyvmSharedIterImm,
    PyvmPrivateIter,
    PyvmSharedCall,
    PyvmTupleTree,
    PyvmProducerConsumer,
    PyvmDimuon,
    BlockedOwner>;

}  // namespace rcb
