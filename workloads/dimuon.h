#pragma once
// dimuon: the dimuon-mass loop of the Uproot scaling test (seed 003), over
// lists of boxed floats.
//
//   for event in range(start, stop):
//       max_mass = 0
//       for i in range(offsets[event], offsets[event + 1]):
//           pt1 = pt[i]
//           eta1 = eta[i]
//           phi1 = phi[i]
//           for j in range(i + 1, offsets[event + 1]):
//               pt2 = pt[j]
//               eta2 = eta[j]
//               phi2 = phi[j]
//               m = sqrt(2*pt1*pt2*(cosh(eta1 - eta2) - cos(phi1 - phi2)))
//               if m > max_mass:
//                   max_mass = m
//       mass[event] = max_mass
//
// Pattern: arithmetic temporaries. Every muon pair boxes nine floats and
// drops them (2*pt1, *pt2, eta1 - eta2, cosh(), phi1 - phi2, cos(), the
// difference, the product, sqrt()), all thread-private; around them, each
// subscript increfs a float that thread 0 created at setup.
//
// The talk reads ctypes arrays, which box a fresh float on every read; here
// pt, eta and phi are lists of floats, as pure-Python code holds them, so a
// read increfs the list's float instead. offsets stays an unboxed array and
// the loop indices stay unboxed (workloads/interp.h has the model).
//
// Data: a fixed-seed SplitMix64 draws 0..4 muons per event, pt uniform in
// [5, 100) GeV, eta in [-2.4, 2.4), phi in [-pi, pi). The dataset holds
// events_per_thread * threads events and thread t takes the t-th slice
// (start = t * events_per_thread), as the talk splits events across
// threads. The muon counts of one slice repeat in every slice, so every
// thread has exactly the same number of pairs (weak scaling); the kinematics
// are drawn afresh for every muon.
// Declares nothing: constants (0, 2, immortal code constants in CPython)
// are unboxed here and cost no traffic, math.sqrt and friends touch no
// function object (workloads/interp.h), and every float is mortal.
// Work per iteration per thread: quick 2,000 events holding 3,850 muon pairs,
// full 20,000 events holding 39,265 pairs; items are pairs.
// Checksum per thread: the sum, mod 2^64, of the bit patterns of its events'
// max_mass; expected from the same arithmetic on unboxed doubles, in the
// same order (no -ffast-math anywhere), so it is bit-exact.

#include <bit>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <utility>
#include <vector>

#include "strategies/object.h"
#include "workloads/interp.h"
#include "workloads/random.h"
#include "workloads/workload.h"

namespace rcb {

// The talk's columns, unboxed: event e's muons are [offsets[e], offsets[e+1]).
struct MuonColumns {
  std::vector<std::uint32_t> offsets;
  std::vector<double> pt, eta, phi;
};

inline MuonColumns generate_muons(std::uint32_t events_per_thread, std::uint32_t threads) {
  SplitMix64 counts(0x6d756f6e636f756e);
  SplitMix64 kinematics(0x64696d756f6e4d4d);
  std::vector<std::uint32_t> muons(events_per_thread);
  for (auto& n : muons) n = counts.below(5);

  MuonColumns d;
  d.offsets.reserve(std::size_t{events_per_thread} * threads + 1);
  d.offsets.push_back(0);
  for (std::uint32_t t = 0; t < threads; ++t) {
    for (const std::uint32_t n : muons) {
      for (std::uint32_t m = 0; m < n; ++m) {
        d.pt.push_back(kinematics.uniform(5.0, 100.0));
        d.eta.push_back(kinematics.uniform(-2.4, 2.4));
        d.phi.push_back(kinematics.uniform(-std::numbers::pi, std::numbers::pi));
      }
      d.offsets.push_back(static_cast<std::uint32_t>(d.pt.size()));
    }
  }
  return d;
}

// max_mass of event e on unboxed doubles: the same operations in the same
// order as the boxed loops (no -ffast-math anywhere), so the result is
// bit-exact against them.
[[nodiscard]] inline double event_max_mass(const MuonColumns& d, std::size_t e) {
  double max_mass = 0;
  for (std::uint32_t i = d.offsets[e]; i < d.offsets[e + 1]; ++i)
    for (std::uint32_t j = i + 1; j < d.offsets[e + 1]; ++j) {
      const double m =
          std::sqrt(2 * d.pt[i] * d.pt[j] * (std::cosh(d.eta[i] - d.eta[j]) - std::cos(d.phi[i] - d.phi[j])));
      if (m > max_mass) max_mass = m;
    }
  return max_mass;
}

template <class S>
class Dimuon {
 public:
  static constexpr WorkloadInfo info{
      "dimuon", "the Uproot dimuon-mass loop over lists of boxed floats (seed 003)",
      "arithmetic temporaries: nine private boxed floats per muon pair"};

