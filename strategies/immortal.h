#pragma once
// immortal: PEP 683's immortal objects over atomic counts.
//
// Mechanism: an object the workload declares immortal (None, True/False,
// small ints -5..256, code constants, interned strings: the objects CPython
// 3.12+ creates with _Py_IMMORTAL_REFCNT) gets a saturated count: bit 62
// set. incref/decref load the count and return when the bit is set, so an
// immortal object's line is only ever read, by every thread at once. Every
// other object counts as under `atomic`: relaxed increment, release
// decrement, acquire before the free. Immortal objects never die by
// counting; the runtime lists them and frees them after the last context
// detached (CPython leaves them to interpreter finalisation).
// Invariant: the bit is set once, at declaration, before the object is
// published, and cleared only at shutdown after every context detached, so a
// relaxed load sees a stable bit; no real count reaches 2^62.
// Source: PEP 683; CPython Include/refcount.h (_Py_IsImmortal, Py_INCREF's
// early return); seed 002's "a check for an immortal refcount is cheap".
// Differs from `frozen` in who decides: the runtime's rules at creation, not
// a pass over what the workload's setup reached.
// Loses: every op on a mortal object pays a load and a branch before its RMW.

#include <array>
#include <atomic>
#include <cstdint>

#include "strategies/atomic_count.h"
#include "strategies/cpython_facts.h"
#include "strategies/object.h"
#include "strategies/pinned.h"
#include "strategies/strategy.h"

namespace rcb {

template <class P = Counted>
struct BasicImmortal {
  static constexpr StrategyInfo info{
      "immortal", "PEP 683: declared-immortal objects carry a saturated count that is never written; others atomic",
      true};
  static constexpr std::array reported{Counter::atomic_rmw, Counter::skipped_ops,
                                       Counter::immortal_objects};

  using Obj = Object<BasicImmortal>;
  static constexpr std::uint64_t kImmortal = std::uint64_t{1} << 62;

  struct Header {
    std::atomic<std::uint64_t> count;
  };

  [[nodiscard]] static bool is_immortal(const Obj* o) {
    return (o->rc.count.load(std::memory_order_relaxed) & kImmortal) != 0;
  }

  class Runtime {
   public:
    Runtime() = default;
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;

    [[nodiscard]] Counters counters() const {
      Counters c;
      c.raise_to(Counter::immortal_objects, immortal_.size());
      return c;
    }
    void shutdown() {
      objects_freed_ += immortal_.template free_all<BasicImmortal>(*this, is_immortal, [](Obj* o) {
        o->rc.count.store(1, std::memory_order_relaxed);
      });
    }
    [[nodiscard]] std::uint64_t objects_freed() const { return objects_freed_; }

    void remember(Obj* o) { immortal_.remember(o); }

   private:
    PinnedList<Obj> immortal_;
    std::uint64_t objects_freed_ = 0;
  };

  class Context : public PassiveContext {
   public:
    Context(Runtime& rt, ThreadIndex idx) : PassiveContext(idx), rt_(&rt) {}

    void init_header(Obj* o) { o->rc.count.store(1, std::memory_order_relaxed); }

    // The creator's reference becomes part of the saturated count: the
    // workload's own later decref of it is skipped like any other.
    void declare(Obj* o, CPythonFact fact) {
      if (fact != CPythonFact::immortal || is_immortal(o)) return;
      o->rc.count.store(kImmortal, std::memory_order_relaxed);
      rt_->remember(o);
    }
    // 3.14 tags stack references to immortal objects instead of counting them.
    [[nodiscard]] bool stack_skips_count(const Obj* o) const { return is_immortal(o); }

    void incref(Obj* o) {
      if (is_immortal(o)) {
        tally<P::kCounting>(counters, Counter::skipped_ops);
        return;
      }
      count_increment_relaxed(o->rc.count);
      tally<P::kCounting>(counters, Counter::atomic_rmw);
    }
    void decref(Obj* o) {
      if (is_immortal(o)) {
        tally<P::kCounting>(counters, Counter::skipped_ops);
        return;
      }
      tally<P::kCounting>(counters, Counter::atomic_rmw);
      if (count_decrement_release_is_last(o->rc.count)) reclaim<BasicImmortal>(*this, o);
    }

   private:
    Runtime* rt_;
  };
};

using Immortal = BasicImmortal<>;

static_assert(RefCountStrategy<Immortal>);
static_assert(RefCountStrategy<Uncounted<Immortal>>);

}  // namespace rcb
