#pragma once
// The pyvm_* workloads: the programs of workloads/pyvm/programs.h run by
// the shared interpreter (workloads/pyvm/interp.h), one thin class each.
// They measure strategies at an interpreter's refcount density: the
// micro-workloads put refcount operations back to back, an interpreter
// spends tens of nanoseconds of dispatch, stack traffic and look-ups
// between them. Each program's Python is quoted in programs.h; its
// checksum is computed here without the interpreter, and tests check both.
//
// Every workload reports `bytecodes_per_item` (dispatched instructions per
// work item, from thread 0's last iteration): refcount operations per
// bytecode are a counted pass's operations per item divided by it
// (scripts/pyvm_table.py). The figure is deterministic: the programs take
// no data-dependent path that differs between runs.
//
// Sizes: quick sizes keep one iteration in the low milliseconds in a
// release build, so the typed tests (every strategy x 1, 2, 3 threads) and
// sanitizer builds stay fast; full sizes are 10-25x larger. None is tuned
// to a measured figure.

#include <atomic>
#include <bit>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "strategies/cpython_facts.h"
#include "strategies/object.h"
#include "workloads/blocking.h"
#include "workloads/dimuon.h"
#include "workloads/fib.h"
#include "workloads/handoff.h"
#include "workloads/pyvm/interp.h"
#include "workloads/pyvm/module.h"
#include "workloads/pyvm/programs.h"
#include "workloads/workload.h"

namespace rcb {

namespace pyvm {

// What every pyvm workload shares: the loaded module, the call into it,
// and the bytecode tally.
template <class S>
class Runner {
 public:
  using Ctx = typename S::Context;
  using Obj = Object<S>;
  using Ref = StackRef<S>;

  Runner(Ctx& ctx, Program program, std::uint32_t threads, std::uint32_t deques = 0)
      : module_(ctx, std::move(program), deques), executed_(threads) {}

  // Runs `function(*args)` on this thread and returns the result object's
  // payload, as int64 bits (an int) or double bits (a float). Each argument
  // is built by arg(interp), a reference the callee takes.
  template <class... Args>
  std::uint64_t call(Ctx& ctx, ThreadIndex t, std::string_view function, Args&&... make_args) {
    Interp<S> vm(ctx, module_);
    const Ref args[] = {make_args(vm)...};
    const Ref result = vm.call(function, std::span<const Ref>(args));
    Obj* r = result.get();
    const std::uint64_t bits = r->kind == Kind::float_ ? std::bit_cast<std::uint64_t>(r->value.f)
                                                       : static_cast<std::uint64_t>(r->value.i);
    stack_close(ctx, hide(result));
    executed_[t.value].store(vm.executed(), std::memory_order_relaxed);
    return bits;
  }

  // A new stack reference to a workload-built object (a thread's argument).
  [[nodiscard]] static auto shared(Obj* o) {
    return [o](Interp<S>& vm) { return vm.reference(o); };
  }
  [[nodiscard]] static auto integer(std::int64_t v) {
    return [v](Interp<S>& vm) { return vm.box(v); };
  }

  template <class Emit>
  void report(Emit&& emit, std::uint64_t items_per_thread) const {
    const auto bytecodes = static_cast<double>(executed_[0].load(std::memory_order_relaxed));
    emit("bytecodes_per_item", bytecodes / static_cast<double>(items_per_thread));
  }

  [[nodiscard]] Module<S>& module() { return module_; }

 private:
  Module<S> module_;
  std::vector<std::atomic<std::uint64_t>> executed_;  // slot t: thread t's last iteration
};

// A shared list of `n` items, item(i) a new reference each, built at setup.
// A pyvm list's value.i is its length.
template <class S, class Ctx, class Item>
[[nodiscard]] Object<S>* new_list(Ctx& ctx, std::uint32_t n, Item item) {
  Object<S>* list = new_object<S>(ctx, Kind::list, n);
  for (std::uint32_t i = 0; i < n; ++i) set_item(list, i, item(i));
  list->value.i = n;
  return list;
}

// What every pyvm workload shares besides the runner: the object it built
// and shares (a list, the deques, the columns; may be none), its items per
// iteration, and the report, freeze roots and teardown those imply.
template <class S>
class Base {
 public:
  using Ctx = typename S::Context;
  using Obj = Object<S>;

