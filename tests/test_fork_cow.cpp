// fork_cow's process handling and the physics it exists to show: children
// are always reaped, a child that fails fails the run with a message naming
// what happened, a GIL holder's child can run safepoints, and a child
// dirties memory where its strategy keeps counts: the whole graph under
// `plain`/`atomic`, almost nothing under `frozen`, the count pages under
// `remote`. Not run under ThreadSanitizer (see test_support.h).
// This is not a benchmark.

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "strategies/registry.h"
#include "tests/test_support.h"
#include "workloads/fork_cow.h"

namespace rcb::test {
namespace {

class ForkCowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (kThreadSanitizer) GTEST_SKIP() << "fork in a threaded process: not under ThreadSanitizer";
  }
};

bool no_children_left() {
  errno = 0;
  return ::waitpid(-1, nullptr, WNOHANG) == -1 && errno == ECHILD;
}

double figure(const RunTotals& t, std::string_view name) {
  for (const auto& [n, v] : t.workload_figures)
    if (n == name) return v;
  ADD_FAILURE() << "no workload figure " << name;
  return 0;
}

TEST_F(ForkCowTest, EveryChildIsReapedAndCounted) {
  TeamConfig cfg;
  cfg.threads = 2;
  Team<Atomic, ForkCow> team(cfg);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(team.iterate().checksum, team.expected_checksum());
    EXPECT_TRUE(no_children_left()) << "iteration " << i << " left a child unreaped";
  }
  const RunTotals totals = team.finish();
  EXPECT_EQ(figure(totals, "children"), 4.0);
  EXPECT_EQ(totals.live(), 0);
  EXPECT_EQ(ObjectTracker::instance().live(), 0u);
}

// ForkCow whose children all commit fault F.
template <ChildFault F>
struct Failing {
  template <class S>
  struct Workload : ForkCow<S> {
    Workload(typename S::Context& ctx, Size size, std::uint32_t threads)
        : ForkCow<S>(ctx, size, threads) {
      this->fault_ = F;
    }
  };
};

template <class S, ChildFault F>
void expect_run_fails_with(std::uint32_t threads, const std::string& message) {
  TeamConfig cfg;
  cfg.threads = threads;
  {
    Team<S, Failing<F>::template Workload> team(cfg);
    try {
      (void)team.iterate();
      ADD_FAILURE() << "a failing child did not fail the run";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("fork_cow: child process "), std::string::npos) << e.what();
    }
    EXPECT_TRUE(no_children_left());
    EXPECT_THROW((void)team.finish(), std::runtime_error);  // the error stays the run's
  }
  EXPECT_EQ(ObjectTracker::instance().live(), 0u);
}

TEST_F(ForkCowTest, AChildThatExitsNonZeroFailsTheRun) {
  expect_run_fails_with<Atomic, ChildFault::exit_nonzero>(1, "exited with status 3");
}

TEST_F(ForkCowTest, AChildKilledBySignalFailsTheRun) {
  expect_run_fails_with<Atomic, ChildFault::killed>(2, "killed by signal 9");
}

TEST_F(ForkCowTest, AChildThatSendsAShortReportFailsTheRun) {
  expect_run_fails_with<Atomic, ChildFault::short_report>(1, "sent 8 of 16 report bytes");
}

// Under the GIL the failing thread must still hand the lock on, or the
// other threads would wait for it forever.
TEST_F(ForkCowTest, AFailingChildUnderTheGilFailsTheRunWithoutDeadlock) {
  expect_run_fails_with<Gil, ChildFault::exit_nonzero>(3, "exited with status 3");
}

// The child of a GIL holder inherits a copy of the lock state that still
// lists the parent's waiting thread and its drop request. Honouring that
// request in the child would wait forever for a thread that does not exist
// there; after_fork_child() must make the child the lock's only user.
TEST_F(ForkCowTest, TheChildOfAGilHolderRunsSafepointsAndBlockingCalls) {
  Gil::Runtime rt(std::chrono::microseconds(1000));
  Gil::Context holder(rt, ThreadIndex{0});
  holder.attach();
  std::atomic<bool> waiter_ran{false};
  std::thread waiter([&] {
    Gil::Context c(rt, ThreadIndex{1});
    c.attach();
    waiter_ran = true;
    c.detach();
  });
  while (!rt.drop_requested()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::uint64_t got = 0;
  try {
    got = run_in_forked_child(holder, [&] {
            ::alarm(10);  // a deadlocked child dies by SIGALRM and fails the test
            holder.safepoint();
            holder.enter_blocking();
            holder.leave_blocking();
            holder.safepoint();
            return std::uint64_t{42};
          }).checksum;
  } catch (const std::exception& e) {
    ADD_FAILURE() << e.what();
  }
  EXPECT_EQ(got, 42u);
  holder.detach();
  waiter.join();
  EXPECT_TRUE(waiter_ran);
}

struct Damage {
  double kib_per_child;
  double graph_kib;
  double objects;
  double slot_page_kib;
};

template <class S>
Damage measure() {
  TeamConfig cfg;
  cfg.threads = 1;
  Team<S, ForkCow> team(cfg);
  for (int i = 0; i < 2; ++i) EXPECT_EQ(team.iterate().checksum, team.expected_checksum());
  const double objects = static_cast<double>(team.items_per_thread() + 1);
  const RunTotals t = team.finish();
  EXPECT_EQ(t.live(), 0);
  const Damage d{figure(t, "kib_dirtied_per_child"), figure(t, "graph_mib") * 1024, objects,
                 static_cast<double>(t.counters[Counter::slot_pages]) * 64};
  std::printf("[ fork_cow ] %-14s %9.0f KiB dirtied per child, graph %.0f KiB\n",
              std::string(S::info.name).c_str(), d.kib_per_child, d.graph_kib);
  ::testing::Test::RecordProperty(std::string(S::info.name) + "_kib_dirtied_per_child",
                                  std::to_string(d.kib_per_child));
  return d;
}

// Coarse bounds (factors of 2 to 4 where the physics gives 4 to 100), so
// allocator and kernel details cannot flake them.
TEST_F(ForkCowTest, ChildrenDirtyMemoryWhereTheCountsLive) {
  const Damage plain = measure<Plain>();
  const Damage atomic = measure<Atomic>();
  const Damage frozen = measure<Frozen>();
  const Damage remote = measure<Remote>();
  const Damage padded = measure<RemotePadded>();
  const Damage buffered = measure<Buffered>();
  const Damage biased = measure<Biased>();

  // A count in the header: every object page is copied. Buffered's child
  // applies its own logs (no commit thread survives fork), so it writes the
  // headers too, only later.
  for (const Damage& d : {plain, atomic, buffered, biased}) EXPECT_GT(d.kib_per_child, d.graph_kib / 2);
  // Frozen: no count written, only the child's stack and context.
  EXPECT_LT(frozen.kib_per_child, atomic.kib_per_child / 4);
  EXPECT_LT(frozen.kib_per_child, plain.kib_per_child / 4);
  // Remote: about the count pages, 8 or 64 bytes a touched object.
  for (const auto& [d, cell] : {std::pair{remote, 8.0}, std::pair{padded, 64.0}}) {
    EXPECT_GT(d.kib_per_child, d.objects * cell / 1024 / 2);
    EXPECT_LT(d.kib_per_child, d.slot_page_kib + 1024);
  }
  EXPECT_LT(remote.kib_per_child, atomic.kib_per_child / 2);
}

}  // namespace
}  // namespace rcb::test
