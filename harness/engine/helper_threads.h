#pragma once
// Does a strategy's runtime run threads of its own (a commit thread)?
//
// Asked generically, without a flag each strategy must remember to set: a
// one-thread Team of the cell is built and iterated once natively, and this
// process's threads are counted (/proc/self/task) before and during. Used
// by `rcbench run --metric instructions`, which cannot count such cells
// repeatably (see harness/instructions.cpp).

#include <dirent.h>

#include <cstddef>

#include "harness/engine/team.h"

namespace rcb {

[[nodiscard]] inline std::size_t thread_count() {
  std::size_t n = 0;
  if (DIR* d = opendir("/proc/self/task")) {
    while (const dirent* e = readdir(d))
      if (e->d_name[0] != '.') ++n;
    closedir(d);
  }
  return n;
}

// Threads running besides the caller and the team's one worker, for the
// cell `make` builds (defined in measure.cpp). The caller must not start or
// stop threads of its own meanwhile.
[[nodiscard]] std::size_t helper_threads(Size size, const TeamFactory& make);

template <class S, template <class> class W>
[[nodiscard]] std::size_t helper_threads(Size size) {
  return helper_threads(size, Team<S, W>::factory());
}

}  // namespace rcb
