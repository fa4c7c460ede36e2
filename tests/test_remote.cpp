// The remote-header strategies' own promises, for both layouts: counts live
// in pages of their own that no object shares, refcounting never writes an
// object, slots come back for reuse (also when another thread frees them)
// without the page table growing, and two threads' counts never share a
// cache line. This is not a benchmark.

#include <cstring>
#include <set>
#include <thread>
#include <vector>

#include "strategies/remote.h"
#include "tests/test_support.h"

namespace rcb::test {
namespace {

template <class S>
class RemoteTest : public ::testing::Test {
 protected:
  using Obj = Object<S>;
  using Ctx = typename S::Context;

  static std::vector<Obj*> make_ints(Ctx& ctx, std::uint32_t n) {
    std::vector<Obj*> v;
    for (std::uint32_t i = 0; i < n; ++i) v.push_back(new_int<S>(ctx, i));
    return v;
  }
  static std::set<std::uint32_t> slots(const std::vector<Obj*>& v) {
    std::set<std::uint32_t> s;
    for (Obj* o : v) s.insert(o->rc.slot);
    return s;
  }
  static std::uintptr_t addr(const void* p) { return reinterpret_cast<std::uintptr_t>(p); }
  static std::uintptr_t count_line(typename S::Runtime& rt, Obj* o) { return addr(&rt.count_of(o)) / 64; }

