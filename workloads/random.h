#pragma once
// Deterministic data for workloads: SplitMix64 (Steele, Lea and Flood,
// "Fast splittable pseudorandom number generators", OOPSLA 2014), the
// generator behind Java's SplittableRandom.
//
// Not <random>: its distributions are implementation-defined, so the same
// seed could give other data, and so other checksums, under libc++ than
// under libstdc++. Everything here is fixed arithmetic on 64-bit integers
// and one exact scaling to double, identical on every platform. It is not
// for anything that needs statistical quality beyond "looks irregular".

#include <cstdint>

namespace rcb {

class SplitMix64 {
 public:
  explicit constexpr SplitMix64(std::uint64_t seed) : state_(seed) {}

  constexpr std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
    z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
    return z ^ (z >> 31);
  }

  // Uniform in [lo, hi): the top 53 bits scaled exactly into [0, 1).
  constexpr double uniform(double lo, double hi) {
    const double unit = static_cast<double>(next() >> 11) * 0x1p-53;
    return lo + (hi - lo) * unit;
  }

  // Uniform in [0, n) by multiply-shift (Lemire); the bias is below 2^-32.
  constexpr std::uint32_t below(std::uint32_t n) {
    return static_cast<std::uint32_t>(((next() >> 32) * n) >> 32);
  }

 private:
  std::uint64_t state_;
};

}  // namespace rcb