  [[nodiscard]] std::uint64_t items_per_thread() const { return items_; }
  template <class Emit>
  void report(Emit&& emit) const { runner_.report(emit, items_); }
  template <class Visit>
  void roots(Visit&& visit) const {
    runner_.module().roots(visit);
    if (data_ != nullptr) visit(data_);
  }
  void teardown(Ctx& ctx) {
    if (data_ != nullptr) ctx.decref(data_);
    runner_.module().teardown(ctx);
  }

 protected:
  using Runner = pyvm::Runner<S>;
  Base(Ctx& ctx, Program program, std::uint32_t threads, std::uint32_t deques = 0)
      : runner_(ctx, std::move(program), threads, deques), threads_(threads) {}

  // Ends setup: `data` (null for none) and the module become visible to
  // the other threads.
  void share(Ctx& ctx, Obj* data, std::uint64_t items) {
    data_ = data;
    items_ = items;
    runner_.module().publish(ctx);
    if (data_ != nullptr) ctx.publish(data_);
  }

  mutable Runner runner_;
  std::uint32_t threads_;
  Obj* data_ = nullptr;
  std::uint64_t items_ = 0;
};

// The lists the iteration programs walk: 1000 items, as in CPython's
// Tools/ftscalingbench.
inline constexpr std::uint32_t kListItems = 1000;

// Repetitions of the walk over the list per iteration.
[[nodiscard]] constexpr std::uint32_t walk_reps(Size size) { return size == Size::quick ? 20 : 400; }

// The list-walking workloads: `reps` walks of a list of kListItems per
// thread and iteration; `entry(L or n, reps)` returns what it summed.
template <class S>
class Walk : public Base<S> {
 public:
  using Ctx = typename S::Context;
  using Obj = Object<S>;

  // One per item walked, unless the program sums something else.
  [[nodiscard]] std::uint64_t expected_checksum() const { return this->items_per_thread() * this->threads_; }

  std::uint64_t run(Ctx& ctx, ThreadIndex t) {
    if (this->data_ == nullptr)  // the program builds its own list
      return this->runner_.call(ctx, t, entry_, Runner::integer(kListItems), Runner::integer(reps_));
    return this->runner_.call(ctx, t, entry_, Runner::shared(this->data_), Runner::integer(reps_));
  }

 protected:
  using Runner = pyvm::Runner<S>;
  Walk(Ctx& ctx, Program program, std::string_view entry, Size size, std::uint32_t threads)
      : Base<S>(ctx, std::move(program), threads), entry_(entry), reps_(walk_reps(size)) {}

  void share(Ctx& ctx, Obj* list) { Base<S>::share(ctx, list, std::uint64_t{reps_} * kListItems); }

  // kListItems instances of C, C(i).v = i.
  [[nodiscard]] Obj* instances(Ctx& ctx) {
    Obj* klass = this->runner_.module().global("C");
    return new_list<S>(ctx, kListItems, [&](std::uint32_t i) {
      Obj* o = new_object<S>(ctx, Kind::instance, 2);
      incref_type(ctx, klass);  // _PyObject_Init's _Py_INCREF_TYPE
      set_item(o, 0, klass);
      set_item(o, 1 + kAttrV, new_setup_int<S>(ctx, i));
      return o;
    });
  }
  // The program with class C bound (the shared lists' programs do not build C).
  [[nodiscard]] static Program with_class(Program p) {
    p.globals.push_back({GlobalSpec::Tag::klass, "C", 1});
    return p;
  }

