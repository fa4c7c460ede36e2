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
// Sizes: `--size reference` runs each program at ../shared/reference_programs.py's
// own sizes (fib(32), SHARED_REPS = 10,000, SHARED_CALL_REPS = 5,000,
// TREE_REPS = 300, PC_ITEMS = 3,000,000, NEV = 400,000), each iteration
// the reference's whole timed region per thread. Quick sizes keep one
// iteration in the low milliseconds in a release build, so the typed
// tests (every strategy x 1, 2, 3 threads) and sanitizer builds stay fast;
// full sizes are 10-25x larger. None is tuned to a measured figure.

#include <array>
#include <atomic>
#include <cmath>
#include <numbers>
#include <bit>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "strategies/cpython_facts.h"
#include "strategies/object.h"
#include "workloads/blocking.h"
#include "workloads/random.h"
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
    const std::array<Ref, sizeof...(Args)> args{make_args(vm)...};
    const Ref result = vm.call(function, std::span<const Ref>(args.data(), args.size()));
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

// The lists the iteration programs walk: 1000 items (reference_programs.py).
inline constexpr std::uint32_t kListItems = 1000;

// SHARED_REPS (walks of the list per thread and iteration) and
// SHARED_CALL_REPS, half as many in the reference.
[[nodiscard]] constexpr std::uint32_t walk_reps(Size size) {
  return size == Size::quick ? 20 : size == Size::full ? 400 : 10'000;
}
[[nodiscard]] constexpr std::uint32_t call_reps(Size size) { return walk_reps(size) / 2; }

// A module global the workload binds: an int (a size), a new reference.
template <class S>
void bind_int(typename S::Context& ctx, Runner<S>& runner, std::string_view name, std::int64_t v) {
  runner.module().set_global(name, new_setup_int<S>(ctx, v));
}

// The list-walking workloads: `reps` walks of a list of kListItems per
// thread and iteration; `entry()` returns what it summed.
template <class S>
class Walk : public Base<S> {
 public:
  using Ctx = typename S::Context;
  using Obj = Object<S>;

  // One per item walked, unless the program sums something else (Obj(1).v
  // is 1, so w_shared_call's sum is the count too).
  [[nodiscard]] std::uint64_t expected_checksum() const { return this->items_per_thread() * this->threads_; }

  std::uint64_t run(Ctx& ctx, ThreadIndex t) { return this->runner_.call(ctx, t, entry_); }

 protected:
  Walk(Ctx& ctx, Program program, std::string_view entry, std::string_view reps_global, std::uint32_t reps,
       std::uint32_t threads)
      : Base<S>(ctx, std::move(program), threads), entry_(entry), reps_(reps) {
    bind_int<S>(ctx, this->runner_, reps_global, reps);
  }

  // Ends setup; `list` (null for none) is bound to the global `name`, which
  // holds its reference (the module keeps it alive).
  void share(Ctx& ctx, std::string_view name, Obj* list) {
    if (list != nullptr) this->runner_.module().set_global(name, list);
    Base<S>::share(ctx, nullptr, std::uint64_t{reps_} * kListItems);
  }

  // L = [Obj(1) for _ in range(1000)], built by the main thread (module level).
  [[nodiscard]] Obj* instances(Ctx& ctx) {
    Obj* klass = this->runner_.module().global("Obj");
    return new_list<S>(ctx, kListItems, [&](std::uint32_t) {
      Obj* o = new_object<S>(ctx, Kind::instance, 2);
      incref_type(ctx, klass);  // _PyObject_Init's _Py_INCREF_TYPE
      set_item(o, 0, klass);
      set_item(o, 1 + kAttrV, new_setup_int<S>(ctx, 1));
      return o;
    });
  }

  std::string_view entry_;
  std::uint32_t reps_;
};

}  // namespace pyvm

// ---------------------------------------------------------------------------

