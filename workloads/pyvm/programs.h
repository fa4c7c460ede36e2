#pragma once
// The pyvm programs, written as the bytecode CPython 3.14 compiles their
// Python to (the `dis` listing, specialised forms, one call per
// instruction), with the Python above each function. Strategy-independent:
// compiled once.
//
// What 3.14's compiler emits, and we follow:
//   - a local read whose reference is consumed within the basic block is
//     LOAD_FAST_BORROW (flowgraph.c's optimize_load_fast, 3.14); a read
//     whose reference outlives the block (the iterable of a for loop) or
//     is stored to another local (`max_mass = m`) is LOAD_FAST;
//   - ints 0..255 are LOAD_SMALL_INT, other constants LOAD_CONST;
//   - each conditional jump is followed by NOT_TAKEN;
//   - a loop is GET_ITER; FOR_ITER; STORE_FAST; body; JUMP_BACKWARD;
//     END_FOR; POP_ITER.
// Left out (they move references without counting them): the
// LOAD_FAST_AND_CLEAR / SWAP pair an inlined comprehension wraps around
// its loop variable, the superinstructions that fuse two loads or stores
// (LOAD_FAST_BORROW_LOAD_FAST_BORROW, STORE_FAST_STORE_FAST: the same
// references, one dispatch fewer), and CACHE entries.

#include <cstdint>
#include <string_view>
#include <utility>

#include "workloads/pyvm/code.h"

