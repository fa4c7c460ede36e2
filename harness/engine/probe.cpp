#include "harness/engine/probe.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <thread>

#include "harness/engine/stats.h"
#include "harness/engine/topology.h"
#include "harness/engine/usage.h"

namespace rcb {

namespace {

// Enough pairs for a loop of a few milliseconds even at the contended cost.
constexpr std::uint64_t kPairs = 200'000;
constexpr int kTries = 7;

template <class T>
[[nodiscard]] inline T* opaque(T* p) {
  asm volatile("" : "+r"(p));
  return p;
}

// Each loop carries the same dependent chain as hot_object's body
// (acc += i * i + i, kept opaque), so a pair here and an item there run the
// same instructions except for the harness and the strategy's own code: a
// difference between the two is the harness's, or the strategy's. Next to
// an atomic pair the chain is free; next to a plain pair it is about a
// third of a cycle.
inline void keep_chain(std::uint64_t& acc, std::uint64_t i) {
  acc += i * i + i;
  asm volatile("" : "+r"(acc));
}

// What plain's incref and decref compile to; the pointer is laundered
// between the two so the compiler cannot fold the pair away.
[[gnu::noinline]] std::uint64_t plain_pairs(std::uint64_t* count, std::uint64_t n) {
  std::uint64_t acc = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    ++*opaque(count);
    if (--*opaque(count) == 0) [[unlikely]]
      *count = 1;
    keep_chain(acc, i);
  }
  return acc;
}

// What atomic's incref and decref compile to (strategies/atomic_count.h).
[[gnu::noinline]] std::uint64_t atomic_pairs(std::atomic<std::uint64_t>* count, std::uint64_t n) {
  std::uint64_t acc = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    opaque(count)->fetch_add(1, std::memory_order_relaxed);
    if (opaque(count)->fetch_sub(1, std::memory_order_release) == 1) [[unlikely]]
      count->store(1, std::memory_order_relaxed);
    keep_chain(acc, i);
  }
  return acc;
}

struct alignas(64) Line {
  std::atomic<std::uint64_t> count{1};
};

// One timed loop on `threads` pinned threads; ns per pair per thread, from
// the first start to the last finish.
template <class Body>
double timed_pairs(const Topology& topo, const std::vector<int>& cpus, std::size_t threads, Body body) {
  std::atomic<std::size_t> ready{0};
  std::vector<std::int64_t> t0(threads), t1(threads);
  std::vector<std::thread> team;
  for (std::size_t t = 0; t < threads; ++t)
    team.emplace_back([&, t] {
      if (t < cpus.size() && cpus[t] >= 0) (void)topo.bind_current_thread(cpus[t], nullptr);
      body(t, kPairs / 10);  // warm: the line, the branch, the core's clock
      ready.fetch_add(1, std::memory_order_acq_rel);
      while (ready.load(std::memory_order_acquire) < threads) {
      }
      t0[t] = steady_ns();
      body(t, kPairs);
      t1[t] = steady_ns();
    });
  for (auto& th : team) th.join();
  const auto first = *std::min_element(t0.begin(), t0.end());
  const auto last = *std::max_element(t1.begin(), t1.end());
  return static_cast<double>(last - first) / static_cast<double>(kPairs);
}

template <class Body>
double median_of_tries(const Topology& topo, const std::vector<int>& cpus, std::size_t threads, Body body) {
  std::vector<double> v;
  for (int i = 0; i < kTries; ++i) v.push_back(timed_pairs(topo, cpus, threads, body));
  return median(v);
}

}  // namespace

nlohmann::json ProbeResult::to_json() const {
  nlohmann::json j{{"plain_pair_ns", plain_pair_ns},
                   {"atomic_pair_ns", atomic_pair_ns},
                   {"cpus", cpus},
                   {"method", "median of 7 loops of 200,000 incref+decref pairs; ns per pair per thread, first "
                              "start to last finish; threads pinned as the run pins them"}};
  nlohmann::json per_cpu = nlohmann::json::object();
  for (const auto& [cpu, ns] : plain_pair_ns_per_cpu) per_cpu[std::to_string(cpu)] = ns;
  j["plain_pair_ns_per_cpu"] = std::move(per_cpu);
  if (contended_pair_ns > 0) {
    j["contended_pair_ns"] = contended_pair_ns;
    j["separate_lines_pair_ns"] = separate_lines_pair_ns;
  } else {
    j["contended_pair_ns"] = nullptr;
    j["separate_lines_pair_ns"] = nullptr;
  }
  return j;
}

ProbeResult run_probe(const Topology& topo, const std::vector<int>& cpus) {
  ProbeResult r;
  r.cpus = cpus;
  std::uint64_t plain = 1;
  Line lines[2];
  r.plain_pair_ns = median_of_tries(topo, cpus, 1, [&](std::size_t, std::uint64_t n) { plain_pairs(&plain, n); });
  r.atomic_pair_ns =
      median_of_tries(topo, cpus, 1, [&](std::size_t, std::uint64_t n) { atomic_pairs(&lines[0].count, n); });
  for (const int cpu : cpus)
    r.plain_pair_ns_per_cpu.emplace_back(
        cpu, median_of_tries(topo, {cpu}, 1, [&](std::size_t, std::uint64_t n) { plain_pairs(&plain, n); }));
  if (cpus.size() >= 2) {
    r.contended_pair_ns =
        median_of_tries(topo, cpus, 2, [&](std::size_t, std::uint64_t n) { atomic_pairs(&lines[0].count, n); });
    r.separate_lines_pair_ns =
        median_of_tries(topo, cpus, 2, [&](std::size_t t, std::uint64_t n) { atomic_pairs(&lines[t].count, n); });
  }
  return r;
}

}  // namespace rcb
