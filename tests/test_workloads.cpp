// Each workload's checksum against a value computed without the workload:
// a plain loop, plain doubles or a closed form. The typed matrix in
// test_strategies.cpp checks checksum == expected_checksum() under every
// strategy; this file checks that expected_checksum() is the right answer,
// and that each workload allocates what its opening comment says. Runs at
// the quick size under plain (1 thread) and atomic (2 threads). This is not
// a benchmark.

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <vector>

#include "strategies/atomic.h"
#include "strategies/plain.h"
#include "tests/test_support.h"
#include "workloads/registry.h"

namespace rcb::test {
namespace {

// Runs W under S on `threads` threads for two iterations and checks every
// checksum against `reference(threads)`.
template <class S, template <class> class W, class Reference>
void expect_checksums(std::uint32_t threads, Reference&& reference) {
  SCOPED_TRACE(std::string(S::info.name) + ", threads=" + std::to_string(threads));
  const std::uint64_t want = reference(threads);
  TeamConfig cfg;
  cfg.threads = threads;
  Team<S, W> team(cfg);
  EXPECT_EQ(team.expected_checksum(), want);
  for (int i = 0; i < 2; ++i) EXPECT_EQ(team.iterate().checksum, want) << "iteration " << i;
  EXPECT_EQ(team.finish().live(), 0);
}

template <template <class> class W, class Reference>
void expect_checksums_plain_and_atomic(Reference&& reference) {
  expect_checksums<Plain, W>(1, reference);
  expect_checksums<Atomic, W>(2, reference);
}

// Objects W allocates in one iteration of one thread, setup excluded.
template <template <class> class W>
std::uint64_t allocations_per_iteration() {
  std::uint64_t allocated = 0;
  const auto live = on_one_thread<Plain>([&](auto& ctx) {
    W<Plain> w(ctx, Size::quick, 1);
    const std::uint64_t before = ctx.allocated;
    EXPECT_EQ(w.run(ctx, ThreadIndex{0}), w.expected_checksum());
    allocated = ctx.allocated - before;
    w.teardown(ctx);
  });
  EXPECT_EQ(live, 0);
  return allocated;
}

// ---------------------------------------------------------------------------

TEST(Fib, ChecksumIsFibOfNPerThread) {
  const std::uint32_t n = Fib<Plain>::argument(Size::quick);
  std::vector<std::uint64_t> fib{1, 1};
  while (fib.size() <= n) fib.push_back(fib[fib.size() - 1] + fib[fib.size() - 2]);
  expect_checksums_plain_and_atomic<Fib>([&](std::uint32_t threads) { return fib[n] * threads; });
}

// Sums above 256 in the call tree of fib(n): the only ints fib allocates.
std::uint64_t sums_above_256(std::uint32_t n) {
  if (n < 2) return 0;
  const bool big = fib_value(n) > 256;
  return (big ? 1 : 0) + sums_above_256(n - 1) + sums_above_256(n - 2);
}

TEST(Fib, AllocatesOneFrameACallAndOnlyIntsAbove256) {
  const std::uint32_t n = Fib<Plain>::argument(Size::quick);
  const std::uint64_t calls = 2 * fib_value(n) - 1;
  EXPECT_EQ(sums_above_256(n), 143u);  // the figure fib.h's comment gives for n = 22
  EXPECT_EQ(allocations_per_iteration<Fib>(), calls + sums_above_256(n));
}

// ---------------------------------------------------------------------------

// The same pairs on unboxed doubles: the largest mass of each event, its bit
// pattern summed.
std::uint64_t dimuon_reference(std::uint32_t threads) {
  const MuonColumns d = generate_muons(Dimuon<Plain>::events_per_thread(Size::quick), threads);
  const auto mass = [&](std::uint32_t i, std::uint32_t j) {
    return std::sqrt(2 * d.pt[i] * d.pt[j] *
                     (std::cosh(d.eta[i] - d.eta[j]) - std::cos(d.phi[i] - d.phi[j])));
  };
  std::uint64_t sum = 0;
  for (std::size_t event = 0; event + 1 < d.offsets.size(); ++event) {
    std::vector<double> masses{0.0};  // max_mass = 0
    for (auto i = d.offsets[event]; i < d.offsets[event + 1]; ++i)
      for (auto j = i + 1; j < d.offsets[event + 1]; ++j) masses.push_back(mass(i, j));
    sum += std::bit_cast<std::uint64_t>(std::ranges::max(masses));
  }
  return sum;
}

TEST(Dimuon, ChecksumMatchesUnboxedDoubles) {
  expect_checksums_plain_and_atomic<Dimuon>(dimuon_reference);
}

TEST(Dimuon, EveryThreadHasTheSamePairs) {
  const std::uint32_t events = Dimuon<Plain>::events_per_thread(Size::quick);
  const MuonColumns d = generate_muons(events, 3);
  ASSERT_EQ(d.offsets.size(), 3u * events + 1);
  for (std::uint32_t e = 0; e < events; ++e)
    for (std::uint32_t t = 1; t < 3; ++t)
      EXPECT_EQ(d.offsets[e + 1] - d.offsets[e],
                d.offsets[t * events + e + 1] - d.offsets[t * events + e]);
}

TEST(Dimuon, AllocatesNineFloatsAPair) {
  std::uint64_t pairs = 0;
  on_one_thread<Plain>([&](auto& ctx) {
    Dimuon<Plain> w(ctx, Size::quick, 1);
    pairs = w.items_per_thread();
    w.teardown(ctx);
  });
  EXPECT_EQ(pairs, 3'850u);  // the figure dimuon.h's comment gives
  EXPECT_EQ(allocations_per_iteration<Dimuon>(), 9 * pairs);
}

// ---------------------------------------------------------------------------

// C = A x B on plain doubles, then the weighted sum over each thread's rows.
std::uint64_t matmul_reference(std::uint32_t threads) {
  const auto [r, n] = MatmulLists<Plain>::shape(Size::quick);
  const std::uint32_t rows = r * threads;
  const MatmulInput in = generate_matmul(rows, n);
  std::uint64_t sum = 0;
  for (std::uint32_t i = 0; i < rows; ++i)
    for (std::uint32_t j = 0; j < n; ++j) {
      double c = 0;
      for (std::uint32_t k = 0; k < n; ++k) c += in.a[i * n + k] * in.b[k * n + j];
      sum += static_cast<std::uint64_t>((i + 1) * (j + 1) * static_cast<std::int64_t>(c));
    }
  return sum;
}

TEST(MatmulLists, ChecksumMatchesPlainDoubles) {
  expect_checksums_plain_and_atomic<MatmulLists>(matmul_reference);
}

TEST(MatmulLists, AllocatesTwoFloatsAStepPlusTheResultLists) {
  const auto [r, n] = MatmulLists<Plain>::shape(Size::quick);
  EXPECT_EQ(allocations_per_iteration<MatmulLists>(), 2ull * r * n * n + r + 1);
}

// ---------------------------------------------------------------------------

TEST(HotObject, ChecksumIsTheClosedForm) {
  constexpr std::uint64_t n = HotObject<Plain>::iterations(Size::quick);
  static_assert(n < (1u << 21), "n^3 must fit in 64 bits");
  const std::uint64_t per_thread = (n - 1) * n * (2 * n - 1) / 6 + n * (n - 1) / 2;  // sum(i*i) + sum(i)
  expect_checksums_plain_and_atomic<HotObject>(
      [&](std::uint32_t threads) { return per_thread * threads; });
}

TEST(HotObject, EveryIterationIsOneIncrefAndOneDecrefOfTheOneObject) {
  EXPECT_EQ(allocations_per_iteration<HotObject>(), 0u);
  TeamConfig cfg;
  cfg.threads = 2;
  Team<Atomic, HotObject> team(cfg);
  (void)team.iterate();
  const RunTotals totals = team.finish();
  EXPECT_EQ(totals.counters[Counter::atomic_rmw], 2 * 2 * HotObject<Plain>::iterations(Size::quick));
}

// ---------------------------------------------------------------------------
// The two workloads that came first, at the quick sizes their comments give.

TEST(SharedList, ChecksumIsSumOfRangeN) {
  constexpr std::uint64_t n = 100'000;
  expect_checksums_plain_and_atomic<SharedList>(
      [](std::uint32_t threads) { return n * (n - 1) / 2 * threads; });
}

TEST(PrivateChurn, ChecksumCountsEveryNode) {
  constexpr std::uint64_t trees = 4, depth = 12;
  expect_checksums_plain_and_atomic<PrivateChurn>(
      [](std::uint32_t threads) { return trees * ((1u << (depth + 1)) - 1) * threads; });
}

}  // namespace
}  // namespace rcb::test

// ---------------------------------------------------------------------------
// The pyvm programs (workloads/pyvm), each against a value computed without
// the interpreter.

namespace rcb::test {
namespace {

TEST(PyvmFib, ChecksumIsFibOfNPerThread) {
  const std::uint32_t n = PyvmFib<Plain>::argument(Size::quick);
  std::vector<std::uint64_t> fib{1, 1};
  while (fib.size() <= n) fib.push_back(fib[fib.size() - 1] + fib[fib.size() - 2]);
  expect_checksums_plain_and_atomic<PyvmFib>([&](std::uint32_t threads) { return fib[n] * threads; });
}

// s += 1 per item: 20 walks of 1000 items at the quick size.
TEST(PyvmSharedIter, ChecksumCountsEveryItem) {
  expect_checksums_plain_and_atomic<PyvmSharedIter>([](std::uint32_t threads) { return 20'000ull * threads; });
}
TEST(PyvmSharedIterImm, ChecksumCountsEveryItem) {
  expect_checksums_plain_and_atomic<PyvmSharedIterImm>([](std::uint32_t threads) { return 20'000ull * threads; });
}
TEST(PyvmPrivateIter, ChecksumCountsEveryItem) {
  expect_checksums_plain_and_atomic<PyvmPrivateIter>([](std::uint32_t threads) { return 20'000ull * threads; });
}

// s += f(x), f(x) = x.v = 1: SHARED_CALL_REPS = 10 walks of 1000 at the quick size.
TEST(PyvmSharedCall, ChecksumSumsTheAttributes) {
  expect_checksums_plain_and_atomic<PyvmSharedCall>([](std::uint32_t threads) { return 10'000ull * threads; });
}

// check() counts the nodes of two depth-12 trees.
TEST(PyvmTupleTree, ChecksumCountsEveryNode) {
  const auto nodes = [](std::uint32_t depth) {
    std::uint64_t n = 0;
    for (std::uint32_t level = 0; level <= depth; ++level) n += std::uint64_t{1} << level;
    return n;
  };
  expect_checksums_plain_and_atomic<PyvmTupleTree>(
      [&](std::uint32_t threads) { return 2 * nodes(12) * threads; });
}

// One pair (or the one thread) hands over n lists [i]: get() tallies the
// items and the ints they held.
TEST(PyvmProducerConsumer, ChecksumIsWhatThePairHandedOver) {
  const std::uint64_t n = PyvmProducerConsumer<Plain>::items(Size::quick);
  std::uint64_t pair = 0;
  for (std::uint64_t i = 0; i < n; ++i) pair += 1 + i;
  expect_checksums_plain_and_atomic<PyvmProducerConsumer>(
      [&](std::uint32_t threads) { return pair * (threads == 1 ? 1 : threads / 2); });
  expect_checksums<Atomic, PyvmProducerConsumer>(4, [&](std::uint32_t) { return 2 * pair; });
}

// Each thread's total of its events' pair masses, by brute force on
// unboxed doubles in w_dimuon's order; the harness sums the totals' bits.
std::uint64_t pyvm_dimuon_reference(std::uint32_t threads) {
  const std::uint32_t events = PyvmDimuon<Plain>::events_per_thread(Size::quick);
  const std::vector<pyvm::MuonEvent> ev = pyvm::reference_events(events, threads);
  std::uint64_t sum = 0;
  for (std::uint32_t t = 0; t < threads; ++t) {
    double total = 0.0;
    for (std::uint32_t k = t * events; k < (t + 1) * events; ++k) {
      const auto& e = ev[k];
      EXPECT_GE(e.pt.size(), 2u);
      EXPECT_LE(e.pt.size(), 4u);
      for (std::size_t i = 0; i < e.pt.size(); ++i) {
        EXPECT_GE(e.pt[i], 5.0);
        for (std::size_t j = i + 1; j < e.pt.size(); ++j) {
          const double mass2 = 2 * e.pt[i] * e.pt[j] * (std::cosh(e.eta[i] - e.eta[j]) - std::cos(e.phi[i] - e.phi[j]));
          total += std::sqrt(mass2);
        }
      }
    }
    sum += std::bit_cast<std::uint64_t>(total);
  }
  return sum;
}

TEST(PyvmDimuon, ChecksumMatchesUnboxedDoubles) {
  expect_checksums_plain_and_atomic<PyvmDimuon>(pyvm_dimuon_reference);
}

// The bytecode figure the report table divides by: deterministic, and what
// the programs' loops dispatch per item.
TEST(Pyvm, ReportsTheSameBytecodesPerItemEveryRun) {
  const auto figure = [] {
    double per_item = 0;
    on_one_thread<Plain>([&](auto& ctx) {
      PyvmSharedIter<Plain> w(ctx, Size::quick, 1);
      EXPECT_EQ(w.run(ctx, ThreadIndex{0}), w.expected_checksum());
      w.report([&](std::string_view name, double v) {
        EXPECT_EQ(name, "bytecodes_per_item");
        per_item = v;
      });
      w.teardown(ctx);
    });
    return per_item;
  };
  const double first = figure();
  EXPECT_EQ(first, figure());
  // FOR_ITER, STORE_FAST, LOAD_FAST_BORROW, LOAD_SMALL_INT, BINARY_OP,
  // STORE_FAST, JUMP_BACKWARD per item, plus each walk's and the call's own.
  EXPECT_GT(first, 7.0);
  EXPECT_LT(first, 7.1);
}

}  // namespace
}  // namespace rcb::test