  std::string_view entry_;
  std::uint32_t reps_;
};

}  // namespace pyvm

// ---------------------------------------------------------------------------

// pyvm_fib: fib(n) through CALL, as workloads/fib.h computes it by hand.
// Checksum per thread: fib(n) with fib(0) = fib(1) = 1; items are calls.
template <class S>
class PyvmFib : public pyvm::Base<S> {
 public:
  static constexpr WorkloadInfo info{"pyvm_fib", "interpreted recursive fib(n): CALL, RESUME, small ints",
                                     "a deferred function loaded per call; frames on the data stack"};
  using Ctx = typename S::Context;
  static constexpr std::uint32_t argument(Size size) { return size == Size::quick ? 20 : 25; }

  PyvmFib(Ctx& ctx, Size size, std::uint32_t threads)
      : pyvm::Base<S>(ctx, pyvm::fib_program(), threads), n_(argument(size)) {
    this->share(ctx, nullptr, 2 * fib_value(n_) - 1);
  }
  std::uint64_t run(Ctx& ctx, ThreadIndex t) { return this->runner_.call(ctx, t, "fib", Runner::integer(n_)); }
  [[nodiscard]] std::uint64_t expected_checksum() const { return fib_value(n_) * this->threads_; }

 private:
  using Runner = pyvm::Runner<S>;
  std::uint32_t n_;
};

// pyvm_shared_iter: `for x in L: s += 1` over one list of 1000 instances of
// a class, built by thread 0 and walked by every thread.
// Checksum per thread: reps * 1000.
template <class S>
class PyvmSharedIter : public pyvm::Walk<S> {
 public:
  static constexpr WorkloadInfo info{"pyvm_shared_iter", "interpreted `for x in L: s += 1`, L shared, of instances",
                                     "every thread's FOR_ITER increfs the same mortal instances"};
  using Ctx = typename S::Context;
  PyvmSharedIter(Ctx& ctx, Size size, std::uint32_t threads)
      : pyvm::Walk<S>(ctx, pyvm::Walk<S>::with_class(pyvm::count_program()), "count", size, threads) {
    this->share(ctx, this->instances(ctx));
  }
};

// pyvm_shared_iter_imm: the same over a shared list of small ints
// (L = [i % 256 for i in range(1000)]), immortal in CPython 3.12+.
// Checksum per thread: reps * 1000.
template <class S>
class PyvmSharedIterImm : public pyvm::Walk<S> {
 public:
  static constexpr WorkloadInfo info{"pyvm_shared_iter_imm",
                                     "interpreted `for x in L: s += 1`, L shared, of small ints",
                                     "shared immortal items: no count traffic where a strategy knows them"};
  using Ctx = typename S::Context;
  PyvmSharedIterImm(Ctx& ctx, Size size, std::uint32_t threads)
      : pyvm::Walk<S>(ctx, pyvm::count_program(), "count", size, threads) {
    this->share(ctx, pyvm::new_list<S>(ctx, pyvm::kListItems, [&](std::uint32_t i) {
      return new_setup_int<S>(ctx, i % 256);
    }));
  }
};

// pyvm_private_iter: the same over a list of 1000 instances that each
// thread builds itself, every iteration (L = [C(i) for i in range(1000)]).
// Checksum per thread: reps * 1000.
template <class S>
class PyvmPrivateIter : public pyvm::Walk<S> {
 public:
  static constexpr WorkloadInfo info{"pyvm_private_iter",
                                     "interpreted `for x in L: s += 1`, L built by each thread",
                                     "thread-private instances: biased's owner path, sticky's local path"};
  using Ctx = typename S::Context;
  PyvmPrivateIter(Ctx& ctx, Size size, std::uint32_t threads)
      : pyvm::Walk<S>(ctx, pyvm::count_private_program(pyvm::kListItems), "count_private", size, threads) {
    this->share(ctx, nullptr);
  }
};

// pyvm_shared_call: `for x in L: s += f(x)`, f a shared function reading
// x.v. Checksum per thread: reps * sum(range(1000)).
template <class S>
class PyvmSharedCall : public pyvm::Walk<S> {
 public:
  static constexpr WorkloadInfo info{"pyvm_shared_call", "interpreted `for x in L: s += f(x)`, f and L shared",
                                     "a shared deferred function called per item, LOAD_ATTR on shared instances"};
  using Ctx = typename S::Context;
  PyvmSharedCall(Ctx& ctx, Size size, std::uint32_t threads)
      : pyvm::Walk<S>(ctx, pyvm::Walk<S>::with_class(pyvm::call_each_program()), "call_each", size, threads) {
    this->share(ctx, this->instances(ctx));
  }
  [[nodiscard]] std::uint64_t expected_checksum() const {
    constexpr std::uint64_t sum_v = std::uint64_t{pyvm::kListItems} * (pyvm::kListItems - 1) / 2;
    return std::uint64_t{this->reps_} * sum_v * this->threads_;
  }
};

// pyvm_tuple_tree: build, check and drop a depth-12 binary tree of tuples,
// per thread. Checksum per thread: reps * (2^13 - 1) nodes; items are nodes.
template <class S>
class PyvmTupleTree : public pyvm::Base<S> {
 public:
  static constexpr WorkloadInfo info{"pyvm_tuple_tree", "interpreted make/check of depth-12 tuple trees, per thread",
                                     "private allocation through BUILD_TUPLE, UNPACK_SEQUENCE, a tree freed at once"};
  using Ctx = typename S::Context;
  static constexpr std::uint32_t kDepth = 12;
  static constexpr std::uint32_t reps(Size size) { return size == Size::quick ? 2 : 20; }

