// Attacks on buffered reference counting: the ordering rule (a decref must
// never overtake an incref that happened before it on another thread), the
// commit thread freeing deep structures, shutdown with logs still pending,
// backpressure with threads parked, and logging in a forked child. This is
// not a benchmark.

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "strategies/buffered.h"
#include "strategies/chaos.h"
#include "tests/test_support.h"
#include "tests/thread_support.h"

namespace rcb::test {
namespace {

using std::chrono::steady_clock;
using namespace std::chrono_literals;

// list(range(n))
template <class S>
Object<S>* int_list(typename S::Context& ctx, std::uint32_t n) {
  Object<S>* list = new_object<S>(ctx, Kind::list, n);
  for (std::uint32_t i = 0; i < n; ++i) set_item(list, i, new_int<S>(ctx, i));
  return list;
}

// `for x in list: pass`, `passes` times: an incref and a decref per item,
// and a safepoint every `safepoint_every` items (0: never).
template <class S>
void touch_items(typename S::Context& ctx, Object<S>* list, int passes,
                 std::uint32_t safepoint_every = 0) {
  for (int p = 0; p < passes; ++p)
    for (std::uint32_t i = 0; i < list->size; ++i) {
      ctx.incref(list->item(i));
      ctx.decref(hide(list->item(i)));
      if (safepoint_every != 0 && i % safepoint_every == 0) ctx.safepoint();
    }
}

// The rule's hard case. B stops at epoch e; A moves on to e+1 (which the
// protocol allows: they are one apart), increfs x there and hands it to B,
// which decrefs at once and then keeps acknowledging. When the committer
// closes e+1, every log of epoch e is in, but A's epoch-(e+1) incref is
// still in A's hands: a committer that applied decrefs of e as soon as the
// increfs of e were in would free x here, while A still holds it.
TEST(BufferedOrdering, DecrefWaitsForIncrefsOfTheNextEpoch) {
  using S = Buffered;
  S::Runtime rt;
  Turns turns;
  Object<S>* x = nullptr;
  std::atomic<Object<S>*> handed{nullptr};
  std::atomic<std::uint64_t> b_epoch{0};
  std::size_t live_when_checked = 0;
  bool readable = false;
  std::uint64_t committer_epoch_seen = 0;

  auto a = [&](S::Context& ctx) {
    x = new_int<S>(ctx, 42);
    turns.reach(1);
    turns.await(2);  // B holds still at b_epoch
    const std::uint64_t e = b_epoch.load();
    while (ctx.epoch() != e + 1) {
      ctx.safepoint();
      std::this_thread::sleep_for(50us);
    }
    ctx.incref(x);  // logged in epoch e+1, and kept in A's log from here on
    handed.store(x, std::memory_order_release);
    turns.reach(3);
    turns.await(4);  // no safepoint: A's epoch-(e+1) log stays with A
    live_when_checked = ObjectTracker::instance().live();
    readable = x->kind == Kind::int_ && x->value.i == 42;  // ASan: use after free if freed early
    ctx.decref(x);
  };
  auto b = [&](S::Context& ctx) {
    turns.await(1);
    ctx.safepoint();
    const std::uint64_t e = ctx.epoch();
    b_epoch.store(e);
    turns.reach(2);
    turns.await(3);  // no safepoint: B stays at e while A moves to e+1
    ctx.decref(handed.load(std::memory_order_acquire));  // logged in epoch e
    // Hand the decref over (ack e+1), let the committer close e+1 and give
    // it time to do anything else it might.
    const auto until = steady_clock::now() + 30ms;
    while (rt.epoch() < e + 2 || steady_clock::now() < until) {
      ctx.safepoint();
      std::this_thread::sleep_for(100us);
    }
    committer_epoch_seen = rt.epoch();
    turns.reach(4);
  };
  EXPECT_EQ(run_on_threads<S>(rt, a, b), 0);
  EXPECT_EQ(live_when_checked, 1u) << "x was freed while A still held it";
  EXPECT_TRUE(readable);
  // The test is only meaningful if the committer really closed e+1 (the
  // close at which a one-epoch-too-eager committer would have freed x) and
  // could not go further while A held its epoch.
  EXPECT_EQ(committer_epoch_seen, b_epoch.load() + 2);
  EXPECT_EQ(ObjectTracker::instance().live(), 0u);
}

// The simple case, many times with random timing: A increfs x and hands it
// over, B drops it at once (sometimes handing its log straight over), A
// reads x afterwards. Stress tuning: 8-entry logs, 100 us epochs, yields.
TEST(BufferedOrdering, ReferenceDroppedAtOnceByTheReceiverNeverFreesTheGiversObject) {
  using S = StressBuffered;
  constexpr int kTrials = 1500;
  S::Runtime rt;
  Mailbox<S> box;
  std::uint64_t bad = 0;
  auto a = [&](S::Context& ctx) {
    Chaos<true> rng(11);
    for (int i = 0; i < kTrials; ++i) {
      Object<S>* x = new_int<S>(ctx, i);
      ctx.incref(x);
      box.send(ctx, x);
      for (auto n = rng.next() % 6; n > 0; --n) {
        ctx.safepoint();
        if (rng.next() % 4 == 0) std::this_thread::sleep_for(20us);
      }
      if (hide(x)->kind != Kind::int_ || x->value.i != i) ++bad;
      ctx.decref(x);
    }
  };
  auto b = [&](S::Context& ctx) {
    for (int i = 0; i < kTrials; ++i) {
      ctx.decref(box.receive(ctx));
      if (i % 3 == 0) {  // hand the decref over now
        ctx.enter_blocking();
        ctx.leave_blocking();
      }
    }
  };
  EXPECT_EQ(run_on_threads<S>(rt, a, b), 0);
  EXPECT_EQ(bad, 0u);
  EXPECT_EQ(ObjectTracker::instance().live(), 0u);
}

// A chain of lists 300,000 deep, built on one thread, dropped on another:
// one logged decref frees all of it on the commit thread, iteratively.
TEST(BufferedCommitThread, FreesADeepStructureDroppedOnAnotherThread) {
  using S = Buffered;
  constexpr std::uint32_t kDepth = 300'000;
  S::Runtime rt;
  Mailbox<S> box;
  std::int64_t read_back = -1;
  auto a = [&](S::Context& ctx) {
    Object<S>* inner = nullptr;
    for (std::uint32_t d = 0; d < kDepth; ++d) {
      Object<S>* level = new_object<S>(ctx, Kind::list, 2);  // [inner, d]
      set_item(level, 0, inner);
      set_item(level, 1, new_int<S>(ctx, d));
      inner = level;
    }
    box.send(ctx, inner);
  };
  auto b = [&](S::Context& ctx) {
    Object<S>* top = box.receive(ctx);
    Object<S>* second = top->item(0);
    ctx.incref(second);
    ctx.decref(top);  // top dies; second lives on through our reference
    ctx.safepoint();
    read_back = second->item(1)->value.i;
    ctx.decref(second);
  };
  EXPECT_EQ(run_on_threads<S>(rt, a, b), 0);
  EXPECT_EQ(read_back, kDepth - 2);
  EXPECT_EQ(rt.objects_freed(), 2u * kDepth);
  const Counters c = rt.counters();
  // Every object is freed by the committer, after its last reference went:
  // all 2 * kDepth frees are late, children included. When second's last
  // reference goes, everything below it dies with it, so the exact peak of
  // dead-but-allocated objects holds at least that chain (and top with its
  // int too, if the committer had not freed them yet).
  EXPECT_EQ(c[Counter::delayed_frees], 2u * kDepth);
  EXPECT_GE(c[Counter::peak_pending_frees], 2u * (kDepth - 1));
  EXPECT_LE(c[Counter::peak_pending_frees], 2u * kDepth);
  EXPECT_EQ(c[Counter::log_entries], 3u);
  EXPECT_GE(c[Counter::epochs], 1u);
  EXPECT_EQ(ObjectTracker::instance().live(), 0u);
}

// Threads that never reach a safepoint: an epoch can close only while all
// of them are parked in the mailbox, so when they detach most of what they
// logged is still pending (or still theirs), and shutdown() must apply it.
TEST(BufferedCommitThread, ShutdownAppliesLogsStillPending) {
  using S = Buffered;
  constexpr std::uint32_t kItems = 500;
  constexpr int kPasses = 12;  // 12,000 log entries a thread: several full logs
  for (int round = 0; round < 5; ++round) {
    S::Runtime rt;
    Mailbox<S> box1, box2;
    auto maker = [](Mailbox<S>& box) {
      return [&box](S::Context& ctx) {
        Object<S>* list = int_list<S>(ctx, kItems);
        touch_items<S>(ctx, list, kPasses);
        ctx.incref(list);
        box.send(ctx, list);
        ctx.decref(list);
      };
    };
    auto taker = [](Mailbox<S>& box) {
      return [&box](S::Context& ctx) {
        Object<S>* list = box.receive(ctx);
        touch_items<S>(ctx, list, 1);
        ctx.decref(list);
      };
    };
    EXPECT_EQ(run_on_threads<S>(rt, maker(box1), taker(box1), maker(box2), taker(box2)), 0);
    EXPECT_EQ(rt.objects_freed(), 2u * (kItems + 1));
    EXPECT_EQ(ObjectTracker::instance().live(), 0u);
  }
}

// A pool of three 4-entry logs: threads that log faster than the committer
// recycles must wait, the pool must never grow, and a thread parked in
// enter_blocking() (waiting for the others) must not hold the epochs back.
struct TinyPoolTuning : BufferedTuning {
  static constexpr std::string_view kName = "buffered_tiny_pool";
  static constexpr std::size_t kLogEntries = 4;
  static constexpr std::size_t kMaxLogs = 3;
  static constexpr std::chrono::microseconds kEpochInterval{200};
};

TEST(BufferedBackpressure, WritersWaitThePoolNeverGrowsAndParkedThreadsDoNotStallIt) {
  using S = BasicBuffered<TinyPoolTuning>;
  constexpr std::uint32_t kItems = 64;
  S::Runtime rt;
  Turns turns;
  auto churn = [&](S::Context& ctx, int passes) {
    Object<S>* list = int_list<S>(ctx, kItems);
    touch_items<S>(ctx, list, passes, 16);
    ctx.decref(list);
  };
  auto worker = [&](S::Context& ctx) { churn(ctx, 40); };
  auto waiter = [&](S::Context& ctx) {
    churn(ctx, 2);
    turns.await(1, ctx);  // parked while the others hit backpressure
    churn(ctx, 2);
  };
  auto last = [&](S::Context& ctx) {
    churn(ctx, 40);
    turns.reach(1);
  };
  EXPECT_EQ(run_on_threads<S>(rt, waiter, worker, last), 0);
  EXPECT_LE(rt.logs_allocated(), TinyPoolTuning::kMaxLogs);
  EXPECT_GT(rt.backpressure_waits(), 0u);
  EXPECT_EQ(ObjectTracker::instance().live(), 0u);
}

// A forked child has no commit thread, and the mutex may have been held by
// a thread that did not come along. after_fork_child() must make refcount
// ops safe anyway: many logs' worth of them, safepoints and blocking calls
// included, without ever waiting. A hang would trip the child's alarm.
TEST(BufferedFork, ChildCountsWithoutACommitThread) {
#if defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "ThreadSanitizer does not support fork() in a multi-threaded process";
#else
  using S = Buffered;
  constexpr std::uint32_t kItems = 64;
  S::Runtime rt;
  int child_status = -1;
  auto parent = [&](S::Context& ctx) {
    Object<S>* list = int_list<S>(ctx, kItems);
    ctx.incref(list->item(0));  // leave something in our logs at the fork
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::alarm(30);
      ctx.after_fork_child();
      std::int64_t sum = 0;
      constexpr int kPasses = 4 * BufferedTuning::kLogEntries / kItems;  // several logs' worth
      for (int p = 0; p < kPasses; ++p) {
        for (std::uint32_t i = 0; i < kItems; ++i) {
          Object<S>* item = list->item(i);
          ctx.incref(item);
          sum += hide(item)->value.i;
          ctx.decref(item);
          ctx.safepoint();
        }
        ctx.enter_blocking();
        ctx.leave_blocking();
      }
      const std::int64_t expected = std::int64_t{kPasses} * kItems * (kItems - 1) / 2;
      ::_exit(sum == expected ? 0 : 1);
    }
    ASSERT_GT(pid, 0);
    ctx.enter_blocking();
    ::waitpid(pid, &child_status, 0);
    ctx.leave_blocking();
    ctx.decref(list->item(0));
    ctx.decref(list);
  };
  EXPECT_EQ(run_on_threads<S>(rt, parent), 0);
  EXPECT_TRUE(WIFEXITED(child_status) && WEXITSTATUS(child_status) == 0)
      << "child status " << child_status;
  EXPECT_EQ(ObjectTracker::instance().live(), 0u);
#endif
}

}  // namespace
}  // namespace rcb::test
