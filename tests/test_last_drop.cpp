// The last drop of an object two threads share: whoever frees it must see
// every access the other thread made to it before its own drop. Under the
// atomic count protocol (strategies/atomic_count.h) that is the release
// decrement and the acquire re-read before the free; boost_intrusive's one
// acq_rel decrement does both, and libstdcxx's acquire load of both counts
// (a unique last drop frees with no RMW at all) or its acq_rel decrement,
// as shared_ptr's release does. Without the
// release or the acquire, ThreadSanitizer reports the free racing with the
// other thread's read.
//
// Built WITHOUT RCBENCH_TRACK_OBJECTS (see tests/CMakeLists.txt): the
// tracker takes one global mutex per allocation and free, which orders the
// two threads by itself and hides a missing acquire or release from TSan.
// The live count is checked through the contexts' allocated/freed tallies.
// This is not a benchmark.

#include <cstdint>
#include <vector>

#include "strategies/atomic.h"
#include "strategies/boost_intrusive.h"
#include "strategies/deferred.h"
#include "strategies/frozen.h"
#include "strategies/immortal.h"
#include "strategies/libstdcxx.h"
#include "strategies/remote.h"
#include "tests/test_support.h"
#include "tests/thread_support.h"

namespace rcb::test {
namespace {

static_assert(!kTrackObjects, "the tracker's mutex would order the threads of this test");

// Every strategy whose counts are one atomic word per object. Frozen's
// objects here are created after its freeze, and immortal's and
// deferred's are declared nothing, so they are counted, not skipped.
template <class S>
class LastDrop : public ::testing::Test {};
using AtomicallyCounted =
    ::testing::Types<Atomic, Frozen, Remote, Immortal, Deferred, Libstdcxx, BoostIntrusive>;
TYPED_TEST_SUITE(LastDrop, AtomicallyCounted, StrategyName);

// Thread 0 creates a batch (ints, and tuples holding an int), writes each
// payload, takes a second reference for thread 1 and publishes the batch.
// Both threads then read every payload and drop their reference, thread 0
// front to back and thread 1 back to front, so either may free any object
// (and a tuple's free frees its int). Nothing but the counts orders one
// thread's reads before the other's frees.
TYPED_TEST(LastDrop, WhoeverFreesSeesTheOtherThreadsReads) {
  using S = TypeParam;
  constexpr std::uint32_t kObjects = kThreadSanitizer ? 1000 : 20000;
  constexpr int kRounds = 6;
  typename S::Runtime rt;

  // Frozen: freeze a graph first, so the run has frozen objects and the
  // shared ones, created later, are not among them.
  std::uint64_t setup_allocated = 0;
  if constexpr (requires(Object<S>* root) { rt.freeze_graph(root); }) {
    typename S::Context setup(rt, ThreadIndex{0});
    Object<S>* root = new_object<S>(setup, Kind::tuple, 2);
    set_item(root, 0, new_int<S>(setup, 1));
    set_item(root, 1, new_float<S>(setup, 2.0));
    rt.freeze_graph(root);
    setup_allocated = setup.allocated;
  }

  std::vector<Object<S>*> batch(kObjects);
  Turns made, dropped;
  std::int64_t expected = 0;
  std::int64_t seen[2] = {0, 0};

  auto read = [](Object<S>* o) {
    return o->kind == Kind::tuple ? o->item(0)->value.i : o->value.i;
  };
  auto creator = [&](typename S::Context& ctx) {
    for (int round = 0; round < kRounds; ++round) {
      dropped.await(round);  // thread 1 is done with the previous batch
      for (std::uint32_t i = 0; i < kObjects; ++i) {
        const std::int64_t v = round * std::int64_t{kObjects} + i;
        Object<S>* o;
        if (i % 2 == 0) {
          o = new_int<S>(ctx, v);
        } else {
          o = new_object<S>(ctx, Kind::tuple, 1);
          set_item(o, 0, new_int<S>(ctx, v));
        }
        ctx.incref(o);  // thread 1's reference
        ctx.publish(o);
        batch[i] = o;
        expected += v;
      }
      made.reach(round + 1);  // release: the payloads, to thread 1
      for (std::uint32_t i = 0; i < kObjects; ++i) {
        Object<S>* o = batch[i];
        seen[0] += read(hide(o));
        ctx.decref(hide(o));
      }
    }
  };
  auto reader = [&](typename S::Context& ctx) {
    for (int round = 0; round < kRounds; ++round) {
      made.await(round + 1);
      for (std::uint32_t i = kObjects; i-- > 0;) {
        Object<S>* o = batch[i];
        seen[1] += read(hide(o));
        ctx.decref(hide(o));
      }
      dropped.reach(round + 1);
    }
  };
  const ThreadsResult r = run_threads<S>(rt, Launch::together, creator, reader);
  EXPECT_EQ(r.live + static_cast<std::int64_t>(setup_allocated), 0);
  EXPECT_EQ(seen[0], expected);
  EXPECT_EQ(seen[1], expected);
}

}  // namespace
}  // namespace rcb::test