  PyvmTupleTree(Ctx& ctx, Size size, std::uint32_t threads)
      : pyvm::Base<S>(ctx, pyvm::tuple_tree_program(), threads), reps_(reps(size)) {
    this->share(ctx, nullptr, std::uint64_t{reps_} * ((1u << (kDepth + 1)) - 1));
  }
  std::uint64_t run(Ctx& ctx, ThreadIndex t) {
    return this->runner_.call(ctx, t, "trees", Runner::integer(kDepth), Runner::integer(reps_));
  }
  [[nodiscard]] std::uint64_t expected_checksum() const { return this->items_per_thread() * this->threads_; }

 private:
  using Runner = pyvm::Runner<S>;
  std::uint32_t reps_;
};

// pyvm_producer_consumer: thread 2k appends new tuples to a deque it shares
// with thread 2k+1, which pops and unpacks them (handoff.h's pattern,
// interpreted). The deque is bounded (1024 items) and locked per operation,
// as CPython 3.14t locks a deque per method call (a critical section); a
// thread that finds it full or empty blocks through enter_blocking(). One
// thread: `solo` fills a batch of 250 and drains it, in turn.
// Checksum per pair: n + sum(5 * i + 1 for i in range(n)); items are tuples.
template <class S>
class PyvmProducerConsumer : public pyvm::Base<S> {
 public:
  static constexpr WorkloadInfo info{"pyvm_producer_consumer",
                                     "interpreted q.append((i, i * 0.5, 3 * i + 1)) / a, b, c = q.popleft()",
                                     "cross-thread decref at interpreter density, a lock per deque operation"};
  using Ctx = typename S::Context;
  using Obj = Object<S>;
  static constexpr std::uint32_t kCapacity = 1024;
  static constexpr std::uint32_t kBatch = 250;
  static constexpr std::uint32_t items(Size size) { return size == Size::quick ? 10'000 : 200'000; }
  static_assert(items(Size::quick) % kBatch == 0 && items(Size::full) % kBatch == 0 && kBatch <= kCapacity);

  static ThreadSupport supports(std::uint32_t threads) { return paired_threads(threads); }

  PyvmProducerConsumer(Ctx& ctx, Size size, std::uint32_t threads)
      : pyvm::Base<S>(ctx, pyvm::producer_consumer_program(), threads, pairs(threads)), n_(items(size)) {
    Obj* deques = new_object<S>(ctx, Kind::tuple, pairs(threads));
    for (std::uint32_t p = 0; p < pairs(threads); ++p)
      set_item(deques, p, this->runner_.module().new_deque(ctx, kCapacity));
    this->share(ctx, deques, n_);  // each iteration empties every deque
  }

