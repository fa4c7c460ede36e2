#pragma once
// The one list of workloads. Adding a workload is one header and one line
// here; the benchmark matrix and the typed tests are built from this list.

#include "workloads/handoff.h"
#include "workloads/private_churn.h"
#include "workloads/shared_list.h"

namespace rcb {

template <template <class> class... Ws>
struct WorkloadList {};

using AllWorkloads = WorkloadList<SharedList, PrivateChurn, Handoff>;

}  // namespace rcb
