#include "harness/engine/topology.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <sstream>
#include <stdexcept>

namespace rcb {

std::string Placement::describe() const {
  switch (kind) {
    case Kind::compact: return "compact";
    case Kind::scatter: return "scatter";
    case Kind::list: {
      std::string s;
      for (int c : cpus) s += (s.empty() ? "" : ",") + std::to_string(c);
      return s;
    }
  }
  return "?";
}

Placement parse_placement(const std::string& text) {
  if (text == "compact") return {};
  if (text == "scatter") return {Placement::Kind::scatter, {}};
  Placement p{Placement::Kind::list, {}};
  std::stringstream in(text);
  std::string item;
  const auto bad = [&] {
    return std::invalid_argument("bad --placement '" + text +
                                 "' (valid: compact, scatter, or a CPU list such as 0,2,4-7)");
  };
  while (std::getline(in, item, ',')) {
    if (item.empty()) throw bad();
    const auto dash = item.find('-');
    try {
      std::size_t used = 0;
      if (dash == std::string::npos) {
        const int c = std::stoi(item, &used);
        if (used != item.size() || c < 0) throw bad();
        p.cpus.push_back(c);
      } else {
        const int lo = std::stoi(item.substr(0, dash), &used);
        if (used != dash) throw bad();
        const std::string rest = item.substr(dash + 1);
        const int hi = std::stoi(rest, &used);
        if (used != rest.size() || lo < 0 || hi < lo) throw bad();
        for (int c = lo; c <= hi; ++c) p.cpus.push_back(c);
      }
    } catch (const std::logic_error&) {
      throw bad();
    }
  }
  if (p.cpus.empty()) throw bad();
  // Two threads pinned to one CPU would measure time slicing, not the
  // strategy; --oversubscribe (more threads than listed CPUs) is the way.
  std::vector<int> sorted = p.cpus;
  std::sort(sorted.begin(), sorted.end());
  if (const auto twice = std::adjacent_find(sorted.begin(), sorted.end()); twice != sorted.end())
    throw std::invalid_argument("bad --placement '" + text + "': CPU " + std::to_string(*twice) +
                                " is listed twice (each thread gets its own CPU; list each CPU once)");
  return p;
}

Topology::Topology() {
  hwloc_topology_init(&topo_);
  hwloc_topology_load(topo_);
  const hwloc_const_cpuset_t allowed = hwloc_topology_get_allowed_cpuset(topo_);
  const int npu = hwloc_get_nbobjs_by_type(topo_, HWLOC_OBJ_PU);
  // Logical order fills a core's hardware threads, then the next core:
  // exactly "compact".
  for (int i = 0; i < npu; ++i) {
    hwloc_obj_t pu = hwloc_get_obj_by_type(topo_, HWLOC_OBJ_PU, static_cast<unsigned>(i));
    if (hwloc_bitmap_isset(allowed, pu->os_index)) allowed_.push_back(static_cast<int>(pu->os_index));
  }
  // Scatter: the k-th PU of every core before any core's (k+1)-th, cores
  // taken round-robin across packages so two threads share neither a core
  // nor, while avoidable, a package.
  std::map<int, std::vector<std::vector<int>>> cores_by_package;
  const int ncores = hwloc_get_nbobjs_by_type(topo_, HWLOC_OBJ_CORE);
  for (int i = 0; i < ncores; ++i) {
    hwloc_obj_t core = hwloc_get_obj_by_type(topo_, HWLOC_OBJ_CORE, static_cast<unsigned>(i));
    hwloc_obj_t pkg = hwloc_get_ancestor_obj_by_type(topo_, HWLOC_OBJ_PACKAGE, core);
    std::vector<int> pus;
    for (int c : allowed_)
      if (hwloc_bitmap_isset(core->cpuset, static_cast<unsigned>(c))) pus.push_back(c);
    if (!pus.empty()) cores_by_package[pkg ? static_cast<int>(pkg->logical_index) : 0].push_back(pus);
  }
  std::size_t max_cores = 0, max_pus = 0;
  for (auto& [_, cores] : cores_by_package) {
    max_cores = std::max(max_cores, cores.size());
    for (auto& c : cores) max_pus = std::max(max_pus, c.size());
  }
  for (std::size_t k = 0; k < max_pus; ++k)
    for (std::size_t ci = 0; ci < max_cores; ++ci)
      for (auto& [_, cores] : cores_by_package)
        if (ci < cores.size() && k < cores[ci].size()) scatter_.push_back(cores[ci][k]);
  if (scatter_.size() != allowed_.size()) scatter_ = allowed_;  // no core objects: fall back
}

Topology::~Topology() { hwloc_topology_destroy(topo_); }

std::vector<int> Topology::assign(const Placement& p, std::uint32_t threads) const {
  const std::vector<int>& order =
      p.kind == Placement::Kind::list ? p.cpus : (p.kind == Placement::Kind::scatter ? scatter_ : allowed_);
  std::vector<int> out;
  for (std::uint32_t t = 0; t < threads; ++t) out.push_back(order[t % order.size()]);
  return out;
}

bool Topology::bind_current_thread(int os_cpu, std::string* why) const {
  hwloc_bitmap_t set = hwloc_bitmap_alloc();
  hwloc_bitmap_only(set, static_cast<unsigned>(os_cpu));
  const int rc = hwloc_set_cpubind(topo_, set, HWLOC_CPUBIND_THREAD | HWLOC_CPUBIND_STRICT);
  const int err = errno;
  hwloc_bitmap_free(set);
  if (rc != 0 && why) *why = std::strerror(err);
  return rc == 0;
}

namespace {
std::string bitmap_list(hwloc_const_bitmap_t b) {
  char* s = nullptr;
  hwloc_bitmap_list_asprintf(&s, b);
  std::string out = s ? s : "";
  std::free(s);
  return out;
}
}  // namespace

nlohmann::json Topology::summary() const {
  nlohmann::json j;
  j["packages"] = hwloc_get_nbobjs_by_type(topo_, HWLOC_OBJ_PACKAGE);
  j["cores"] = hwloc_get_nbobjs_by_type(topo_, HWLOC_OBJ_CORE);
  j["pus"] = hwloc_get_nbobjs_by_type(topo_, HWLOC_OBJ_PU);
  j["numa_nodes"] = hwloc_get_nbobjs_by_type(topo_, HWLOC_OBJ_NUMANODE);
  j["allowed_cpuset"] = bitmap_list(hwloc_topology_get_allowed_cpuset(topo_));
  j["allowed_pus"] = allowed_;
  j["scatter_order"] = scatter_;
  nlohmann::json caches = nlohmann::json::array();
  for (hwloc_obj_type_t t : {HWLOC_OBJ_L1CACHE, HWLOC_OBJ_L2CACHE, HWLOC_OBJ_L3CACHE}) {
    const int n = hwloc_get_nbobjs_by_type(topo_, t);
    if (n <= 0) continue;
    hwloc_obj_t c = hwloc_get_obj_by_type(topo_, t, 0);
    caches.push_back({{"level", c->attr->cache.depth},
                      {"size_kib", c->attr->cache.size / 1024},
                      {"line_bytes", c->attr->cache.linesize},
                      {"count", n},
                      {"shared_by_pus", hwloc_bitmap_weight(c->cpuset)}});
  }
  j["caches"] = caches;
  hwloc_obj_t root = hwloc_get_root_obj(topo_);
  if (const char* model = hwloc_obj_get_info_by_name(root, "CPUModel")) j["cpu_model"] = model;
  else if (hwloc_obj_t pkg = hwloc_get_obj_by_type(topo_, HWLOC_OBJ_PACKAGE, 0))
    if (const char* m = hwloc_obj_get_info_by_name(pkg, "CPUModel")) j["cpu_model"] = m;
  return j;
}

std::string Topology::summary_text() const {
  const auto j = summary();
  std::ostringstream o;
  o << j["packages"] << " package(s), " << j["cores"] << " core(s), " << j["pus"] << " PU(s); allowed cpuset "
    << j["allowed_cpuset"].get<std::string>();
  if (j.contains("cpu_model")) o << "\n  cpu: " << j["cpu_model"].get<std::string>();
  for (const auto& c : j["caches"])
    o << "\n  L" << c["level"] << ": " << c["count"] << " x " << c["size_kib"] << " KiB, " << c["line_bytes"]
      << "-byte lines, shared by " << c["shared_by_pus"] << " PU(s)";
  return o.str();
}

}  // namespace rcb