// pyvm_fib: a. fib(FIB_N) per thread, through CALL, as workloads/fib.h
// computes it by hand (the thread's target w_fib is left out: one frame).
// Checksum per thread: fib(n) with fib(0) = fib(1) = 1; items are calls.
template <class S>
class PyvmFib : public pyvm::Base<S> {
 public:
  static constexpr WorkloadInfo info{"pyvm_fib", "interpreted recursive fib(n): CALL, RESUME, small ints",
                                     "a deferred function loaded per call; frames on the data stack"};
  using Ctx = typename S::Context;
  static constexpr std::uint32_t argument(Size size) {
    return size == Size::quick ? 20 : size == Size::full ? 25 : 32;
  }

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

// pyvm_shared_iter: b. w_shared_iter, `for x in L: s += 1` over the global
// L of 1000 Obj(1), built by the main thread and walked by every thread.
// Checksum per thread: SHARED_REPS * 1000.
template <class S>
class PyvmSharedIter : public pyvm::Walk<S> {
 public:
  static constexpr WorkloadInfo info{"pyvm_shared_iter", "interpreted `for x in L: s += 1`, L shared, of instances",
                                     "every thread's FOR_ITER increfs the same mortal instances"};
  using Ctx = typename S::Context;
  PyvmSharedIter(Ctx& ctx, Size size, std::uint32_t threads)
      : pyvm::Walk<S>(ctx, pyvm::shared_iter_program("w_shared_iter", "L"), "w_shared_iter", "SHARED_REPS",
                      pyvm::walk_reps(size), threads) {
    this->share(ctx, "L", this->instances(ctx));
  }
};

// pyvm_shared_iter_imm: w_shared_iter_imm, the same over the global
// L_IMM = [i % 256 for i in range(1000)], small ints, immortal in 3.12+.
// Checksum per thread: SHARED_REPS * 1000.
template <class S>
class PyvmSharedIterImm : public pyvm::Walk<S> {
 public:
  static constexpr WorkloadInfo info{"pyvm_shared_iter_imm",
                                     "interpreted `for x in L: s += 1`, L shared, of small ints",
                                     "shared immortal items: no count traffic where a strategy knows them"};
  using Ctx = typename S::Context;
  PyvmSharedIterImm(Ctx& ctx, Size size, std::uint32_t threads)
      : pyvm::Walk<S>(ctx, pyvm::shared_iter_program("w_shared_iter_imm", "L_IMM"), "w_shared_iter_imm",
                      "SHARED_REPS", pyvm::walk_reps(size), threads) {
    this->share(ctx, "L_IMM", pyvm::new_list<S>(ctx, pyvm::kListItems, [&](std::uint32_t i) {
      return new_setup_int<S>(ctx, i % 256);
    }));
  }
};

// pyvm_private_iter: w_private_iter, the same over P = [Obj(1) for _ in
// range(1000)], which each thread builds once per call. Checksum per
// thread: SHARED_REPS * 1000.
template <class S>
class PyvmPrivateIter : public pyvm::Walk<S> {
 public:
  static constexpr WorkloadInfo info{"pyvm_private_iter",
                                     "interpreted `for x in P: s += 1`, P built by each thread",
                                     "thread-private instances: biased's owner path, sticky's local path"};
  using Ctx = typename S::Context;
  PyvmPrivateIter(Ctx& ctx, Size size, std::uint32_t threads)
      : pyvm::Walk<S>(ctx, pyvm::private_iter_program(pyvm::kListItems), "w_private_iter", "SHARED_REPS",
                      pyvm::walk_reps(size), threads) {
    this->share(ctx, "", nullptr);
  }
};

// pyvm_shared_call: w_shared_call, `for x in L: s += f(x)`, f a shared
// function reading x.v. Checksum per thread: SHARED_CALL_REPS * 1000 (v = 1).
template <class S>
class PyvmSharedCall : public pyvm::Walk<S> {
 public:
  static constexpr WorkloadInfo info{"pyvm_shared_call", "interpreted `for x in L: s += f(x)`, f and L shared",
                                     "a shared deferred function called per item, LOAD_ATTR on shared instances"};
  using Ctx = typename S::Context;
  PyvmSharedCall(Ctx& ctx, Size size, std::uint32_t threads)
      : pyvm::Walk<S>(ctx, pyvm::shared_call_program(), "w_shared_call", "SHARED_CALL_REPS", pyvm::call_reps(size),
                      threads) {
    this->share(ctx, "L", this->instances(ctx));
  }
};

// pyvm_tuple_tree: c. w_alloc, TREE_REPS trees of depth 12 built, checked
// and dropped per thread. Checksum per thread: TREE_REPS * (2^13 - 1), the
// nodes check() counts; items are those nodes.
template <class S>
class PyvmTupleTree : public pyvm::Base<S> {
 public:
  static constexpr WorkloadInfo info{"pyvm_tuple_tree", "interpreted make_tree/check of depth-12 tuple trees",
                                     "private allocation through BUILD_TUPLE, t[0] is None, a tree freed at once"};
  using Ctx = typename S::Context;
  static constexpr std::uint32_t kDepth = 12;
  static constexpr std::uint32_t reps(Size size) { return size == Size::quick ? 2 : size == Size::full ? 20 : 300; }

