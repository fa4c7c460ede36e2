#pragma once
// The allocator's policy for every rcbench process: what mimalloc may do
// with memory the objects gave back, set once at startup and recorded in
// every results file (docs/measurement.md, "The allocator's policy").

#include <nlohmann/json.hpp>

namespace rcb {

// Call first thing in main(), before any benchmark allocates. Turns off
// mimalloc's return of freed pages to the OS (mi_option_allow_decommit)
// unless MIMALLOC_ALLOW_DECOMMIT is in the environment, which then wins.
// A no-op in sanitizer builds, whose objects come from the system malloc.
void apply_allocator_policy();

// The allocator and the settings in force: {"name", "version",
// "allow_decommit", "decommit_delay_ms", ..., "set_by"}.
[[nodiscard]] nlohmann::json allocator_policy_json();

}  // namespace rcb
