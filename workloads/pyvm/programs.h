#pragma once
// The pyvm programs, written as the bytecode CPython 3.14 compiles their
// Python to (the `dis` listing, specialised forms, one call per
// instruction), with the Python above each function. Strategy-independent:
// compiled once.
//
// What 3.14's compiler emits, and we follow:
//   - a local read whose reference is consumed within the basic block is
//     LOAD_FAST_BORROW (flowgraph.c's optimize_load_fast, 3.14); a read
//     whose reference outlives the block (the iterable of a for loop) is
//     LOAD_FAST;
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

// The programs are ../shared/reference_programs.py's, function for
// function: the same names, globals and loops. Sizes (SHARED_REPS, ...) are
// module globals there and here, bound by the workload (workloads.h).

inline constexpr std::uint32_t kAttrV = 0;  // Obj's one attribute slot

namespace detail {
// `for <var> in range(<bound>):` up to FOR_ITER, the bound pushed by
// load_bound; returns the loop's end.
template <class LoadBound>
Label for_range_of(Assembler& a, LoadBound load_bound, std::string_view var, Label top) {
  a.load_global("range", true);
  load_bound(a);
  a.call(1);
  a.get_iter();
  const Label end = a.label();
  a.bind(top);
  a.for_iter(end);
  a.store_fast(var);
  return end;
}
inline Label for_range(Assembler& a, std::string_view bound, std::string_view var, Label top) {
  return for_range_of(a, [&](Assembler& b) { b.load_fast_borrow(bound); }, var, top);
}
inline Label for_range_global(Assembler& a, std::string_view bound, std::string_view var, Label top) {
  return for_range_of(a, [&](Assembler& b) { b.load_global(bound, false); }, var, top);
}

// <value> if <local> <compare> <k> else ...: returns <value> when true
// (`return x if c else y` compiles as `if c: return x` / `return y`).
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

// <acc> = 0
// for <var> in range(<global bound>):
//     <body>
// return <acc>
template <class Body>
void accumulate(Assembler& a, std::string_view acc, std::string_view bound, std::string_view var, Body body) {
  a.load_small_int(0);
  a.store_fast(acc);
  const Label top = a.label();
  const Label end = for_range_global(a, bound, var, top);
  body(a);
  a.jump_backward(top);
  a.end_loop(end);
  a.load_fast_borrow(acc);
  a.return_value();
}

// class Obj:
//     def __init__(self, v): self.v = v
inline void obj_class(Program& p) {
  Assembler a(p, "__init__", {"self", "v"});
  a.resume();
  a.load_fast_borrow("v");
  a.load_fast_borrow("self");
  a.store_attr(kAttrV);
  a.load_const_none();
  a.return_value();
  a.finish();
  p.globals.push_back({GlobalSpec::Tag::klass, "Obj", 1, p.code_index("__init__")});
}

inline void function(Program& p, std::string_view name) {
  p.globals.push_back({GlobalSpec::Tag::function, std::string(name), p.code_index(name)});
}
inline void global_object(Program& p, std::string_view name) {
  p.globals.push_back({GlobalSpec::Tag::object, std::string(name), 0});
}
inline void builtin(Program& p, std::string_view name, Native n) {
  p.builtins.push_back({GlobalSpec::Tag::native, std::string(name), static_cast<std::uint32_t>(n)});
}
}  // namespace detail

// a. def fib(n): return 1 if n < 2 else fib(n-1) + fib(n-2)
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
  detail::function(p, "fib");
  return p;
}