  PyvmTupleTree(Ctx& ctx, Size size, std::uint32_t threads)
      : pyvm::Base<S>(ctx, pyvm::tuple_tree_program(), threads) {
    pyvm::bind_int<S>(ctx, this->runner_, "TREE_REPS", reps(size));
    pyvm::bind_int<S>(ctx, this->runner_, "TREE_DEPTH", kDepth);
    this->share(ctx, nullptr, std::uint64_t{reps(size)} * ((1u << (kDepth + 1)) - 1));
  }
  std::uint64_t run(Ctx& ctx, ThreadIndex t) { return this->runner_.call(ctx, t, "w_alloc"); }
  [[nodiscard]] std::uint64_t expected_checksum() const { return this->items_per_thread() * this->threads_; }
};

// pyvm_producer_consumer: d. thread 2k puts PC_ITEMS new lists [i] into a
// queue.SimpleQueue it shares with thread 2k+1, then None; thread 2k+1
// gets until None, dropping each list on its own thread (handoff.h's
// pattern, interpreted). One thread: w_pc_single puts and gets in turn.
// SimpleQueue is unbounded (a ring of PC_ITEMS + 1 slots never fills);
// its C lock is a std::mutex per queue, and a get that finds it empty
// blocks through enter_blocking(). Checksum per queue: the items got and
// the ints they held, n + n(n-1)/2 (tallied by get(): the Python returns
// None); items are lists.
template <class S>
class PyvmProducerConsumer : public pyvm::Base<S> {
 public:
  static constexpr WorkloadInfo info{"pyvm_producer_consumer", "interpreted q.put([i]) / x = q.get() (SimpleQueue)",
                                     "cross-thread decref at interpreter density, a lock per queue operation"};
  using Ctx = typename S::Context;
  using Obj = Object<S>;
  static constexpr std::uint32_t items(Size size) {
    return size == Size::quick ? 10'000 : size == Size::full ? 200'000 : 3'000'000;
  }

  static ThreadSupport supports(std::uint32_t threads) { return paired_threads(threads); }

  PyvmProducerConsumer(Ctx& ctx, Size size, std::uint32_t threads)
      : pyvm::Base<S>(ctx, pyvm::producer_consumer_program(), threads, pairs(threads)), n_(items(size)) {
    Obj* queues = new_object<S>(ctx, Kind::tuple, pairs(threads));
    for (std::uint32_t p = 0; p < pairs(threads); ++p)
      set_item(queues, p, this->runner_.module().new_queue(ctx, n_ + 1));
    this->share(ctx, queues, n_);  // each iteration empties every queue
  }

  std::uint64_t run(Ctx& ctx, ThreadIndex t) {
    Obj* q = this->data_->item(t.value / 2);
    const pyvm::QueueSync& tally = this->runner_.module().queue_sync(q);
    const std::uint64_t before = tally.got + tally.sum;  // only this queue's one getter changes them
    if (this->threads_ == 1) {
      this->runner_.call(ctx, t, "w_pc_single", Runner::shared(q), Runner::integer(n_));
    } else if (t.value % 2 == 0) {
      this->runner_.call(ctx, t, "w_producer", Runner::shared(q), Runner::integer(n_));
      return 0;  // the consumer reports the pair's handover
    } else {
      this->runner_.call(ctx, t, "w_consumer", Runner::shared(q));
    }
    return tally.got + tally.sum - before;
  }
  [[nodiscard]] std::uint64_t expected_checksum() const {
    const std::uint64_t n = n_;
    return pairs(this->threads_) * (n + n * (n - 1) / 2);
  }

