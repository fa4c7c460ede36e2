#pragma once
// matmul_lists: the list-of-lists matrix multiply of seed 004 (the lecture's
// "incredibly slow native Python"), over matrices all threads share.
//
//   def getElement(a, b, i, j, n):
//       sum = 0.
//       for k in range(n):
//           sum += (a[i])[k] * (b[k])[j]
//       return sum
//   result = [[getElement(a, b, i, j, n) for j in range(n)]
//             for i in range(start, stop)]
//
// Pattern: shared reads plus private temporaries. Every step of the k loop
// increfs and drops a row and an element of A and a row and an element of B
// (objects thread 0 created at setup) and boxes two private floats, the
// product and the new sum, dropping the product and the old sum.
// The call to getElement touches no function object (fib measures calls).
//
// A is (rows_per_thread * threads) x n and B is n x n; thread t computes rows
// [t * rows_per_thread, (t + 1) * rows_per_thread) of C = A x B into a new
// list of lists, dropped at the end of the iteration. Every thread does the
// same rows_per_thread * n * n steps (weak scaling); each row of A is read
// by one thread, every row of B by all of them.
// Declares nothing: the constant 0. is unboxed (held as null), the call
// touches no function object, and every list and float is mortal.
// Work per iteration per thread: rows_per_thread * n * n multiply-adds
// (quick 16 x 48 x 48 = 36,864; full 40 x 96 x 96 = 368,640).
// Values are integers in [-9, 9] (a fixed-seed SplitMix64) held as floats,
// so every sum is exact and no order of additions can change a bit.
// Checksum per thread: sum of (i + 1) * (j + 1) * C[i][j] over its rows i
// (global index) and all columns j, mod 2^64; the weights catch an entry in
// the wrong place. Expected, factored: sum over k of
// (sum_i (i + 1) * A[i][k]) * (sum_j (j + 1) * B[k][j]), in integers.

#include <cstdint>
#include <span>
#include <vector>

#include "strategies/object.h"
#include "workloads/interp.h"
#include "workloads/random.h"
#include "workloads/workload.h"

namespace rcb {

struct MatmulShape {
  std::uint32_t rows_per_thread;
  std::uint32_t n;
};

// The matrices, unboxed and row-major: A (rows x n) and B (n x n). Each has
// its own stream, so A's first rows are the same for any thread count.
struct MatmulInput {
  std::vector<double> a, b;
};

inline std::vector<double> generate_small_ints(std::uint64_t seed, std::size_t count) {
  SplitMix64 rng(seed);
  std::vector<double> v(count);
  for (auto& x : v) x = static_cast<double>(rng.below(19)) - 9.0;
  return v;
}

inline MatmulInput generate_matmul(std::uint32_t rows, std::uint32_t n) {
  return {generate_small_ints(0x6d61746d756c4141, std::size_t{rows} * n),
          generate_small_ints(0x6d61746d756c4242, std::size_t{n} * n)};
}

template <class S>
class MatmulLists {
 public:
  static constexpr WorkloadInfo info{
      "matmul_lists", "the list-of-lists matrix multiply of seed 004, matrices shared",
      "shared reads (rows and elements of A and B) plus private float temporaries"};

  using Ctx = typename S::Context;
  using Obj = Object<S>;

  static constexpr MatmulShape shape(Size size) {
    return size == Size::quick ? MatmulShape{16, 48} : MatmulShape{40, 96};
  }

  MatmulLists(Ctx& ctx, Size size, std::uint32_t threads)
      : rows_per_thread_(shape(size).rows_per_thread), n_(shape(size).n) {
    const std::uint32_t rows = rows_per_thread_ * threads;
    const MatmulInput in = generate_matmul(rows, n_);
    a_ = new_matrix(ctx, in.a, rows);
    b_ = new_matrix(ctx, in.b, n_);
    ctx.publish(a_);
    ctx.publish(b_);

    std::int64_t expected = 0;
    for (std::uint32_t k = 0; k < n_; ++k) {
      std::int64_t a_col = 0, b_row = 0;
      for (std::uint32_t i = 0; i < rows; ++i)
        a_col += (i + 1) * static_cast<std::int64_t>(in.a[std::size_t{i} * n_ + k]);
      for (std::uint32_t j = 0; j < n_; ++j)
        b_row += (j + 1) * static_cast<std::int64_t>(in.b[std::size_t{k} * n_ + j]);
      expected += a_col * b_row;
    }
    expected_ = static_cast<std::uint64_t>(expected);
  }

  std::uint64_t run(Ctx& ctx, ThreadIndex t) {
    Interp<S> py(ctx);
    std::uint64_t checksum = 0;
    const std::uint32_t start = t.value * rows_per_thread_;
    Obj* result = new_object<S>(ctx, Kind::list, rows_per_thread_);
    for (std::uint32_t i = start; i < start + rows_per_thread_; ++i) {
      Obj* row = new_object<S>(ctx, Kind::list, n_);
      for (std::uint32_t j = 0; j < n_; ++j) {
        Obj* sum = nullptr;  // sum = 0.
        for (std::uint32_t k = 0; k < n_; ++k) {
          // sum += (a[i])[k] * (b[k])[j]
          auto x = py.subscript(py.subscript(a_, i), k);
          auto y = py.subscript(py.subscript(b_, k), j);
          py.store(sum, py.add(sum, py.mul(x, y)));
          ctx.safepoint();  // the eval breaker, on the backward jump
        }
        const auto c = static_cast<std::int64_t>(Interp<S>::value(sum));
        checksum += static_cast<std::uint64_t>(std::int64_t{i + 1} * (j + 1) * c);
        set_item(row, j, sum);  // return sum: the comprehension keeps the reference
      }
      set_item(result, i - start, row);
    }
    ctx.decref(hide(result));  // the caller drops the product
    return checksum;
  }

  [[nodiscard]] std::uint64_t expected_checksum() const { return expected_; }
  [[nodiscard]] std::uint64_t items_per_thread() const {
    return std::uint64_t{rows_per_thread_} * n_ * n_;
  }

  template <class Visit>
  void roots(Visit&& visit) const {
    visit(a_);
    visit(b_);
  }

  void teardown(Ctx& ctx) {
    ctx.decref(a_);
    ctx.decref(b_);
  }

 private:
  Obj* new_matrix(Ctx& ctx, std::span<const double> values, std::uint32_t rows) {
    Obj* m = new_object<S>(ctx, Kind::list, rows);
    for (std::uint32_t i = 0; i < rows; ++i)
      set_item(m, i, new_float_list<S>(ctx, values.subspan(std::size_t{i} * n_, n_)));
    return m;
  }

  std::uint32_t rows_per_thread_;
  std::uint32_t n_;
  Obj* a_ = nullptr;
  Obj* b_ = nullptr;
  std::uint64_t expected_ = 0;
};

}  // namespace rcb