namespace detail {
// s = 0
// for _ in range(<reps>):
//     for x in <list>:      <list>: a global, or the local P
//         s += <per item>
// return s
template <class LoadList, class PerItem>
void count_loop(Assembler& a, std::string_view reps, LoadList load_list, PerItem per_item) {
  accumulate(a, "s", reps, "_", [&](Assembler& b) {
    load_list(b);  // the iterable stays on the stack across the loop: never borrowed
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

// b. def w_shared_iter():               (and w_shared_iter_imm over L_IMM)
//        s = 0
//        for _ in range(SHARED_REPS):
//            for x in L:
//                s += 1
//        return s
// L (a list of Obj(1)) and L_IMM (of i % 256) are built by the main thread.
inline Program shared_iter_program(std::string_view entry, std::string_view list) {
  Program p;
  detail::obj_class(p);
  Assembler a(p, std::string(entry), {});
  a.resume();
  detail::count_loop(
      a, "SHARED_REPS", [&](Assembler& b) { b.load_global(list, false); },
      [](Assembler& b) { b.load_small_int(1); });
  a.finish();
  detail::function(p, entry);
  detail::global_object(p, list);
  detail::global_object(p, "SHARED_REPS");
  detail::builtin(p, "range", Native::range);
  return p;
}

// def w_private_iter():
//     P = [Obj(1) for _ in range(1000)]       # owned by this worker thread
//     <w_shared_iter's loop over P>
inline Program private_iter_program(std::uint32_t items) {
  Program p;
  detail::obj_class(p);
  Assembler a(p, "w_private_iter", {});
  a.resume();
  a.build_list(0, items);  // a fixed capacity stands in for list growth, which counts nothing
  const Label top = a.label();
  const Label end =
      detail::for_range_of(a, [&](Assembler& b) { b.load_const_int(items); }, "_", top);
  a.load_global("Obj", true);
  a.load_small_int(1);
  a.call(1);
  a.list_append(3);  // below: the iterator, its null, then the list
  a.jump_backward(top);
  a.end_loop(end);
  a.store_fast("P");
  detail::count_loop(
      a, "SHARED_REPS", [](Assembler& b) { b.load_fast("P"); }, [](Assembler& b) { b.load_small_int(1); });
  a.finish();
  detail::function(p, "w_private_iter");
  detail::global_object(p, "SHARED_REPS");
  detail::builtin(p, "range", Native::range);
  return p;
}

// def f(o): return o.v
//
// def w_shared_call():
//     s = 0
//     for _ in range(SHARED_CALL_REPS):
//         for x in L:
//             s += f(x)
//     return s
inline Program shared_call_program() {
  Program p;
  detail::obj_class(p);
  Assembler f(p, "f", {"o"});
  f.resume();
  f.load_fast_borrow("o");
  f.load_attr(kAttrV);
  f.return_value();
  f.finish();

  Assembler a(p, "w_shared_call", {});
  a.resume();
  detail::count_loop(
      a, "SHARED_CALL_REPS", [](Assembler& b) { b.load_global("L", false); },
      [](Assembler& b) {
        b.load_global("f", true);
        b.load_fast_borrow("x");
        b.call(1);
      });
  a.finish();
  detail::function(p, "f");
  detail::function(p, "w_shared_call");
  detail::global_object(p, "L");
  detail::global_object(p, "SHARED_CALL_REPS");
  detail::builtin(p, "range", Native::range);
  return p;
}

// c. def make_tree(d):
//        return (None, None) if d == 0 else (make_tree(d-1), make_tree(d-1))
//    def check(t):
//        return 1 if t[0] is None else 1 + check(t[0]) + check(t[1])
//    def w_alloc():
//        n = 0
//        for _ in range(TREE_REPS):
//            t = make_tree(TREE_DEPTH)
//            n += check(t)
//            del t
//        return n
// (None, None) is a constant the compiler folds: every leaf is the one
// immortal tuple, so a tree of depth 12 allocates its 4095 inner tuples.
inline Program tuple_tree_program() {
  Program p;
  {
    Assembler a(p, "make_tree", {"d"});
    a.resume();
    detail::return_if(a, "d", Compare::equal, 0, [](Assembler& b) { b.load_const_none_tuple(2); });
    for (int k = 0; k < 2; ++k) {
      a.load_global("make_tree", true);
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
    Assembler a(p, "check", {"t"});
    const auto item = [&](std::uint32_t k) {  // t[k]
      a.load_fast_borrow("t");
      a.load_small_int(k);
      a.binary_op(BinaryOp::subscript);
    };
    a.resume();
    const Label otherwise = a.label();
    item(0);
    a.pop_jump_if_not_none(otherwise);
    a.load_small_int(1);
    a.return_value();
    a.bind(otherwise);
    a.load_small_int(1);
    for (const std::uint32_t k : {0u, 1u}) {
      a.load_global("check", true);
      item(k);
      a.call(1);
      a.binary_op(BinaryOp::add);
    }
    a.return_value();
    a.finish();
  }
  {
    Assembler a(p, "w_alloc", {});
    a.resume();
    detail::accumulate(a, "n", "TREE_REPS", "_", [](Assembler& b) {
      b.load_global("make_tree", true);
      b.load_global("TREE_DEPTH", false);
      b.call(1);
      b.store_fast("t");
      detail::add_to(b, "n", [](Assembler& c) {
        c.load_global("check", true);
        c.load_fast_borrow("t");
        c.call(1);
      });
      b.delete_fast("t");
    });
    a.finish();
  }
  for (const char* fn : {"make_tree", "check", "w_alloc"}) detail::function(p, fn);
  detail::global_object(p, "TREE_REPS");
  detail::global_object(p, "TREE_DEPTH");
  detail::builtin(p, "range", Native::range);
  return p;
}

// d. def w_pc_single(q, n):      # 1 thread: put then get+drop, same thread
//        for i in range(n):
//            q.put([i])
//            x = q.get()
//        del x
//    def w_producer(q, n):
//        for i in range(n):
//            q.put([i])
//        q.put(None)
//    def w_consumer(q):
//        while True:
//            x = q.get()           # previous item dropped here, on the consumer thread
//            if x is None:
//                break
// The reference's w_pc_single makes its queue (q = queue.SimpleQueue());
// here the workload makes it at setup and passes it, as it does the pair's.
inline Program producer_consumer_program() {
  Program p;
  const auto put = [](Assembler& a, auto value) {  // q.put(<value>)
    a.load_fast_borrow("q");
    a.load_attr_method(Native::queue_put);
    value(a);
    a.call(1);
    a.pop_top();
  };
  const auto put_list_of_i = [](Assembler& a) {  // [i]
    a.load_fast_borrow("i");
    a.build_list(1, 1);
  };
  const auto get_into_x = [](Assembler& a) {  // x = q.get()
    a.load_fast_borrow("q");
    a.load_attr_method(Native::queue_get);
    a.call(0);
    a.store_fast("x");
  };
  const auto return_none = [](Assembler& a) {
    a.load_const_none();
    a.return_value();
  };
  // for i in range(n): q.put([i]); <then>
  const auto put_each = [&](Assembler& a, auto then) {
    const Label top = a.label();
    const Label end = detail::for_range(a, "n", "i", top);
    put(a, put_list_of_i);
    then(a);
    a.jump_backward(top);
    a.end_loop(end);
  };
  {
    Assembler a(p, "w_pc_single", {"q", "n"});
    a.resume();
    put_each(a, get_into_x);
    a.delete_fast("x");
    return_none(a);
    a.finish();
  }
  {
    Assembler a(p, "w_producer", {"q", "n"});
    a.resume();
    put_each(a, [](Assembler&) {});
    put(a, [](Assembler& b) { b.load_const_none(); });
    return_none(a);
    a.finish();
  }
  {
    Assembler a(p, "w_consumer", {"q"});
    a.resume();
    const Label top = a.label(), done = a.label();
    a.bind(top);
    get_into_x(a);
    a.load_fast_borrow("x");
    a.pop_jump_if_none(done);
    a.jump_backward(top);
    a.bind(done);
    return_none(a);
    a.finish();
  }
  for (const char* fn : {"w_pc_single", "w_producer", "w_consumer"}) detail::function(p, fn);
  detail::builtin(p, "range", Native::range);
  return p;
}

// e. def w_dimuon(start, stop):
//        sqrt, cosh, cos = math.sqrt, math.cosh, math.cos
//        ev = EVENTS
//        total = 0.0
//        for k in range(start, stop):
//            pt, eta, phi = ev[k]
//            m = len(pt)
//            for i in range(m):
//                for j in range(i + 1, m):
//                    total += sqrt(2*pt[i]*pt[j]*(cosh(eta[i]-eta[j]) - cos(phi[i]-phi[j])))
//        return total
// `math.sqrt` is read as the global `sqrt`: LOAD_ATTR_MODULE on the
// (deferred) module object counts nothing, so the references are the same.
inline Program dimuon_program() {
  Program p;
  Assembler a(p, "w_dimuon", {"start", "stop"});
  const auto item = [&](const char* seq, const char* index) {  // seq[index]
    a.load_fast_borrow(seq);
    a.load_fast_borrow(index);
    a.binary_op(BinaryOp::subscript);
  };
  const auto call_local = [&](const char* fn, auto args) {  // fn(<args>), fn a local
    a.load_fast_borrow(fn);
    a.push_null();
    args();
    a.call(1);
  };
  const auto difference = [&](const char* column) {  // column[i] - column[j]
    item(column, "i");
    item(column, "j");
    a.binary_op(BinaryOp::subtract);
  };
  const auto loop = [&](auto load_bounds, int bounds, const char* var, auto body) {
    a.load_global("range", true);
    load_bounds();
    a.call(static_cast<std::uint32_t>(bounds));
    a.get_iter();
    const Label top = a.label(), end = a.label();
    a.bind(top);
    a.for_iter(end);
    a.store_fast(var);
    body();
    a.jump_backward(top);
    a.end_loop(end);
  };
  a.resume();
  for (const char* fn : {"sqrt", "cosh", "cos"}) {
    a.load_global(fn, false);
    a.store_fast(fn);
  }
  a.load_global("EVENTS", false);
  a.store_fast("ev");
  a.load_const(0.0);
  a.store_fast("total");
  loop([&] { a.load_fast_borrow("start"), a.load_fast_borrow("stop"); }, 2, "k", [&] {
    item("ev", "k");
    a.unpack_sequence(3);
    for (const char* column : {"pt", "eta", "phi"}) a.store_fast(column);
    a.load_global("len", true);
    a.load_fast_borrow("pt");
    a.call(1);
    a.store_fast("m");
    loop([&] { a.load_fast_borrow("m"); }, 1, "i", [&] {
      loop(
          [&] {
            a.load_fast_borrow("i");
            a.load_small_int(1);
            a.binary_op(BinaryOp::add);
            a.load_fast_borrow("m");
          },
          2, "j", [&] {
            detail::add_to(a, "total", [&](Assembler&) {
              call_local("sqrt", [&] {
                a.load_small_int(2);
                item("pt", "i");
                a.binary_op(BinaryOp::multiply);
                item("pt", "j");
                a.binary_op(BinaryOp::multiply);
                call_local("cosh", [&] { difference("eta"); });
                call_local("cos", [&] { difference("phi"); });
                a.binary_op(BinaryOp::subtract);
                a.binary_op(BinaryOp::multiply);
              });
            });
          });
    });
  });
  a.load_fast_borrow("total");
  a.return_value();
  a.finish();
  detail::function(p, "w_dimuon");
  detail::global_object(p, "EVENTS");
  p.globals.push_back({GlobalSpec::Tag::native, "sqrt", static_cast<std::uint32_t>(Native::sqrt)});
  p.globals.push_back({GlobalSpec::Tag::native, "cosh", static_cast<std::uint32_t>(Native::cosh)});
  p.globals.push_back({GlobalSpec::Tag::native, "cos", static_cast<std::uint32_t>(Native::cos)});
  detail::builtin(p, "range", Native::range);
  detail::builtin(p, "len", Native::len);
  return p;
}

}  // namespace rcb::pyvm