 private:
  using Runner = pyvm::Runner<S>;
  static constexpr std::uint32_t pairs(std::uint32_t threads) { return threads == 1 ? 1 : threads / 2; }
  std::uint32_t n_;
};

namespace pyvm {
// gen_events' distribution: 2, 3 or 4 muons (weights 3:2:1), pt
// exponential with mean 30 GeV plus 5, eta uniform in [-2.4, 2.4), phi in
// [-pi, pi). SplitMix64 (random.h) stands in for Python's Mersenne
// Twister. Every thread's events have the same multiplicities, so every
// thread has the same pairs to compute (weak scaling), not the same data.
struct MuonEvent {
  std::vector<double> pt, eta, phi;
};
inline std::vector<MuonEvent> reference_events(std::uint32_t per_thread, std::uint32_t threads) {
  SplitMix64 counts(0x6d756f6e636f756e), kinematics(0x64696d756f6e4d4d);
  constexpr std::uint32_t kChoices[] = {2, 2, 2, 3, 3, 4};
  std::vector<std::uint32_t> muons(per_thread);
  for (auto& m : muons) m = kChoices[counts.below(6)];
  std::vector<MuonEvent> events;
  events.reserve(std::size_t{per_thread} * threads);
  for (std::uint32_t t = 0; t < threads; ++t)
    for (const std::uint32_t m : muons) {
      MuonEvent& e = events.emplace_back();
      for (std::uint32_t k = 0; k < m; ++k) e.pt.push_back(5.0 - 30.0 * std::log1p(-kinematics.uniform(0, 1)));
      for (std::uint32_t k = 0; k < m; ++k) e.eta.push_back(kinematics.uniform(-2.4, 2.4));
      for (std::uint32_t k = 0; k < m; ++k) e.phi.push_back(kinematics.uniform(-std::numbers::pi, std::numbers::pi));
    }
  return events;
}
// w_dimuon's total over events [start, stop), on unboxed doubles in the
// interpreter's order of operations: bit-exact.
inline double reference_total(const std::vector<MuonEvent>& ev, std::size_t start, std::size_t stop) {
  double total = 0.0;
  for (std::size_t k = start; k < stop; ++k) {
    const MuonEvent& e = ev[k];
    for (std::size_t i = 0; i < e.pt.size(); ++i)
      for (std::size_t j = i + 1; j < e.pt.size(); ++j)
        total += std::sqrt(2 * e.pt[i] * e.pt[j] * (std::cosh(e.eta[i] - e.eta[j]) - std::cos(e.phi[i] - e.phi[j])));
  }
  return total;
}
}  // namespace pyvm

// pyvm_dimuon: e. w_dimuon over the global EVENTS, a list of (pt, eta, phi)
// tuples of float lists built by the main thread: NEV events per thread,
// thread k reading events [k NEV, (k+1) NEV), every value boxed.
// Checksum per thread: the bits of its total, expected from
// pyvm::reference_total; items are muon pairs.
template <class S>
class PyvmDimuon : public pyvm::Base<S> {
 public:
  static constexpr WorkloadInfo info{"pyvm_dimuon", "interpreted dimuon pair masses over shared event lists",
                                     "arithmetic temporaries, shared float lists, math builtins called per pair"};
  using Ctx = typename S::Context;
  using Obj = Object<S>;
  static constexpr std::uint32_t events_per_thread(Size size) {
    return size == Size::quick ? 1'000 : size == Size::full ? 20'000 : 400'000;
  }

  PyvmDimuon(Ctx& ctx, Size size, std::uint32_t threads)
      : pyvm::Base<S>(ctx, pyvm::dimuon_program(), threads), events_(events_per_thread(size)) {
    const std::vector<pyvm::MuonEvent> ev = pyvm::reference_events(events_, threads);
    const auto floats = [&](const std::vector<double>& v) {
      return pyvm::new_list<S>(ctx, static_cast<std::uint32_t>(v.size()),
                               [&](std::uint32_t i) { return new_float<S>(ctx, v[i]); });
    };
    Obj* events = pyvm::new_list<S>(ctx, static_cast<std::uint32_t>(ev.size()), [&](std::uint32_t k) {
      Obj* e = new_object<S>(ctx, Kind::tuple, 3);
      set_item(e, 0, floats(ev[k].pt));
      set_item(e, 1, floats(ev[k].eta));
      set_item(e, 2, floats(ev[k].phi));
      return e;
    });
    this->runner_.module().set_global("EVENTS", events);
    for (std::uint32_t t = 0; t < threads; ++t)
      expected_ += std::bit_cast<std::uint64_t>(pyvm::reference_total(ev, std::size_t{t} * events_,
                                                                      std::size_t{t + 1} * events_));
    std::uint64_t pairs = 0;
    for (std::uint32_t k = 0; k < events_; ++k) pairs += ev[k].pt.size() * (ev[k].pt.size() - 1) / 2;
    this->share(ctx, nullptr, pairs);
  }

  std::uint64_t run(Ctx& ctx, ThreadIndex t) {
    const std::uint32_t start = t.value * events_;
    return this->runner_.call(ctx, t, "w_dimuon", Runner::integer(start), Runner::integer(start + events_));
  }
  [[nodiscard]] std::uint64_t expected_checksum() const { return expected_; }

 private:
  using Runner = pyvm::Runner<S>;
  std::uint32_t events_;
  std::uint64_t expected_ = 0;
};

}  // namespace rcb
