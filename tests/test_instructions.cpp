// The pieces of `rcbench run --metric instructions` that need no valgrind:
// finding strategies with helper threads, the Team hook staying inert
// when not under valgrind, and the counting child's report. (Repeatability under valgrind itself is the
// instructions_repeat test, tests/cli/instructions_repeat.cmake.)

#include <condition_variable>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "harness/commands.h"
#include "harness/engine/helper_threads.h"
#include "strategies/atomic.h"
#include "strategies/plain.h"
#include "tests/test_support.h"
#include "workloads/private_churn.h"
#include "workloads/shared_list.h"

namespace rcb::test {
namespace {

// Plain counts plus one idle thread in the runtime, the shape of buffered's
// commit thread. Test-only: not in the registry.
struct WithHelper {
  static constexpr StrategyInfo info{"with_helper", "plain counts and an idle runtime thread (test only)", false};
  static constexpr std::array<Counter, 0> reported{};

  struct Header {
    std::uint64_t count;
  };

  class Runtime {
   public:
    Runtime() : helper_([this] {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stop_; });
    }) {}
    ~Runtime() { shutdown(); }
    [[nodiscard]] Counters counters() const { return {}; }
    void shutdown() {
      {
        std::lock_guard lock(mu_);
        stop_ = true;
      }
      cv_.notify_all();
      if (helper_.joinable()) helper_.join();
    }

   private:
    std::mutex mu_;
    std::condition_variable cv_;
    bool stop_ = false;
    std::thread helper_;  // last: starts once the members above exist
  };

  class Context : public ContextBase {
   public:
    Context(Runtime&, ThreadIndex idx) : ContextBase(idx) {}
    void attach() {}
    void detach() {}
    void init_header(Object<WithHelper>* o) { o->rc.count = 1; }
    void incref(Object<WithHelper>* o) { ++o->rc.count; }
    void decref(Object<WithHelper>* o) {
      if (--o->rc.count == 0) reclaim<WithHelper>(*this, o);
    }
    void safepoint() {}
    void publish(Object<WithHelper>*) {}
    void enter_blocking() {}
    void leave_blocking() {}
  };
};
static_assert(RefCountStrategy<WithHelper>);

// ThreadSanitizer's runtime starts a background thread of its own, which
// /proc/self/task counts; instruction counting is refused in sanitizer builds
// anyway, so these tests only mean something without one.
constexpr const char* kTsanThread = "ThreadSanitizer runs a thread of its own";

TEST(HelperThreads, ARuntimeThreadIsFound) {
  if (kThreadSanitizer) GTEST_SKIP() << kTsanThread;
  EXPECT_EQ((helper_threads<WithHelper, SharedList>(Size::quick)), 1u);
}

TEST(HelperThreads, StrategiesWithoutOneHaveNone) {
  if (kThreadSanitizer) GTEST_SKIP() << kTsanThread;
  EXPECT_EQ((helper_threads<Plain, SharedList>(Size::quick)), 0u);
  EXPECT_EQ((helper_threads<Atomic, PrivateChurn>(Size::quick)), 0u);
}

TEST(HelperThreads, ThreadsAreCountedFromProc) {
  if (kThreadSanitizer) GTEST_SKIP() << kTsanThread;
  const std::size_t before = thread_count();
  ASSERT_GE(before, 1u);
  std::mutex mu;
  std::condition_variable cv;
  bool go = false;
  std::thread t([&] {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return go; });
  });
  EXPECT_EQ(thread_count(), before + 1);
  {
    std::lock_guard lock(mu);
    go = true;
  }
  cv.notify_all();
  t.join();
}

// Natively the callgrind client requests do nothing: counting must not
// change what an iteration computes.
TEST(CountInstructionsHook, InertOutsideValgrind) {
  TeamConfig cfg;
  Team<Atomic, PrivateChurn> team(cfg);
  team.count_instructions(true);
  for (int i = 0; i < 2; ++i) EXPECT_EQ(team.iterate().checksum, team.expected_checksum());
  team.count_instructions(false);
  EXPECT_EQ(team.finish().live(), 0);
}

// The child (`rcbench _instructions`) run natively, without valgrind: its
// report carries the wall time of the counted iterations, which the parent
// writes as real_time, so that real_time is a time and never a count.
TEST(CountingChild, ReportsTheTimedRegionsWallTime) {
  // Sanitizer builds refuse the metric and compile no counting child
  // (harness/instructions.cpp); they allocate with malloc, which says so.
  if (kSystemAllocator) GTEST_SKIP() << "a sanitizer build has no counting child";
  ::testing::internal::CaptureStdout();
  const int status = cmd_count_instructions("gil", "fib", Size::quick, 2);
  const std::string out = ::testing::internal::GetCapturedStdout();
  ASSERT_EQ(status, kExitOk) << out;
  const std::string last = out.substr(out.rfind('{'));
  const auto reply = nlohmann::json::parse(last);
  EXPECT_EQ(reply.at("iterations"), 2);
  EXPECT_GT(reply.at("items_per_thread").get<double>(), 0);
  ASSERT_TRUE(reply.contains("seconds")) << last;
  EXPECT_GT(reply.at("seconds").get<double>(), 0);
  EXPECT_LT(reply.at("seconds").get<double>(), 60);  // seconds, not nanoseconds
}

}  // namespace
}  // namespace rcb::test