  // Three chunks and a bit: the free list, not a fresh chunk, must serve.
  static constexpr std::uint32_t kN = 3 * S::kChunkSlots + 17;
};

using RemoteLayouts = ::testing::Types<Remote, RemotePadded>;
TYPED_TEST_SUITE(RemoteTest, RemoteLayouts, StrategyName);

TYPED_TEST(RemoteTest, FreedSlotsAreReusedAndThePageTableDoesNotGrow) {
  using S = TypeParam;
  typename S::Runtime rt;
  typename S::Context ctx(rt, ThreadIndex{0});
  auto first = this->make_ints(ctx, this->kN);
  const auto slots = this->slots(first);
  const auto pages = rt.pages_in_use();
  ASSERT_EQ(slots.size(), this->kN);
  for (auto* o : first) ctx.decref(o);
  for (int round = 0; round < 3; ++round) {
    auto again = this->make_ints(ctx, this->kN);
    EXPECT_EQ(this->slots(again), slots) << "round " << round;
    EXPECT_EQ(rt.pages_in_use(), pages);
    for (auto* o : again) ctx.decref(o);
  }
  EXPECT_EQ(rt.counters()[Counter::slot_pages], pages);
  EXPECT_EQ(ctx.allocated, ctx.freed);
  EXPECT_EQ(ObjectTracker::instance().live(), 0u);
}

// Thread 1 frees what thread 0 made: the slots go to thread 0's remote
// list, come back to thread 0, and never to thread 1.
TYPED_TEST(RemoteTest, ASlotFreedByAnotherThreadReturnsToItsOwner) {
  using S = TypeParam;
  typename S::Runtime rt;
  typename S::Context owner(rt, ThreadIndex{0});
  auto made = this->make_ints(owner, this->kN);
  const auto slots = this->slots(made);
  std::set<std::uint32_t> other_slots;
  std::uint64_t other_allocated = 0, other_freed = 0;
  std::thread([&] {
    typename S::Context other(rt, ThreadIndex{1});
    for (auto* o : made) other.decref(o);
    auto mine = this->make_ints(other, this->kN);
    other_slots = this->slots(mine);
    for (auto* o : mine) other.decref(o);
    other_allocated = other.allocated;
    other_freed = other.freed;
  }).join();
  for (const auto s : other_slots) ASSERT_EQ(slots.count(s), 0u) << "thread 1 took thread 0's slot " << s;
  // The owner finishes its current chunk before it takes the freed slots
  // back (a bump is cheaper than reading the shared list), then reuses all.
  const auto pages = rt.pages_in_use();
  const std::uint32_t rest_of_chunk = S::kChunkSlots - this->kN % S::kChunkSlots;
  auto again = this->make_ints(owner, this->kN + rest_of_chunk);
  const auto again_slots = this->slots(again);
  for (const auto s : slots) ASSERT_EQ(again_slots.count(s), 1u) << "slot " << s << " not reused";
  EXPECT_EQ(rt.pages_in_use(), pages);
  for (auto* o : again) owner.decref(o);
  EXPECT_EQ(owner.allocated + other_allocated, owner.freed + other_freed);
  EXPECT_EQ(ObjectTracker::instance().live(), 0u);
}

// Every count lies in a page the runtime mapped, and no object of any size
// overlaps such a page: a count write cannot dirty an object's page.
TYPED_TEST(RemoteTest, CountPagesAreDistinctFromObjectPages) {
  using S = TypeParam;
  using Obj = Object<S>;
  typename S::Runtime rt;
  typename S::Context ctx(rt, ThreadIndex{0});
  std::vector<Obj*> objs;
  for (std::uint32_t i = 0; i < 20'000; ++i) objs.push_back(new_object<S>(ctx, Kind::tuple, i % 9));

  std::vector<std::pair<std::uintptr_t, std::uintptr_t>> pages;  // [begin, end)
  for (std::uint32_t p = 0; p < rt.pages_in_use(); ++p) {
    ASSERT_NE(rt.page(p), nullptr);
    pages.emplace_back(this->addr(rt.page(p)), this->addr(rt.page(p)) + S::kPageBytes);
  }
  constexpr std::uintptr_t kOsPage = 4096;
  for (Obj* o : objs) {
    const std::uintptr_t c = this->addr(&rt.count_of(o));
    const std::uintptr_t lo = this->addr(o) / kOsPage * kOsPage;
    const std::uintptr_t hi = this->addr(o) + object_bytes<S>(o->size);
    bool in_a_page = false;
    for (const auto& [b, e] : pages) {
      in_a_page |= b <= c && c < e;
      ASSERT_FALSE(lo < e && b < hi) << "object " << o << " shares an OS page with count page " << b;
    }
    ASSERT_TRUE(in_a_page) << "count of " << o << " outside every count page";
  }
  for (Obj* o : objs) ctx.decref(o);
  EXPECT_EQ(ObjectTracker::instance().live(), 0u);
}

// Three threads hammer increfs and decrefs on objects made by one: the
// objects' bytes stay exactly as made, and every count returns to 1.
TYPED_TEST(RemoteTest, RefcountingNeverWritesObjectMemory) {
  using S = TypeParam;
  typename S::Runtime rt;
  typename S::Context ctx(rt, ThreadIndex{0});
  auto objs = this->make_ints(ctx, 4'000);
  std::vector<std::vector<std::byte>> before;
  for (auto* o : objs) {
    before.emplace_back(object_bytes<S>(0));
    std::memcpy(before.back().data(), o, before.back().size());
  }
  std::vector<std::thread> pool;
  for (std::uint32_t t = 1; t <= 3; ++t)
    pool.emplace_back([&, t] {
      typename S::Context c(rt, ThreadIndex{t});
      for (int r = 0; r < 20; ++r) {
        for (auto* o : objs) c.incref(o);
        for (auto* o : objs) c.decref(o);
      }
    });
  for (auto& th : pool) th.join();
  for (std::size_t i = 0; i < objs.size(); ++i) {
    ASSERT_EQ(std::memcmp(before[i].data(), objs[i], before[i].size()), 0) << "object " << i;
    ASSERT_EQ(rt.count_of(objs[i]).load(), 1u);
  }
  for (auto* o : objs) ctx.decref(o);
  EXPECT_EQ(ObjectTracker::instance().live(), 0u);
}

// Objects made by two threads at the same time get counts in their own
// chunks; in the padded layout even one thread's neighbours do not share.
TYPED_TEST(RemoteTest, CountsOfDifferentThreadsNeverShareACacheLine) {
  using S = TypeParam;
  typename S::Runtime rt;
  std::vector<std::vector<Object<S>*>> made(2);
  std::vector<std::thread> pool;
  for (std::uint32_t t = 0; t < 2; ++t)
    pool.emplace_back([&, t] {
      typename S::Context c(rt, ThreadIndex{t});
      made[t] = this->make_ints(c, 2'000);
    });
  for (auto& th : pool) th.join();
  std::set<std::uintptr_t> lines0, lines1;
  for (auto* o : made[0]) lines0.insert(this->count_line(rt, o));
  for (auto* o : made[1]) lines1.insert(this->count_line(rt, o));
  for (const auto l : lines1) ASSERT_EQ(lines0.count(l), 0u) << "shared count line " << l;
  const bool padded = sizeof(typename S::Cell) >= 64;
  EXPECT_EQ(lines0.size() == made[0].size(), padded);

  typename S::Context c(rt, ThreadIndex{0});
  for (auto& v : made)
    for (auto* o : v) c.decref(o);
  EXPECT_EQ(ObjectTracker::instance().live(), 0u);
}

}  // namespace
}  // namespace rcb::test
