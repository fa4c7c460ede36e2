#pragma once
// plain: a non-atomic count in the header, as CPython with the GIL keeps it.
//
// Mechanism: incref is `++count`, decref is `--count` and a free at zero.
// Invariant: only one thread ever touches an object, so a plain add is exact.
// Source: seeds 000 and 001 (CPython's classic Py_INCREF/Py_DECREF).
// Role: the lower bound every other strategy is measured against. It is not
// thread-safe, so it is only ever run at one thread; that is what it loses.

#include <cstdint>

#include "strategies/object.h"
#include "strategies/strategy.h"

namespace rcb {

struct Plain {
  static constexpr StrategyInfo info{
      "plain", "non-atomic count in the header; one thread only; the lower bound", false};
  static constexpr std::array<Counter, 0> reported{};

  struct Header {
    std::uint64_t count;
  };

  using Runtime = StatelessRuntime;

  class Context : public PassiveContext {
   public:
    Context(Runtime&, ThreadIndex idx) : PassiveContext(idx) {}

    void init_header(Object<Plain>* o) { o->rc.count = 1; }
    void incref(Object<Plain>* o) { ++o->rc.count; }
    void decref(Object<Plain>* o) {
      if (--o->rc.count == 0) reclaim<Plain>(*this, o);
    }
  };
};

static_assert(RefCountStrategy<Plain>);

}  // namespace rcb
