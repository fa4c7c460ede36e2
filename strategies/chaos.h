#pragma once
// Chaos<true>: random yields that tests switch on through a strategy's or a
// workload's tuning parameter, so that thread interleavings a 2-core machine
// would almost never produce (a preemption between a CAS and the enqueue
// that follows it, a log hand-over racing an epoch close) show up in a short
// run. Chaos<false> is empty and every call compiles to nothing, so
// benchmark builds pay neither a branch nor a byte.
//
// Deterministic: the generator is seeded from the caller's thread index, and
// it lives in the caller's context, never in thread-local storage.

#include <cstdint>
#include <thread>

namespace rcb {

template <bool kEnabled>
class Chaos {
 public:
  explicit Chaos(std::uint64_t seed) : state_(seed * 0x9E3779B97F4A7C15ull + 1) {}

  // Yields the CPU with probability 1/one_in.
  void maybe_yield(std::uint32_t one_in = 8) {
    if (next() % one_in == 0) std::this_thread::yield();
  }

  // xorshift64*: a full-period generator that costs three shifts.
  std::uint64_t next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545F4914F6CDD1Dull;
  }

 private:
  std::uint64_t state_;
};

template <>
class Chaos<false> {
 public:
  explicit Chaos(std::uint64_t) {}
  void maybe_yield(std::uint32_t = 8) {}
};

}  // namespace rcb