namespace rcb::pyvm {

// The class the iteration programs store in their lists:
//   class C:
//       def __init__(self, v):
//           self.v = v
inline constexpr std::uint32_t kAttrV = 0;  // C's one attribute slot

namespace detail {
// `for <var> in range(<bound>):` up to FOR_ITER; returns the loop's end.
inline Label for_range(Assembler& a, std::string_view bound, std::string_view var, Label top) {
  a.load_global("range", true);
  a.load_fast_borrow(bound);
  a.call(1);
  a.get_iter();
  const Label end = a.label();
  a.bind(top);
  a.for_iter(end);
  a.store_fast(var);
  return end;
}

// if <local> <compare> <k>:
//     return <value>
template <class Value>
void return_if(Assembler& a, std::string_view local, Compare compare, std::uint32_t k, Value value) {
  const Label otherwise = a.label();
  a.load_fast_borrow(local);
  a.load_small_int(k);
  a.compare_op(compare);
  a.pop_jump_if_false(otherwise);
  value(a);
  a.return_value();
  a.bind(otherwise);
}

// acc += <expr>
template <class Expr>
void add_to(Assembler& a, std::string_view acc, Expr expr) {
  a.load_fast_borrow(acc);
  expr(a);
  a.binary_op(BinaryOp::inplace_add);
  a.store_fast(acc);
}

// acc = 0
// for <var> in range(<bound>):
//     <body>
// return acc
template <class Body>
void accumulate(Assembler& a, std::string_view acc, std::string_view bound, std::string_view var, Body body) {
  a.load_small_int(0);
  a.store_fast(acc);
  const Label top = a.label();
  const Label end = for_range(a, bound, var, top);
  body(a);
  a.jump_backward(top);
  a.end_loop(end);
  a.load_fast_borrow(acc);
  a.return_value();
}
}  // namespace detail

// def fib(n):
//     if n < 2:
//         return 1
//     return fib(n - 1) + fib(n - 2)
inline Program fib_program() {
  Program p;
  Assembler a(p, "fib", {"n"});
  a.resume();
  detail::return_if(a, "n", Compare::less, 2, [](Assembler& b) { b.load_small_int(1); });
  for (const std::uint32_t k : {1u, 2u}) {
    a.load_global("fib", true);
    a.load_fast_borrow("n");
    a.load_small_int(k);
    a.binary_op(BinaryOp::subtract);
    a.call(1);
  }
  a.binary_op(BinaryOp::add);
  a.return_value();
  a.finish();
  p.globals.push_back({GlobalSpec::Tag::function, "fib", p.code_index("fib")});
  return p;
}

namespace detail {
// s = 0
// for _ in range(reps):
//     for x in L:
//         s += <per item>
// return s
template <class PerItem>
void count_loop(Assembler& a, PerItem per_item) {
  accumulate(a, "s", "reps", "_", [&](Assembler& b) {
    b.load_fast("L");  // the iterable stays on the stack across the loop: not borrowed
    b.get_iter();
    const Label inner = b.label(), inner_end = b.label();
    b.bind(inner);
    b.for_iter(inner_end);
    b.store_fast("x");
    add_to(b, "s", per_item);
    b.jump_backward(inner);
    b.end_loop(inner_end);
  });
}
}  // namespace detail

// def count(L, reps):
//     s = 0
//     for _ in range(reps):
//         for x in L:
//             s += 1
//     return s
// L is bound by the workload (a shared list of instances or of small ints).
inline Program count_program() {
  Program p;
  Assembler a(p, "count", {"L", "reps"});
  a.resume();
  detail::count_loop(a, [](Assembler& b) { b.load_small_int(1); });
  a.finish();
  p.globals.push_back({GlobalSpec::Tag::function, "count", p.code_index("count")});
  p.builtins.push_back({GlobalSpec::Tag::native, "range", static_cast<std::uint32_t>(Native::range)});
  return p;
}

// def count_private(n, reps):
//     L = [C(i) for i in range(n)]
//     <count's loop over L>
inline Program count_private_program(std::uint32_t capacity) {
  Program p;
  Assembler a(p, "count_private", {"n", "reps"});
  a.resume();
  a.build_list(0, capacity);  // a fixed capacity stands in for list growth, which counts nothing
  const Label top = a.label();
  const Label end = detail::for_range(a, "n", "i", top);
  a.load_global("C", true);
  a.load_fast_borrow("i");
  a.call(1);
  a.list_append(3);  // below: the iterator, its index, then the list
  a.jump_backward(top);
  a.end_loop(end);
  a.store_fast("L");
  detail::count_loop(a, [](Assembler& b) { b.load_small_int(1); });
  a.finish();
  p.globals.push_back({GlobalSpec::Tag::function, "count_private", p.code_index("count_private")});
  p.globals.push_back({GlobalSpec::Tag::klass, "C", 1});
  p.builtins.push_back({GlobalSpec::Tag::native, "range", static_cast<std::uint32_t>(Native::range)});
  return p;
}

// def f(x):
//     return x.v
//
// def call_each(L, reps):
//     s = 0
//     for _ in range(reps):
//         for x in L:
//             s += f(x)
//     return s
inline Program call_each_program() {
  Program p;
  Assembler f(p, "f", {"x"});
  f.resume();
  f.load_fast_borrow("x");
  f.load_attr(kAttrV);
  f.return_value();
  f.finish();

  Assembler a(p, "call_each", {"L", "reps"});
  a.resume();
  detail::count_loop(a, [](Assembler& b) {
    b.load_global("f", true);
    b.load_fast_borrow("x");
    b.call(1);
  });
  a.finish();
  p.globals.push_back({GlobalSpec::Tag::function, "f", p.code_index("f")});
  p.globals.push_back({GlobalSpec::Tag::function, "call_each", p.code_index("call_each")});
  p.builtins.push_back({GlobalSpec::Tag::native, "range", static_cast<std::uint32_t>(Native::range)});
  return p;
}

// def make(d):
//     if d == 0:
//         return ()
//     return (make(d - 1), make(d - 1))
//
// def check(t, d):
//     if d == 0:
//         return 1
//     l, r = t
//     return 1 + check(l, d - 1) + check(r, d - 1)
//
// def trees(depth, reps):
//     s = 0
//     for _ in range(reps):
//         s += check(make(depth), depth)
//     return s
inline Program tuple_tree_program() {
  Program p;
  {
    Assembler a(p, "make", {"d"});
    a.resume();
    detail::return_if(a, "d", Compare::equal, 0, [](Assembler& b) { b.load_const_empty_tuple(); });
    for (int k = 0; k < 2; ++k) {
      a.load_global("make", true);
      a.load_fast_borrow("d");
      a.load_small_int(1);
      a.binary_op(BinaryOp::subtract);
      a.call(1);
    }
    a.build_tuple(2);
    a.return_value();
    a.finish();
  }
  {
    Assembler a(p, "check", {"t", "d"});
    a.resume();
    detail::return_if(a, "d", Compare::equal, 0, [](Assembler& b) { b.load_small_int(1); });
    a.load_fast_borrow("t");
    a.unpack_sequence(2);
    a.store_fast("l");
    a.store_fast("r");
    a.load_small_int(1);
    for (const char* child : {"l", "r"}) {
      a.load_global("check", true);
      a.load_fast_borrow(child);
      a.load_fast_borrow("d");
      a.load_small_int(1);
      a.binary_op(BinaryOp::subtract);
      a.call(2);
      a.binary_op(BinaryOp::add);
    }
    a.return_value();
    a.finish();
  }
  {
    Assembler a(p, "trees", {"depth", "reps"});
    a.resume();
    detail::accumulate(a, "s", "reps", "_", [](Assembler& b) {
      detail::add_to(b, "s", [](Assembler& c) {
        c.load_global("check", true);
        c.load_global("make", true);
        c.load_fast_borrow("depth");
        c.call(1);
        c.load_fast_borrow("depth");
        c.call(2);
      });
    });
    a.finish();
  }
  for (const char* fn : {"make", "check", "trees"})
    p.globals.push_back({GlobalSpec::Tag::function, fn, p.code_index(fn)});
  p.builtins.push_back({GlobalSpec::Tag::native, "range", static_cast<std::uint32_t>(Native::range)});
  return p;
}

// def produce(q, start, stop):
//     for i in range(start, stop):
//         q.append((i, i * 0.5, 3 * i + 1))
//     return stop - start
//
// def consume(q, n):
//     total = 0
//     for _ in range(n):
//         a, b, c = q.popleft()
//         total += a + int(b * 2) + c
//     return total
//
// def solo(q, rounds, batch):      # one thread: fill a batch, then drain it
//     total = 0
//     for k in range(rounds):
//         total += produce(q, k * batch, k * batch + batch)
//         total += consume(q, batch)
//     return total
inline Program producer_consumer_program() {
  Program p;
  {
    Assembler a(p, "produce", {"q", "start", "stop"});
    a.resume();
    a.load_global("range", true);
    a.load_fast_borrow("start");
    a.load_fast_borrow("stop");
    a.call(2);
    a.get_iter();
    const Label top = a.label(), end = a.label();
    a.bind(top);
    a.for_iter(end);
    a.store_fast("i");
    a.load_fast_borrow("q");
    a.load_attr_method(Native::deque_append);
    a.load_fast_borrow("i");
    a.load_fast_borrow("i");
    a.load_const(0.5);
    a.binary_op(BinaryOp::multiply);
    a.load_small_int(3);
    a.load_fast_borrow("i");
    a.binary_op(BinaryOp::multiply);
    a.load_small_int(1);
    a.binary_op(BinaryOp::add);
    a.build_tuple(3);
    a.call(1);
    a.pop_top();
    a.jump_backward(top);
    a.end_loop(end);
    a.load_fast_borrow("stop");
    a.load_fast_borrow("start");
    a.binary_op(BinaryOp::subtract);
    a.return_value();
    a.finish();
  }
  {
    Assembler a(p, "consume", {"q", "n"});
    a.resume();
    detail::accumulate(a, "total", "n", "_", [](Assembler& b) {
      b.load_fast_borrow("q");
      b.load_attr_method(Native::deque_popleft);
      b.call(0);
      b.unpack_sequence(3);
      b.store_fast("a");
      b.store_fast("b");
      b.store_fast("c");
      detail::add_to(b, "total", [](Assembler& c) {
        c.load_fast_borrow("a");
        c.load_global("int", true);
        c.load_fast_borrow("b");
        c.load_small_int(2);
        c.binary_op(BinaryOp::multiply);
        c.call(1);
        c.binary_op(BinaryOp::add);
        c.load_fast_borrow("c");
        c.binary_op(BinaryOp::add);
      });
    });
    a.finish();
  }
  {
    Assembler a(p, "solo", {"q", "rounds", "batch"});
    a.resume();
    detail::accumulate(a, "total", "rounds", "k", [](Assembler& b) {
      detail::add_to(b, "total", [](Assembler& c) {  // produce(q, k * batch, k * batch + batch)
        c.load_global("produce", true);
        c.load_fast_borrow("q");
        c.load_fast_borrow("k");
        c.load_fast_borrow("batch");
        c.binary_op(BinaryOp::multiply);
        c.load_fast_borrow("k");
        c.load_fast_borrow("batch");
        c.binary_op(BinaryOp::multiply);
        c.load_fast_borrow("batch");
        c.binary_op(BinaryOp::add);
        c.call(3);
      });
      detail::add_to(b, "total", [](Assembler& c) {  // consume(q, batch)
        c.load_global("consume", true);
        c.load_fast_borrow("q");
        c.load_fast_borrow("batch");
        c.call(2);
      });
    });
    a.finish();
  }
  for (const char* fn : {"produce", "consume", "solo"})
    p.globals.push_back({GlobalSpec::Tag::function, fn, p.code_index(fn)});
  p.builtins.push_back({GlobalSpec::Tag::native, "range", static_cast<std::uint32_t>(Native::range)});
  p.builtins.push_back({GlobalSpec::Tag::native, "int", static_cast<std::uint32_t>(Native::int_)});
  return p;
}

// from math import sqrt, cosh, cos
//
// def dimuon(pt, eta, phi, offsets, start, stop):
//     total = 0.0
//     for event in range(start, stop):
//         max_mass = 0
//         for i in range(offsets[event], offsets[event + 1]):
//             pt1 = pt[i]
//             eta1 = eta[i]
//             phi1 = phi[i]
//             for j in range(i + 1, offsets[event + 1]):
//                 pt2 = pt[j]
//                 eta2 = eta[j]
//                 phi2 = phi[j]
//                 m = sqrt(2*pt1*pt2*(cosh(eta1 - eta2) - cos(phi1 - phi2)))
//                 if m > max_mass:
//                     max_mass = m
//         total += max_mass
//     return total
inline Program dimuon_program() {
  Program p;
  Assembler a(p, "dimuon", {"pt", "eta", "phi", "offsets", "start", "stop"});
  const auto subscript = [&](const char* seq, const char* index) {
    a.load_fast_borrow(seq);
    a.load_fast_borrow(index);
    a.binary_op(BinaryOp::subscript);
  };
  const auto offsets_next = [&] {  // offsets[event + 1]
    a.load_fast_borrow("offsets");
    a.load_fast_borrow("event");
    a.load_small_int(1);
    a.binary_op(BinaryOp::add);
    a.binary_op(BinaryOp::subscript);
  };
  const auto math = [&](const char* fn, const char* x, const char* y) {  // fn(x - y)
    a.load_global(fn, true);
    a.load_fast_borrow(x);
    a.load_fast_borrow(y);
    a.binary_op(BinaryOp::subtract);
    a.call(1);
  };
  a.resume();
  a.load_const(0.0);
  a.store_fast("total");
  a.load_global("range", true);
  a.load_fast_borrow("start");
  a.load_fast_borrow("stop");
  a.call(2);
  a.get_iter();
  const Label events = a.label(), events_end = a.label();
  a.bind(events);
  a.for_iter(events_end);
  a.store_fast("event");
  a.load_small_int(0);
  a.store_fast("max_mass");
  a.load_global("range", true);
  subscript("offsets", "event");
  offsets_next();
  a.call(2);
  a.get_iter();
  const Label is = a.label(), is_end = a.label();
  a.bind(is);
  a.for_iter(is_end);
  a.store_fast("i");
  using Column = std::pair<const char*, const char*>;  // list, local
  for (const auto& [column, local] : {Column{"pt", "pt1"}, Column{"eta", "eta1"}, Column{"phi", "phi1"}}) {
    subscript(column, "i");
    a.store_fast(local);
  }
  a.load_global("range", true);
  a.load_fast_borrow("i");
  a.load_small_int(1);
  a.binary_op(BinaryOp::add);
  offsets_next();
  a.call(2);
  a.get_iter();
  const Label js = a.label(), js_end = a.label(), not_larger = a.label();
  a.bind(js);
  a.for_iter(js_end);
  a.store_fast("j");
  for (const auto& [column, local] : {Column{"pt", "pt2"}, Column{"eta", "eta2"}, Column{"phi", "phi2"}}) {
    subscript(column, "j");
    a.store_fast(local);
  }
  a.load_global("sqrt", true);
  a.load_small_int(2);
  a.load_fast_borrow("pt1");
  a.binary_op(BinaryOp::multiply);
  a.load_fast_borrow("pt2");
  a.binary_op(BinaryOp::multiply);
  math("cosh", "eta1", "eta2");
  math("cos", "phi1", "phi2");
  a.binary_op(BinaryOp::subtract);
  a.binary_op(BinaryOp::multiply);
  a.call(1);
  a.store_fast("m");
  a.load_fast_borrow("m");
  a.load_fast_borrow("max_mass");
  a.compare_op(Compare::greater);
  a.pop_jump_if_false(not_larger);
  a.load_fast("m");  // stored to another local: a counted reference
  a.store_fast("max_mass");
  a.bind(not_larger);
  a.jump_backward(js);
  a.end_loop(js_end);
  a.jump_backward(is);
  a.end_loop(is_end);
  a.load_fast_borrow("total");
  a.load_fast_borrow("max_mass");
  a.binary_op(BinaryOp::inplace_add);
  a.store_fast("total");
  a.jump_backward(events);
  a.end_loop(events_end);
  a.load_fast_borrow("total");
  a.return_value();
  a.finish();
  p.globals.push_back({GlobalSpec::Tag::function, "dimuon", p.code_index("dimuon")});
  p.globals.push_back({GlobalSpec::Tag::native, "sqrt", static_cast<std::uint32_t>(Native::sqrt)});
  p.globals.push_back({GlobalSpec::Tag::native, "cosh", static_cast<std::uint32_t>(Native::cosh)});
  p.globals.push_back({GlobalSpec::Tag::native, "cos", static_cast<std::uint32_t>(Native::cos)});
  p.builtins.push_back({GlobalSpec::Tag::native, "range", static_cast<std::uint32_t>(Native::range)});
  return p;
}

}  // namespace rcb::pyvm
