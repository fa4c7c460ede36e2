#include "harness/engine/count_cell.h"

#include <unistd.h>

#include <cstdio>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "harness/commands.h"

namespace rcb {

int count_cell(Size size, int iterations, const TeamFactory& make) {
  TeamConfig cfg;
  cfg.threads = 1;
  cfg.size = size;
  const std::unique_ptr<TeamBase> team = make(cfg);
  const auto check = [&](const IterationResult& r) {
    if (std::string wrong = team->iteration_error(r); !wrong.empty()) throw std::runtime_error(wrong);
  };
  // The first iteration after setup pays for cold allocator pages and
  // first-touch faults; it is not the steady state being compared.
  check(team->iterate());
  team->count_instructions(true);
  double seconds = 0;
  for (int i = 0; i < iterations; ++i) {
    const IterationResult r = team->iterate();
    check(r);
    seconds += r.seconds;
  }
  team->count_instructions(false);
  const std::uint64_t items = team->items_per_thread(), expected = team->expected_checksum();
  const RunTotals totals = team->finish();
  if (totals.live() != 0)
    throw std::runtime_error(std::to_string(totals.live()) + " objects still live after the run");
  std::printf("%s\n", nlohmann::json{{"iterations", iterations},
                                     {"items_per_thread", items},
                                     {"checksum", hex(expected)},
                                     {"seconds", seconds},
                                     {"pid", static_cast<long>(getpid())}}
                          .dump()
                          .c_str());
  return kExitOk;
}

}  // namespace rcb