  using Ctx = typename S::Context;
  using Obj = Object<S>;

  static constexpr std::uint32_t events_per_thread(Size size) {
    return size == Size::quick ? 2'000 : 20'000;
  }

  Dimuon(Ctx& ctx, Size size, std::uint32_t threads) : events_per_thread_(events_per_thread(size)) {
    MuonColumns data = generate_muons(events_per_thread_, threads);
    pt_ = new_float_list<S>(ctx, data.pt);
    eta_ = new_float_list<S>(ctx, data.eta);
    phi_ = new_float_list<S>(ctx, data.phi);
    ctx.publish(pt_);
    ctx.publish(eta_);
    ctx.publish(phi_);
    expected_ = unboxed_checksum(data);
    offsets_ = std::move(data.offsets);
    for (std::uint32_t e = 0; e < events_per_thread_; ++e) {
      const std::uint64_t n = offsets_[e + 1] - offsets_[e];
      if (n > 1) pairs_per_thread_ += n * (n - 1) / 2;
    }
  }

  std::uint64_t run(Ctx& ctx, ThreadIndex t) {
    Interp<S> py(ctx);
    Obj *pt1 = nullptr, *eta1 = nullptr, *phi1 = nullptr;
    Obj *pt2 = nullptr, *eta2 = nullptr, *phi2 = nullptr;
    Obj *m = nullptr, *max_mass = nullptr;
    std::uint64_t checksum = 0;

    const std::uint32_t start = t.value * events_per_thread_;
    const std::uint32_t stop = start + events_per_thread_;
    for (std::uint32_t event = start; event < stop; ++event) {
      py.store(max_mass, py.zero());
      for (std::uint32_t i = offsets_[event]; i < offsets_[event + 1]; ++i) {
        py.store(pt1, py.subscript(pt_, i));
        py.store(eta1, py.subscript(eta_, i));
        py.store(phi1, py.subscript(phi_, i));
        for (std::uint32_t j = i + 1; j < offsets_[event + 1]; ++j) {
          py.store(pt2, py.subscript(pt_, j));
          py.store(eta2, py.subscript(eta_, j));
          py.store(phi2, py.subscript(phi_, j));
          // m = sqrt(2*pt1*pt2*(cosh(eta1 - eta2) - cos(phi1 - phi2)))
          auto scale = py.mul(py.mul(2.0, pt1), pt2);
          auto ch = py.call(cosh, py.sub(eta1, eta2));
          auto cs = py.call(cos, py.sub(phi1, phi2));
          py.store(m, py.call(sqrt, py.mul(scale, py.sub(ch, cs))));
          if (py.value(m) > py.value(max_mass)) py.store(max_mass, py.copy(m));
          ctx.safepoint();  // the eval breaker, on the backward jump
        }
        ctx.safepoint();
      }
      checksum += std::bit_cast<std::uint64_t>(py.value(max_mass));  // mass[event] = max_mass
      ctx.safepoint();
    }
    // The frame ends.
    for (Obj** local : {&pt1, &eta1, &phi1, &pt2, &eta2, &phi2, &m, &max_mass}) py.clear(*local);
    return checksum;
  }

  [[nodiscard]] std::uint64_t expected_checksum() const { return expected_; }
  [[nodiscard]] std::uint64_t items_per_thread() const { return pairs_per_thread_; }

  template <class Visit>
  void roots(Visit&& visit) const {
    visit(pt_);
    visit(eta_);
    visit(phi_);
  }

  void teardown(Ctx& ctx) {
    ctx.decref(pt_);
    ctx.decref(eta_);
    ctx.decref(phi_);
  }

 private:
  // Lambdas, not std::cosh: a function pointer to an overload set is ambiguous.
  static constexpr auto cosh = [](double x) { return std::cosh(x); };
  static constexpr auto cos = [](double x) { return std::cos(x); };
  static constexpr auto sqrt = [](double x) { return std::sqrt(x); };

  static std::uint64_t unboxed_checksum(const MuonColumns& d) {
    std::uint64_t sum = 0;
    for (std::size_t e = 0; e + 1 < d.offsets.size(); ++e) sum += std::bit_cast<std::uint64_t>(event_max_mass(d, e));
    return sum;
  }

  std::uint32_t events_per_thread_;
  std::vector<std::uint32_t> offsets_;
  Obj* pt_ = nullptr;
  Obj* eta_ = nullptr;
  Obj* phi_ = nullptr;
  std::uint64_t pairs_per_thread_ = 0;
  std::uint64_t expected_ = 0;
};

}  // namespace rcb
