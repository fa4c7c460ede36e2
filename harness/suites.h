#pragma once
// Named suites: the questions `rcbench run --suite NAME` answers, each a set
// of cells chosen for that question. The one list of suites; `rcbench list
// --suites` prints it, and tests/test_harness.cpp checks that every name in
// it is a strategy or workload of the registries and that every strategy
// and every workload is in a suite besides `all`.
//
// Thread counts are not part of a suite: every suite runs at 1 thread and at
// every allowed CPU unless --threads says otherwise, because a family's cost
// "alone and shared" is what the suites compare.

#include <array>
#include <optional>
#include <span>
#include <string_view>

namespace rcb {

struct Suite {
  std::string_view name;
  std::string_view question;  // what it answers, one line
  // Empty: every strategy (workload) of the registry.
  std::span<const std::string_view> strategies;
  std::span<const std::string_view> workloads;
};

namespace suite_lists {
// The default. One or two strategies per family, against plain (the floor)
// and atomic (the naive thread-safe count): biased for the seeds' answer,
// cpython_ft for what CPython ships, sticky and sharded for the two scalable
// ideas (count atomically only once shared; count per thread), libstdcxx for
// what a C++ user gets. The workloads are the ones that part them: a private
// loop (BRC's bet), shared reads, one hot line, a cross-thread drop, and fib,
// a hot shared function among private temporaries.
inline constexpr std::array<std::string_view, 7> headline_strategies{
    "plain", "atomic", "biased", "cpython_ft", "sticky", "sharded", "libstdcxx"};
inline constexpr std::array<std::string_view, 5> headline_workloads{"private_churn", "shared_list", "hot_object",
                                                                    "handoff", "fib"};
// The seven mechanisms of the seed talks (remote in both layouts) on the
// seed workloads.
inline constexpr std::array<std::string_view, 8> seed_strategies{
    "plain", "gil", "atomic", "buffered", "biased", "frozen", "remote", "remote_padded"};
inline constexpr std::array<std::string_view, 8> seed_workloads{
    "shared_list", "private_churn", "handoff", "fork_cow", "fib", "dimuon", "matmul_lists", "hot_object"};
// CPython's family, with the seeds' biased and atomic it is built from, on
// the workloads that declare CPython's immortal and deferred objects, plus
// the cross-thread drop and the blocked owner that biased counting retains for.
inline constexpr std::array<std::string_view, 7> cpython_strategies{
    "plain", "atomic", "biased", "immortal", "deferred", "cpython_ft", "cpython_ft313"};
inline constexpr std::array<std::string_view, 5> cpython_workloads{"fib", "hot_object", "shared_list", "handoff",
                                                                   "blocked_owner"};
// The scalable and library strategies on the micro workloads, against the
// same two references.
inline constexpr std::array<std::string_view, 5> scalable_strategies{"plain", "atomic", "sticky", "sharded",
                                                                     "refcache"};
inline constexpr std::array<std::string_view, 4> library_strategies{"plain", "atomic", "libstdcxx",
                                                                    "boost_intrusive"};
inline constexpr std::array<std::string_view, 6> micro_workloads{"shared_list", "private_churn", "handoff",
                                                                 "hot_object", "fib", "matmul_lists"};
// The interpreter: the strategies a runtime engineer weighs for CPython,
// on every pyvm program.
inline constexpr std::array<std::string_view, 8> pyvm_strategies{
    "plain", "gil", "atomic", "biased", "immortal", "deferred", "cpython_ft", "cpython_ft313"};
inline constexpr std::array<std::string_view, 8> pyvm_workloads{
    "pyvm_fib",         "pyvm_shared_iter",  "pyvm_shared_iter_imm",   "pyvm_private_iter",
    "pyvm_shared_call", "pyvm_tuple_tree",   "pyvm_producer_consumer", "pyvm_dimuon"};
}  // namespace suite_lists

inline constexpr std::array<Suite, 7> kSuites{{
    {"headline", "what does each family cost, alone and shared? (the default)", suite_lists::headline_strategies,
     suite_lists::headline_workloads},
    {"seeds", "the seed talks' mechanisms on the seed workloads", suite_lists::seed_strategies,
     suite_lists::seed_workloads},
    {"cpython", "CPython's immortal, deferred and free-threaded counting against biased and atomic",
     suite_lists::cpython_strategies, suite_lists::cpython_workloads},
    {"scalable", "sticky, sharded and refcache against plain and atomic", suite_lists::scalable_strategies,
     suite_lists::micro_workloads},
    {"library", "libstdc++'s and Boost's counts against plain and atomic", suite_lists::library_strategies,
     suite_lists::micro_workloads},
    {"pyvm", "what each CPython candidate costs an interpreter", suite_lists::pyvm_strategies,
     suite_lists::pyvm_workloads},
    {"all", "every strategy x every workload", {}, {}},
}};

inline constexpr std::string_view kDefaultSuite = "headline";

[[nodiscard]] inline const Suite* find_suite(std::string_view name) {
  for (const Suite& s : kSuites)
    if (s.name == name) return &s;
  return nullptr;
}

}  // namespace rcb
