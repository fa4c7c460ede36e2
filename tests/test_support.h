#pragma once
// Shared by the test files: GoogleTest type lists and names, and a helper
// that runs code on one attached thread of a strategy. It includes no
// strategy header: each test includes the strategies it tests (or
// strategies/registry.h for all of them), so touching one strategy recompiles
// only the tests that use it.

#include <gtest/gtest.h>

#include <string>

#include "harness/type_list.h"
#include "harness/engine/team.h"

namespace rcb::test {

template <class L>
struct AsGTest;
template <class... Ts>
struct AsGTest<TypeList<Ts...>> {
  using type = ::testing::Types<Ts...>;
};

struct ComboName {
  template <class C>
  static std::string GetName(int) {
    return std::string(C::Strategy::info.name) + "_" + std::string(C::workload_info().name);
  }
};

struct StrategyName {
  template <class S>
  static std::string GetName(int) {
    return std::string(S::info.name);
  }
};

// Runs body(ctx) on a fresh runtime with one attached context, then shuts
// the runtime down and returns allocated - freed (must be 0).
template <class S, class Body>
std::int64_t on_one_thread(Body&& body) {
  typename S::Runtime rt;
  std::uint64_t allocated = 0, freed = 0;
  {
    typename S::Context ctx(rt, ThreadIndex{0});
    ctx.attach();
    body(ctx);
    ctx.detach();
    allocated = ctx.allocated;
    freed = ctx.freed;
  }
  rt.shutdown();
  if constexpr (requires { rt.objects_freed(); }) freed += rt.objects_freed();
  return static_cast<std::int64_t>(allocated) - static_cast<std::int64_t>(freed);
}

// ThreadSanitizer and fork() do not mix: its runtime does not support
// forking a multi-threaded process (the child inherits shadow state of
// threads it does not have), and it writes shadow memory on every access, so
// a child's dirtied-page figure would measure TSan. Workloads that fork say
// so (forks_processes) and their tests skip under TSan; test_fork_cow covers
// them in the release and asan builds.
#if defined(__SANITIZE_THREAD__)
inline constexpr bool kThreadSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
inline constexpr bool kThreadSanitizer = true;
#else
inline constexpr bool kThreadSanitizer = false;
#endif
#else
inline constexpr bool kThreadSanitizer = false;
#endif

// Thread counts the tests try: 1, 2 and 3 (an odd count catches pairing bugs).
inline constexpr std::uint32_t kThreadCounts[] = {1, 2, 3};

}  // namespace rcb::test
