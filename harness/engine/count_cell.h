#pragma once
// The counting child of `--metric instructions`: one cell, one warm-up,
// `iterations` counted under callgrind. It counts what wall time times: the
// instantiation without counters, Team<Uncounted<S>, W>, whose timed region
// (Team::run_command) is compiled in the strategy's unit with the timed
// kernels, so it is the same code.

#include "harness/engine/team.h"

namespace rcb {

// Runs the cell `make` builds and prints its figures as one JSON line;
// defined in count_cell.cpp.
int count_cell(Size size, int iterations, const TeamFactory& make);

template <class S, template <class> class W>
int count_cell(Size size, int iterations) {
  return count_cell(size, iterations, Team<Uncounted<S>, W>::factory());
}

}  // namespace rcb
