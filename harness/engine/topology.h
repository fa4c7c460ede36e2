#pragma once
// The machine as hwloc sees it, and thread placement on it.
//
// hwloc in a VM or container shows only the PUs this process may use, in
// whatever topology the hypervisor invents, so the results record the
// allowed cpuset and, per thread, the PU it was bound to and the CPU it was
// found on at the end of the timed region. Binding failures warn instead of
// aborting (google/benchmark's affinity guard does the same).

#include <hwloc.h>

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace rcb {

// How worker threads are laid out on PUs.
struct Placement {
  enum class Kind : std::uint8_t { compact, scatter, list } kind = Kind::compact;
  std::vector<int> cpus;  // Kind::list: OS CPU numbers, in thread order
  [[nodiscard]] std::string describe() const;
};

// Parses "compact", "scatter" or a CPU list such as "0,2,4-7".
// Throws std::invalid_argument with a message naming the valid choices.
[[nodiscard]] Placement parse_placement(const std::string& text);

class Topology {
 public:
  Topology();
  ~Topology();
  Topology(const Topology&) = delete;
  Topology& operator=(const Topology&) = delete;

  // PUs this process may run on, by OS number.
  [[nodiscard]] const std::vector<int>& allowed_pus() const { return allowed_; }
  [[nodiscard]] std::size_t pu_count() const { return allowed_.size(); }

  // The OS CPU for each of `threads` threads. More threads than PUs wrap
  // around; the caller decides whether that is allowed.
  [[nodiscard]] std::vector<int> assign(const Placement& p, std::uint32_t threads) const;

  // Binds the calling thread to one PU; false (with errno text in `why`)
  // when the OS refuses.
  bool bind_current_thread(int os_cpu, std::string* why) const;

  // Packages, cores, PUs, caches, allowed cpuset, NUMA nodes.
  [[nodiscard]] nlohmann::json summary() const;
  [[nodiscard]] std::string summary_text() const;

 private:
  hwloc_topology_t topo_{};
  std::vector<int> allowed_;  // compact order (hwloc logical order)
  std::vector<int> scatter_;  // one PU per core across packages first
};

}  // namespace rcb
