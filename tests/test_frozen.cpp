// The frozen strategy's own promises: after the freeze no refcount op
// writes a frozen object, objects made later may hold frozen ones (and be
// held by them), and the thaw at shutdown frees everything exactly once.
// This is not a benchmark.

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "strategies/frozen.h"
#include "tests/test_support.h"
#include "workloads/shared_list.h"

namespace rcb::test {
namespace {

using Obj = Object<Frozen>;

// [(i, -i) for i in range(n)]
Obj* make_pairs(Frozen::Context& ctx, std::uint32_t n) {
  Obj* list = new_object<Frozen>(ctx, Kind::list, n);
  for (std::uint32_t i = 0; i < n; ++i) {
    Obj* t = new_object<Frozen>(ctx, Kind::tuple, 2);
    set_item(t, 0, new_int<Frozen>(ctx, i));
    set_item(t, 1, new_int<Frozen>(ctx, -static_cast<std::int64_t>(i)));
    set_item(list, i, t);
  }
  return list;
}

std::vector<std::byte> bytes_of(Obj* o) {
  std::vector<std::byte> b(object_bytes<Frozen>(o->size));
  std::memcpy(b.data(), o, b.size());
  return b;
}

// Runs body(ctx) on `threads` threads at once, each with its own context,
// and returns their contexts' totals.
template <class Body>
Counters on_threads(Frozen::Runtime& rt, std::uint32_t threads, std::uint64_t& freed, Body body) {
  std::vector<Counters> counters(threads);
  std::vector<std::uint64_t> frees(threads);
  std::vector<std::thread> pool;
  for (std::uint32_t t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      Frozen::Context ctx(rt, ThreadIndex{t + 1});
      ctx.attach();
      body(ctx);
      ctx.detach();
      counters[t] = ctx.counters;
      frees[t] = ctx.freed;
    });
  for (auto& th : pool) th.join();
  Counters sum;
  for (std::uint32_t t = 0; t < threads; ++t) {
    sum.merge(counters[t]);
    freed += frees[t];
  }
  return sum;
}

TEST(Frozen, NoRefcountOpWritesAFrozenObject) {
  constexpr std::uint32_t kN = 2'000, kThreads = 3, kRounds = 5;
  Frozen::Runtime rt;
  Frozen::Context main_ctx(rt, ThreadIndex{0});
  Obj* root = make_pairs(main_ctx, kN);
  rt.freeze_graph(root);
  ASSERT_EQ(rt.frozen().size(), 3 * kN + 1);

  std::vector<std::vector<std::byte>> before;
  for (Obj* o : rt.frozen()) before.push_back(bytes_of(o));

  // More decrefs than increfs: a count that was really being kept would
  // either change or hit zero and free (the tracker would see it).
  std::uint64_t freed = 0;
  const Counters c = on_threads(rt, kThreads, freed, [&](Frozen::Context& ctx) {
    for (std::uint32_t r = 0; r < kRounds; ++r)
      for (Obj* o : rt.frozen()) ctx.incref(o);
    for (std::uint32_t r = 0; r < 2 * kRounds; ++r)
      for (Obj* o : rt.frozen()) ctx.decref(o);
  });

  EXPECT_EQ(freed, 0u);
  EXPECT_EQ(c[Counter::atomic_rmw], 0u);
  EXPECT_EQ(c[Counter::skipped_ops], std::uint64_t{kThreads} * 3 * kRounds * rt.frozen().size());
  for (std::size_t i = 0; i < rt.frozen().size(); ++i)
    ASSERT_EQ(bytes_of(rt.frozen()[i]), before[i]) << "frozen object " << i << " was written";

  main_ctx.decref(root);  // `del data`: skipped, the thaw frees it
  EXPECT_EQ(main_ctx.freed, 0u);
  rt.shutdown();
  EXPECT_EQ(rt.objects_freed(), 3 * kN + 1);
  EXPECT_EQ(main_ctx.allocated, rt.objects_freed());
  EXPECT_EQ(ObjectTracker::instance().live(), 0u);
}

// new = list(frozen_items) on several threads at once, then `del new`: the
// new list dies by counting, its frozen items are untouched; then frozen
// containers take unfrozen children (one of which holds a frozen object),
// which the thaw must free too, without touching a frozen object twice.
TEST(Frozen, NewObjectsMayHoldFrozenOnesAndBeHeldByThem) {
  constexpr std::uint32_t kN = 1'000, kThreads = 3;
  Frozen::Runtime rt;
  Frozen::Context main_ctx(rt, ThreadIndex{0});
  Obj* root = make_pairs(main_ctx, kN);
  rt.freeze_graph(root);

  std::vector<std::uint64_t> sums(kThreads);
  std::uint64_t freed = 0;
  std::atomic<std::uint64_t> allocated{0};
  (void)on_threads(rt, kThreads, freed, [&](Frozen::Context& ctx) {
    for (int round = 0; round < 3; ++round) {
      Obj* copy = new_object<Frozen>(ctx, Kind::list, kN);
      for (std::uint32_t i = 0; i < kN; ++i) {
        Obj* t = root->item(i);
        ctx.incref(t);
        set_item(copy, i, t);
      }
      std::uint64_t sum = 0;
      for (std::uint32_t i = 0; i < kN; ++i) sum += static_cast<std::uint64_t>(copy->item(i)->item(0)->value.i);
      sums[ctx.index().value - 1] += sum;
      ctx.decref(copy);
    }
    allocated += ctx.allocated;
  });
  for (const std::uint64_t s : sums) EXPECT_EQ(s, 3ull * kN * (kN - 1) / 2);
  EXPECT_EQ(freed, allocated.load()) << "each new list dies by counting; frozen items do not";
  for (std::uint32_t i = 0; i < kN; ++i) {
    ASSERT_TRUE(Frozen::is_frozen(root->item(i)));
    ASSERT_EQ(root->item(i)->item(0)->value.i, static_cast<std::int64_t>(i));
  }

  // data[0] = (data[1], 7): the frozen list now owns an unfrozen tuple that
  // holds a frozen one; the replaced frozen tuple's decref is skipped.
  Obj* fresh = new_object<Frozen>(main_ctx, Kind::tuple, 2);
  main_ctx.incref(root->item(1));
  set_item(fresh, 0, root->item(1));
  set_item(fresh, 1, new_int<Frozen>(main_ctx, 7));
  main_ctx.decref(root->item(0));
  set_item(root, 0, fresh);
  EXPECT_EQ(main_ctx.freed, 0u);

  main_ctx.decref(root);
  rt.shutdown();
  EXPECT_EQ(rt.objects_freed(), 3 * kN + 1 + 2) << "every frozen object, the tuple and its int";
  EXPECT_EQ(main_ctx.allocated, rt.objects_freed());
  EXPECT_EQ(ObjectTracker::instance().live(), 0u);
}

// Through the team, as the benchmark runs it: the freeze happens after
// setup, and a timed pass over a frozen shared list costs no RMW at all.
TEST(Frozen, TeamFreezesTheWorkloadRootsAfterSetup) {
  TeamConfig cfg;
  cfg.threads = 2;
  Team<Frozen, SharedList> team(cfg);
  const IterationResult r = team.iterate();
  EXPECT_EQ(r.checksum, team.expected_checksum());
  const RunTotals totals = team.finish();
  const std::uint64_t n = team.items_per_thread();
  EXPECT_EQ(totals.counters[Counter::frozen_objects], n + 1);
  EXPECT_EQ(totals.counters[Counter::atomic_rmw], 0u);
  // Per thread: iter(L) and its release, and next()/rebind per item.
  EXPECT_EQ(totals.counters[Counter::skipped_ops], 2 * (2 * n + 2));
  EXPECT_EQ(totals.live(), 0);
  EXPECT_EQ(ObjectTracker::instance().live(), 0u);
}

}  // namespace
}  // namespace rcb::test
