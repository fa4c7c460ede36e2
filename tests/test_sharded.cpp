// Attacks on sharded (percpu_ref) counting: where each op lands, that a kill
// waits for every running thread before it sums the slots, that references
// counted in other threads' slots (also of a thread that has exited) survive
// the switch to atomic, and kills racing with increfs and decrefs on other
// threads, which must neither lose nor double a count, and free each object
// once, never early. This is not a benchmark.

#include <barrier>
#include <cstdint>
#include <string_view>
#include <thread>
#include <vector>

#include "strategies/sharded.h"
#include "tests/test_support.h"
#include "tests/thread_support.h"
#include "workloads/hot_object.h"

namespace rcb::test {
namespace {

// Random yields inside read-side sections (between the mode load and the
// slot write), in kills, folds and at safepoints.
struct StressShardedTuning : ShardedTuning {
  static constexpr std::string_view kName = "sharded_stress";
  static constexpr bool kChaos = true;
};
using StressSharded = BasicSharded<StressShardedTuning>;

using S = Sharded;
using Obj = Object<S>;

std::uintptr_t addr(const void* p) { return reinterpret_cast<std::uintptr_t>(p); }

// Private objects count in the header; a published one and what it holds
// count in the calling thread's slot, in an arena of that thread's own; a
// kill is folded only once every running thread has acknowledged it, and
// the fold of a container kills its children in turn.
TEST(Sharded, OpsLandWhereTheModeSaysAndAKillWaitsForEveryRunningThread) {
  S::Runtime rt;
  S::Context a(rt, ThreadIndex{0});
  S::Context b(rt, ThreadIndex{1});
  a.attach();
  b.attach();

  Obj* x = new_int<S>(a, 1);
  a.incref(x);
  a.decref(x);
  EXPECT_EQ(x->rc.mode.load(), S::kPrivate);
  EXPECT_EQ(x->rc.count.load(), 1u);
  EXPECT_EQ(a.counters[Counter::slot_ops], 0u);
  EXPECT_EQ(a.counters[Counter::atomic_rmw], 0u);
  a.decref(x);
  EXPECT_EQ(a.freed, 1u);

  Obj* t = new_object<S>(a, Kind::tuple, 1);
  set_item(t, 0, new_int<S>(a, 42));
  a.publish(t);
  Obj* child = t->item(0);
  ASSERT_LT(t->rc.mode.load(), S::kFirstMode);
  ASSERT_LT(child->rc.mode.load(), S::kFirstMode);
  EXPECT_NE(t->rc.slot, child->rc.slot);
  a.incref(t);
  b.incref(t);
  b.incref(t);
  EXPECT_EQ(rt.slot_of(ThreadIndex{0}, t)->load(), 1);
  EXPECT_EQ(rt.slot_of(ThreadIndex{1}, t)->load(), 2);
  // Different mappings: not even an OS page in common.
  const std::uintptr_t d = addr(rt.slot_of(ThreadIndex{0}, t)) > addr(rt.slot_of(ThreadIndex{1}, t))
                               ? addr(rt.slot_of(ThreadIndex{0}, t)) - addr(rt.slot_of(ThreadIndex{1}, t))
                               : addr(rt.slot_of(ThreadIndex{1}, t)) - addr(rt.slot_of(ThreadIndex{0}, t));
  EXPECT_GE(d, 4096u);
  EXPECT_EQ(rt.references(t), 4);
  EXPECT_EQ(a.counters[Counter::slot_ops], 1u);
  EXPECT_EQ(b.counters[Counter::slot_ops], 2u);
  const Counters rc = rt.counters();
  EXPECT_EQ(rc[Counter::sharded_objects], 2u);
  EXPECT_EQ(rc[Counter::slot_bytes], S::kChunk * sizeof(S::Cell) * 2);

  b.decref(t);
  b.decref(t);
  a.decref(t);  // a's own reference: a slot op
  EXPECT_EQ(a.counters[Counter::kills], 0u);
  a.decref(t);  // the publisher's reference, and a's slot is 0: the kill
  EXPECT_EQ(a.counters[Counter::kills], 1u);
  EXPECT_EQ(t->rc.mode.load(), S::kDying);
  a.safepoint();  // starts the grace period; b has not acknowledged it
  EXPECT_EQ(t->rc.mode.load(), S::kDying) << "summed while b could still be writing its slot";
  EXPECT_EQ(a.freed, 1u);
  b.safepoint();  // b acknowledges
  a.safepoint();  // folds: 0 references, t is freed, and its child is killed
  EXPECT_EQ(a.freed, 2u);
  EXPECT_EQ(child->rc.mode.load(), S::kDying);
  b.safepoint();
  a.safepoint();
  EXPECT_EQ(a.freed, 3u);
  EXPECT_EQ(a.counters[Counter::kills], 2u);
  EXPECT_EQ(a.counters[Counter::grace_periods], 2u);
  EXPECT_EQ(a.counters[Counter::delayed_frees], 2u);

  b.detach();
  a.detach();
  EXPECT_EQ(a.allocated, a.freed);
  EXPECT_EQ(ObjectTracker::instance().live(), 0u);
}

// Threads 1 and 2 take references in their slots; thread 0 drops the
// publisher's reference (the kill) while they are blocked. The fold must
// count all eight, and the object must die at the last drop, not before.
TEST(Sharded, ReferencesInOtherThreadsSlotsAreSummedAtTheKill) {
  S::Runtime rt;
  Turns turns;
  Obj* o = nullptr;
  std::int64_t after_kill = -1, after_first = -1, read = -1;
  auto killer = [&](S::Context& ctx) {
    o = new_object<S>(ctx, Kind::tuple, 1);
    set_item(o, 0, new_int<S>(ctx, 7));
    ctx.publish(o);
    turns.reach(1);
    turns.await(3, ctx);
    ctx.decref(o);
    EXPECT_EQ(o->rc.mode.load(), S::kDying);
    // The others acknowledge by blocking (they may not be blocked yet).
    while (o->rc.mode.load() != S::kAtomic) {
      ctx.safepoint();
      std::this_thread::yield();
    }
    after_kill = rt.references(o);
    turns.reach(4);
  };
  auto three = [&](S::Context& ctx) {
    turns.await(1, ctx);
    for (int i = 0; i < 3; ++i) ctx.incref(o);
    turns.reach(2);
    turns.await(4, ctx);
    for (int i = 0; i < 3; ++i) ctx.decref(o);
    after_first = rt.references(o);
    turns.reach(5);
  };
  auto five = [&](S::Context& ctx) {
    turns.await(2, ctx);
    for (int i = 0; i < 5; ++i) ctx.incref(o);
    turns.reach(3);
    turns.await(5, ctx);
    read = hide(o)->item(0)->value.i;
    for (int i = 0; i < 5; ++i) ctx.decref(o);
  };
  const ThreadsResult r = run_threads<S>(rt, Launch::together, killer, three, five);
  EXPECT_EQ(after_kill, 8);
  EXPECT_EQ(after_first, 5);
  EXPECT_EQ(read, 7);
  EXPECT_EQ(r.freed[0], 0u);
  EXPECT_EQ(r.freed[1], 0u);
  EXPECT_EQ(r.freed[2], 2u);  // the tuple and its int, at the last drop
  EXPECT_EQ(r.counters[0][Counter::kills], 1u);
  EXPECT_EQ(r.counters[2][Counter::kills], 1u);  // the int, when the tuple's free dropped it
  EXPECT_EQ(r.live, 0);
  EXPECT_EQ(ObjectTracker::instance().live(), 0u);
}

// Each thread runs after the previous one exited. The maker publishes an
// int; a second thread takes two references (for the third) and exits, its
// slot still holding them; the third drops all three. The first drop kills
// (its own slot is zero), and the fold must find the exited thread's two.
TEST(Sharded, CountsLeftInAnExitedThreadsSlotAreSummed) {
  S::Runtime rt;
  Obj* o = nullptr;
  std::int64_t after_kill = -1;
  auto maker = [&](S::Context& ctx) {
    o = new_int<S>(ctx, 3);
    ctx.publish(o);
  };
  auto taker = [&](S::Context& ctx) {
    ctx.incref(o);
    ctx.incref(o);
  };
  auto dropper = [&](S::Context& ctx) {
    ctx.decref(o);  // the kill
    ctx.safepoint();  // nobody else is running: folded at once
    EXPECT_EQ(o->rc.mode.load(), S::kAtomic);
    after_kill = rt.references(o);
    ctx.decref(o);
    ctx.decref(o);  // the last reference: freed here
  };
  const ThreadsResult r = run_threads<S>(rt, Launch::one_after_another, maker, taker, dropper);
  EXPECT_EQ(after_kill, 2);
  EXPECT_EQ(r.freed[2], 1u);
  EXPECT_EQ(r.live, 0);
  EXPECT_EQ(ObjectTracker::instance().live(), 0u);
}

// The kill's epoch bump is a release, and a safepoint's acknowledgement an
// acquire: a thread that acknowledged the kill's epoch sees everything the
// killer did before the bump, the CAS that marked the object dying above
// all (otherwise its next op could write a slot the killer has summed).
// That CAS and every mode load are atomics, so ThreadSanitizer cannot see
// a missing edge through them, and on x86 every memory order of the bump
// is the same lock xadd, so no release run can either. Here a plain write
// by the killer just before its kill stands in for the CAS: the reader's
// only ordering with it is the bump its safepoint acknowledges (it learns
// of the bump through a relaxed load, and the tracker's mutex is not taken
// in between). A relaxed bump leaves the write and the read unordered,
// which ThreadSanitizer reports as a data race (tsan preset); in release
// builds the test checks only the value.
TEST(Sharded, AThreadThatAcknowledgesAKillsEpochSeesWhatTheKillerDidBeforeIt) {
  S::Runtime rt;
  Turns turns;
  Obj* x = nullptr;
  std::uint64_t epoch_before = 0;
  std::int64_t written_before_kill = 0;  // plain: ordered only by the bump
  std::int64_t seen = -1;
  std::uint64_t killer_freed = 0;
  auto killer = [&](S::Context& ctx) {
    x = new_int<S>(ctx, 3);
    ctx.publish(x);  // its base reference is ours, counted in no slot
    epoch_before = rt.epoch().load(std::memory_order_relaxed);
    turns.reach(1);
    turns.await(2);             // the reader is online; nothing orders us before it from here
    written_before_kill = 42;
    ctx.decref(x);              // our slot is at zero: the kill
    ctx.safepoint();            // starts the grace period: the bump
    while (ctx.freed == 0) {    // the fold frees x once the reader acknowledged
      ctx.safepoint();
      std::this_thread::yield();
    }
    killer_freed = ctx.freed;
  };
  auto reader = [&](S::Context& ctx) {
    turns.await(1);
    ctx.safepoint();
    turns.reach(2);
    while (rt.epoch().load(std::memory_order_relaxed) == epoch_before) std::this_thread::yield();
    ctx.safepoint();             // acknowledges the kill's epoch: acquire
    seen = written_before_kill;  // ThreadSanitizer: a race unless the bump released it
  };
  const ThreadsResult r = run_threads<S>(rt, Launch::together, killer, reader);
  EXPECT_EQ(seen, 42);
  EXPECT_EQ(killer_freed, 1u);
  EXPECT_EQ(r.live, 0);
  EXPECT_EQ(ObjectTracker::instance().live(), 0u);
}

// Per round, thread 0 makes tuples (each holding an int) with three
// references: its own and one for each of threads 1 and 2, and publishes
// them. Then at once: thread 0 drops its reference to each (the kills) at
// random points; threads 1 and 2 take and drop nested references to random
// objects, reading them, and thread 1 finally drops its own. With the
// others idle (no op and no fold in flight), thread 2 checks that exactly its one reference is left to each
// object, then drops it. The stress tuning yields inside read-side sections,
// so a kill that sums before another thread's pending slot write loses or
// keeps a count, and the check (or ASan, or the tracker) sees it.
TEST(Sharded, KillsRacingIncrefsAndDecrefsNeitherLoseNorDoubleACount) {
  using T = StressSharded;
  using O = Object<T>;
  constexpr std::uint32_t kObjects = 24;
  constexpr int kRounds = kThreadSanitizer ? 60 : 400;
  constexpr int kOpsPerThread = 3 * kObjects;
  T::Runtime rt;
  std::barrier sync(3);
  std::vector<O*> objs(kObjects);
  std::uint64_t wrong_reads[3] = {0, 0, 0};
  std::uint64_t wrong_counts = 0, checked = 0;

  auto wait_all = [&](T::Context& ctx) {
    ctx.enter_blocking();
    sync.arrive_and_wait();
    ctx.leave_blocking();
  };
  // While thread 2 checks, threads 0 and 1 wait without blocking: entering
  // a blocked state runs advance(), which could fold one of their kills
  // (clearing slots, then adding their sum to the count) under the check's
  // reads, and the check would see a count the strategy never had. Thread 2
  // needs no grace period from them: its own decrefs there kill nothing.
  auto wait_out_check = [&] { sync.arrive_and_wait(); };
  auto value_of = [](int round, std::uint32_t i) { return std::int64_t{round} * 1000 + i; };
  // Nested references to random objects, read while held.
  auto churn = [&](T::Context& ctx, int round, std::uint32_t who, std::uint64_t& rng) {
    for (int k = 0; k < kOpsPerThread; ++k) {
      rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
      const std::uint32_t i = static_cast<std::uint32_t>(rng % kObjects);
      const int depth = 1 + static_cast<int>((rng >> 20) % 3);
      O* o = objs[i];
      for (int d = 0; d < depth; ++d) ctx.incref(hide(o));
      if (hide(o)->kind != Kind::tuple || hide(o)->item(0)->value.i != value_of(round, i))
        ++wrong_reads[who];
      for (int d = 0; d < depth; ++d) ctx.decref(hide(o));
      if ((rng >> 40) % 4 == 0) ctx.safepoint();
    }
  };

  auto maker = [&](T::Context& ctx) {
    std::uint64_t rng = 0x9E3779B97F4A7C15ull;
    for (int round = 0; round < kRounds; ++round) {
      for (std::uint32_t i = 0; i < kObjects; ++i) {
        O* t = new_object<T>(ctx, Kind::tuple, 1);
        set_item(t, 0, new_int<T>(ctx, value_of(round, i)));
        ctx.incref(t);  // thread 1's
        ctx.incref(t);  // thread 2's
        ctx.publish(t);
        objs[i] = t;
      }
      wait_all(ctx);  // 1: the objects are out
      for (std::uint32_t i = 0; i < kObjects; ++i) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        const std::uint32_t j = (i + static_cast<std::uint32_t>(rng)) % kObjects;
        ctx.incref(objs[j]);
        ctx.decref(objs[j]);
        if (rng % 2 == 0) ctx.safepoint();
      }
      for (std::uint32_t i = 0; i < kObjects; ++i) {
        ctx.decref(objs[(i * 7) % kObjects]);  // the kill (kObjects and 7 are coprime)
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        if (rng % 3 == 0) ctx.safepoint();
      }
      ctx.safepoint();
      wait_all(ctx);    // 2: the churn is over
      wait_out_check();  // 3: thread 2 checked and dropped
    }
  };
  auto other = [&](T::Context& ctx) {
    std::uint64_t rng = 0xD1B54A32D192ED03ull;
    for (int round = 0; round < kRounds; ++round) {
      wait_all(ctx);
      churn(ctx, round, 1, rng);
      for (std::uint32_t i = 0; i < kObjects; ++i) {
        ctx.decref(objs[(i * 5) % kObjects]);
        if (i % 4 == 0) ctx.safepoint();
      }
      ctx.safepoint();
      wait_all(ctx);
      wait_out_check();
    }
  };
  auto checker = [&](T::Context& ctx) {
    std::uint64_t rng = 0x8CB92BA72F3D8DD7ull;
    for (int round = 0; round < kRounds; ++round) {
      wait_all(ctx);
      churn(ctx, round, 2, rng);
      ctx.safepoint();
      wait_all(ctx);
      // Everyone else is parked: no op on any object is in flight.
      for (std::uint32_t i = 0; i < kObjects; ++i) {
        O* o = objs[i];
        ++checked;
        if (rt.references(o) != 1 || o->item(0)->value.i != value_of(round, i)) ++wrong_counts;
        ctx.decref(o);
      }
      ctx.safepoint();
      wait_all(ctx);
    }
  };
  const ThreadsResult r = run_threads<T>(rt, Launch::together, maker, other, checker);
  EXPECT_EQ(checked, std::uint64_t{kObjects} * kRounds);
  EXPECT_EQ(wrong_counts, 0u) << "objects whose count was lost or doubled, of " << checked;
  EXPECT_EQ(wrong_reads[1] + wrong_reads[2], 0u);
  EXPECT_EQ(r.live, 0);
  std::uint64_t kills = 0;
  for (const Counters& c : r.counters) kills += c[Counter::kills];
  EXPECT_EQ(kills, 2 * std::uint64_t{kObjects} * kRounds);  // every tuple, and its int at the free
  EXPECT_EQ(ObjectTracker::instance().live(), 0u);
}

}  // namespace
}  // namespace rcb::test

namespace rcb::test {
namespace {

// A context past sharded's 256 threads throws from its constructor, on its
// worker thread: the team must fail with that error, not end the process
// in std::terminate (the constructor used to run outside the worker's try).
TEST(ShardedLimits, AThreadPastTheLimitFailsTheTeamInsteadOfTerminating) {
  TeamConfig cfg;
  cfg.threads = S::kMaxThreads + 1;
  try {
    Team<S, HotObject> team(cfg);
    FAIL() << "a team of " << cfg.threads << " sharded threads was built";
  } catch (const std::out_of_range& e) {
    EXPECT_NE(std::string(e.what()).find("sharded: thread index over 255"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace rcb::test