  std::uint64_t run(Ctx& ctx, ThreadIndex t) {
    Obj* q = this->data_->item(t.value / 2);
    if (this->threads_ == 1)
      return this->runner_.call(ctx, t, "solo", Runner::shared(q), Runner::integer(n_ / kBatch),
                                Runner::integer(kBatch));
    if (t.value % 2 == 0)
      return this->runner_.call(ctx, t, "produce", Runner::shared(q), Runner::integer(0), Runner::integer(n_));
    return this->runner_.call(ctx, t, "consume", Runner::shared(q), Runner::integer(n_));
  }
  [[nodiscard]] std::uint64_t expected_checksum() const {
    return pairs(this->threads_) * handoff_pair_checksum(n_);
  }

 private:
  using Runner = pyvm::Runner<S>;
  static constexpr std::uint32_t pairs(std::uint32_t threads) { return threads == 1 ? 1 : threads / 2; }
  std::uint32_t n_;
};

// pyvm_dimuon: seed 003's dimuon loop (workloads/dimuon.h's data), every
// value boxed: the floats, the offsets, the loop indices.
// Checksum per thread: the bits of its `total`, the sum of its events'
// max_mass, expected from the same sum on unboxed doubles (event_max_mass,
// bit-exact); items are muon pairs.
template <class S>
class PyvmDimuon : public pyvm::Base<S> {
 public:
  static constexpr WorkloadInfo info{"pyvm_dimuon", "interpreted Uproot dimuon loop over boxed floats (seed 003)",
                                     "arithmetic temporaries, shared float lists, math builtins loaded per call"};
  using Ctx = typename S::Context;
  using Obj = Object<S>;
  static constexpr std::uint32_t events_per_thread(Size size) { return size == Size::quick ? 1'000 : 20'000; }

  PyvmDimuon(Ctx& ctx, Size size, std::uint32_t threads)
      : pyvm::Base<S>(ctx, pyvm::dimuon_program(), threads), events_(events_per_thread(size)) {
    const MuonColumns d = generate_muons(events_, threads);
    const auto floats = [&](const std::vector<double>& v) {
      return pyvm::new_list<S>(ctx, static_cast<std::uint32_t>(v.size()),
                               [&](std::uint32_t i) { return new_float<S>(ctx, v[i]); });
    };
    Obj* columns = new_object<S>(ctx, Kind::tuple, 4);  // (pt, eta, phi, offsets)
    set_item(columns, 0, floats(d.pt));
    set_item(columns, 1, floats(d.eta));
    set_item(columns, 2, floats(d.phi));
    set_item(columns, 3, pyvm::new_list<S>(ctx, static_cast<std::uint32_t>(d.offsets.size()),
                                           [&](std::uint32_t i) { return new_setup_int<S>(ctx, d.offsets[i]); }));
    for (std::uint32_t t = 0; t < threads; ++t) {
      double total = 0.0;
      for (std::uint32_t e = t * events_; e < (t + 1) * events_; ++e) total += event_max_mass(d, e);
      expected_ += std::bit_cast<std::uint64_t>(total);
    }
    std::uint64_t pairs = 0;
    for (std::uint32_t e = 0; e < events_; ++e) {
      const std::uint64_t n = d.offsets[e + 1] - d.offsets[e];
      pairs += n * (n - 1) / 2;
    }
    this->share(ctx, columns, pairs);
  }

  std::uint64_t run(Ctx& ctx, ThreadIndex t) {
    Obj* c = this->data_;
    const std::uint32_t start = t.value * events_;
    return this->runner_.call(ctx, t, "dimuon", Runner::shared(c->item(0)), Runner::shared(c->item(1)),
                              Runner::shared(c->item(2)), Runner::shared(c->item(3)), Runner::integer(start),
                              Runner::integer(start + events_));
  }
  [[nodiscard]] std::uint64_t expected_checksum() const { return expected_; }

 private:
  using Runner = pyvm::Runner<S>;
  std::uint32_t events_;
  std::uint64_t expected_ = 0;
};

}  // namespace rcb
