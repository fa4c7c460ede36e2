#include "harness/build_info.h"

#include "harness/allocator_policy.h"

#include <cstdio>
#include <string>

#include "strategies/object.h"

namespace rcb {

namespace {

std::string run(const std::string& cmd) {
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[256];
    while (fgets(buf, sizeof buf, p)) out += buf;
    if (pclose(p) != 0) return {};
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

}  // namespace

nlohmann::json build_info() {
  nlohmann::json j;
#if defined(__clang__)
  j["compiler"] = std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  j["compiler"] = std::string("gcc ") + __VERSION__;
#endif
  j["build_type"] = RCBENCH_BUILD_TYPE;
  j["cxx_flags"] = RCBENCH_CXX_FLAGS;
  j["sanitizer"] = RCBENCH_SANITIZER_NAME;
  j["allocator"] = kSystemAllocator ? "system malloc (sanitizer build)" : "mimalloc";
  // The policy in force in this process (docs/measurement.md), not only how it was built.
  j["allocator_policy"] = allocator_policy_json();
  j["rcbench_version"] = RCBENCH_VERSION;
  // The commit is read when the run starts, not when the binary was built,
  // so a rebuild without re-running CMake cannot record a stale commit.
  const std::string src = RCBENCH_SOURCE_DIR;
  std::string commit = run("git -C '" + src + "' rev-parse HEAD 2>/dev/null");
  if (!commit.empty()) {
    j["git_commit"] = commit;
    j["git_dirty"] = !run("git -C '" + src + "' status --porcelain --untracked-files=no 2>/dev/null").empty();
  } else {
    j["git_commit"] = "unknown (not a git checkout)";
  }
  return j;
}

std::string version_line() {
  const nlohmann::json b = build_info();
  std::string line = "rcbench " + b["rcbench_version"].get<std::string>() + ", commit ";
  if (b.contains("git_dirty")) {
    line += b["git_commit"].get<std::string>().substr(0, 12);
    if (b["git_dirty"].get<bool>()) line += " (modified)";
  } else {
    line += "unknown";
  }
  if (b.contains("compiler")) line += ", " + b["compiler"].get<std::string>();
  return line + ", " + b["build_type"].get<std::string>();
}

}  // namespace rcb
