#pragma once
// The clock that epoch-based strategies (refcache) measure their epoch
// interval on: wall time, except in the counting child of `rcbench run
// --metric instructions`.
//
// Why: instruction counts must repeat exactly to gate CI, and an epoch that
// may advance once 1 ms of wall time has passed advances at a different
// point of the work in every run, so its flushes and reviews, and the
// count, move by a few tenths of a percent from run to run. The counting
// child therefore switches the process to a clock of work done: each poll
// stands for the kSafepointsPerPoll safepoints between polls, each taken as
// kNominalSafepoint apart (about one item of the micro workloads). The
// instruction figure of such a strategy thus measures epochs of a fixed
// length in work, not in time (docs/regressions.md).
//
// The switch is read once, when a runtime is made, and only on the cold
// poll path after that: the incref/decref path never sees it.

#include <chrono>

namespace rcb {

class EpochClock {
 public:
  static constexpr std::chrono::nanoseconds kNominalSafepoint{10};

  // Process-wide; set before any runtime is made (the counting child does).
  static void count_work(bool on) { flag() = on; }
  [[nodiscard]] static bool counting_work() { return flag(); }

 private:
  static bool& flag() {
    static bool on = false;
    return on;
  }
};

}  // namespace rcb
