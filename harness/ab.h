#pragma once
// `rcbench ab`: paired, interleaved A/B of two rcbench builds
// (harness/ab.cpp), and the hidden `rcbench _serve` each side runs as.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "harness/session.h"

namespace rcb {

struct AbOptions {
  std::string base, head;               // rcbench binaries, or build directories holding one
  std::vector<std::string> forwarded;   // the selection options, passed to both sides' `_serve` as given
  RunOptions selection;                 // the same, parsed: checked here before either side starts
  int rounds = 0;                       // 0: enough for the adjustment over the cells (ab.cpp)
  double alpha = 0.05;                  // family-wise, over the cells (Holm)
  // The same default as `compare`'s for wall time: a change smaller than
  // this is "same" however significant, so that two processes of one binary,
  // whose memory layouts differ, are not told apart.
  double threshold = 0.05;
  std::string format = "console";       // console, md or json
  std::string out;                      // also write the JSON here
  std::optional<std::uint64_t> seed;    // the rounds' cell order
};

int cmd_ab(const AbOptions& opt);
// The serving side: expands `opt` as `rcbench run` would, then answers
// requests on standard input until it closes.
int cmd_serve(const RunOptions& opt);

}  // namespace rcb
