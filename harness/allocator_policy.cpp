#include "harness/allocator_policy.h"

#include <cstdlib>

#include "strategies/object.h"

#if !defined(RCBENCH_SYSTEM_ALLOCATOR)
#include <mimalloc.h>
#endif

namespace rcb {

namespace {

// Who decided allow_decommit: rcbench, or the user through the environment.
const char*& decided_by() {
  static const char* by = "mimalloc's default (apply_allocator_policy() was not called)";
  return by;
}

}  // namespace

void apply_allocator_policy() {
#if !defined(RCBENCH_SYSTEM_ALLOCATOR)
  // mimalloc 2.0 decommits a page that stayed free for decommit_delay (25 ms
  // by default) and faults it back in when it is reused. Whether a timed
  // repetition pays those faults then depends on how long the clock ran
  // between a free and the next allocation, not on the strategy: biased's
  // blocked_owner cells came out bimodal (55 against up to 900 ns per item).
  // With decommit off, freed pages stay mapped and are reused as they are;
  // the process keeps its peak footprint until it exits.
  if (std::getenv("MIMALLOC_ALLOW_DECOMMIT") != nullptr) {
    decided_by() = "environment (MIMALLOC_ALLOW_DECOMMIT)";
    return;
  }
  mi_option_disable(mi_option_allow_decommit);
  decided_by() = "rcbench (mi_option_disable(mi_option_allow_decommit) at startup)";
#else
  decided_by() = "not applicable: sanitizer build, objects from the system malloc";
#endif
}

nlohmann::json allocator_policy_json() {
  nlohmann::json j;
#if !defined(RCBENCH_SYSTEM_ALLOCATOR)
  j["name"] = "mimalloc";
  j["version"] = mi_version();  // 209 is 2.0.9
  j["allow_decommit"] = mi_option_is_enabled(mi_option_allow_decommit);
  j["decommit_delay_ms"] = mi_option_get(mi_option_decommit_delay);
  j["segment_decommit_delay_ms"] = mi_option_get(mi_option_segment_decommit_delay);
  j["page_reset"] = mi_option_is_enabled(mi_option_page_reset);
  j["eager_commit"] = mi_option_is_enabled(mi_option_eager_commit);
  j["large_os_pages"] = mi_option_is_enabled(mi_option_large_os_pages);
#else
  j["name"] = "system malloc (sanitizer build)";
#endif
  j["set_by"] = decided_by();
  return j;
}

}  // namespace rcb
