// Each pyvm opcode takes and drops the references docs/pyvm.md says it
// does. A test-only strategy counts every incref and decref call and
// charges it to the opcode being executed (the interpreter's
// on_instruction hook); each case runs a tiny function and compares the
// whole per-opcode table, so an opcode that counts where the table says
// nothing fails too. Two variants: a strategy that knows no CPython facts
// (every stack reference counted, as under atomic), and one that keeps
// stack references to declared immortal and deferred objects uncounted
// (as deferred and cpython_ft do). This is not a benchmark.

#include <array>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "tests/test_support.h"
#include "workloads/pyvm/interp.h"
#include "workloads/pyvm/module.h"

namespace rcb::test {
namespace {

using pyvm::Assembler;
using pyvm::BinaryOp;
using pyvm::Compare;
using pyvm::GlobalSpec;
using pyvm::Label;
using pyvm::Native;
using pyvm::Op;
using pyvm::Program;

constexpr std::size_t kOps = static_cast<std::size_t>(Op::kCount);
constexpr std::size_t kOutside = kOps;  // refcount calls made outside any opcode

struct OpCounts {
  int incref = 0;
  int decref = 0;
  int safepoints = 0;  // eval-breaker checks (ctx.safepoint())
  friend bool operator==(const OpCounts&, const OpCounts&) = default;
};
using Table = std::array<OpCounts, kOps + 1>;

// Plain counts, one thread; every call tallied against the current opcode.
// With kFacts, declared objects take no count from stack references.
template <bool kFacts>
struct Tally {
  static constexpr StrategyInfo info{kFacts ? "tally_facts" : "tally", "test only: counts per opcode", false};
  static constexpr std::array<Counter, 0> reported{};
  using Obj = Object<Tally>;
  struct Header {
    std::uint64_t count;
    bool declared;
  };
  using Runtime = StatelessRuntime;

  class Context : public PassiveContext {
   public:
    Context(Runtime&, ThreadIndex idx) : PassiveContext(idx) {}
    void init_header(Obj* o) { o->rc = {1, false}; }
    void declare(Obj* o, CPythonFact) { o->rc.declared = true; }
    [[nodiscard]] bool stack_skips_count(const Obj* o) const { return kFacts && o->rc.declared; }
    void incref(Obj* o) {
      ++o->rc.count;
      ++table[current].incref;
    }
    void decref(Obj* o) {
      ++table[current].decref;
      if (--o->rc.count == 0) reclaim<Tally>(*this, o);
    }
    void on_instruction(Op op) { current = static_cast<std::size_t>(op); }
    void safepoint() { ++table[current].safepoints; }

    Table table{};
    std::size_t current = kOutside;
  };
};
static_assert(RefCountStrategy<Tally<false>>);
static_assert(RefCountStrategy<Tally<true>>);

// What a case passes its function.
enum class Arg { int_1000, float_, instance, pair, list, queue };

// An expected row: opcode, then increfs/decrefs without and with facts.
struct Row {
  Op op;
  OpCounts plain;
  OpCounts facts;
};

struct Case {
  std::string name;
  std::function<void(Program&)> build;  // functions and globals; "f" is called
  std::vector<Arg> args;
  std::vector<Row> rows;  // every other opcode: no calls
};

// The globals every case may use: g (a function), C (a class with one
// attribute, set by its __init__), L = [1000, 1001], sqrt and range.
void common_globals(Program& p) {
  Assembler g(p, "g", {"x"});
  g.resume();
  g.load_fast_borrow("x");
  g.return_value();
  g.finish();
  Assembler init(p, "__init__", {"self", "v"});  // def __init__(self, v): self.v = v
  init.resume();
  init.load_fast_borrow("v");
  init.load_fast_borrow("self");
  init.store_attr(0);
  init.load_const_none();
  init.return_value();
  init.finish();
  p.globals.push_back({GlobalSpec::Tag::function, "f", p.code_index("f")});
  p.globals.push_back({GlobalSpec::Tag::function, "g", p.code_index("g")});
  p.globals.push_back({GlobalSpec::Tag::klass, "C", 1, p.code_index("__init__")});
  p.globals.push_back({GlobalSpec::Tag::object, "L", 0});
  p.globals.push_back({GlobalSpec::Tag::native, "sqrt", static_cast<std::uint32_t>(Native::sqrt)});
  p.builtins.push_back({GlobalSpec::Tag::native, "range", static_cast<std::uint32_t>(Native::range)});
}

template <class S>
Table run_case(const Case& c) {
  Table table{};
  const auto live = on_one_thread<S>([&](auto& ctx) {
    using Obj = Object<S>;
    Program p;
    c.build(p);
    common_globals(p);
    pyvm::Module<S> m(ctx, std::move(p), 1);
    Obj* list = new_object<S>(ctx, Kind::list, 2);
    set_item(list, 0, new_int<S>(ctx, 1000));
    set_item(list, 1, new_int<S>(ctx, 1001));
    list->value.i = 2;
    m.set_global("L", list);
    Obj* queue = m.new_queue(ctx, 4);
    {
      pyvm::Interp<S> vm(ctx, m);
      std::vector<StackRef<S>> args;
      for (const Arg a : c.args) {
        switch (a) {
          case Arg::int_1000: args.push_back(stack_steal(new_int<S>(ctx, 1000))); break;
          case Arg::float_: args.push_back(stack_steal(new_float<S>(ctx, 0.25))); break;
          case Arg::instance: {
            Obj* klass = m.global("C");
            Obj* o = new_object<S>(ctx, Kind::instance, 2);
            incref_type(ctx, klass);  // _PyObject_Init's _Py_INCREF_TYPE
            set_item(o, 0, klass);
            set_item(o, 1, new_int<S>(ctx, 1000));
            args.push_back(stack_steal(o));
            break;
          }
          case Arg::pair: {
            Obj* t = new_object<S>(ctx, Kind::tuple, 2);
            set_item(t, 0, new_int<S>(ctx, 1000));
            set_item(t, 1, new_int<S>(ctx, 1001));
            args.push_back(stack_steal(t));
            break;
          }
          case Arg::list: args.push_back(stack_new(ctx, list)); break;
          case Arg::queue: args.push_back(stack_new(ctx, queue)); break;
        }
      }
      ctx.table = {};
      ctx.current = kOutside;
      const StackRef<S> result = vm.call("f", args);
      table = ctx.table;
      ctx.current = kOutside;
      stack_close(ctx, result);
    }
    ctx.decref(queue);
    m.teardown(ctx);
  });
  EXPECT_EQ(live, 0) << c.name;
  return table;
}

template <bool kFacts>
void check(const Case& c) {
  SCOPED_TRACE(c.name + (kFacts ? " (facts)" : " (no facts)"));
  const Table got = run_case<Tally<kFacts>>(c);
  Table want{};
  for (const Row& r : c.rows) want[static_cast<std::size_t>(r.op)] = kFacts ? r.facts : r.plain;
  for (std::size_t op = 0; op < kOps; ++op) {
    EXPECT_EQ(got[op].incref, want[op].incref) << pyvm::name(static_cast<Op>(op)) << " increfs";
    EXPECT_EQ(got[op].decref, want[op].decref) << pyvm::name(static_cast<Op>(op)) << " decrefs";
  }
  // The entry's own reference to f, taken before RESUME (a thread's target),
  // and its frame's to f's code object (f_executable).
  EXPECT_EQ(got[kOutside], (OpCounts{kFacts ? 0 : 2, 0})) << "calls made outside any opcode";
}

// A function f built by `body` (after RESUME), with `args`.
Case make_case(std::string name, std::initializer_list<std::string_view> params, std::vector<Arg> args,
               std::function<void(Assembler&)> body, std::vector<Row> rows) {
  std::vector<std::string> ps(params.begin(), params.end());
  return Case{std::move(name),
              [ps, body](Program& p) {
                Assembler a(p, "f", {});
                for (const auto& q : ps) a.local(q);
                a.resume();
                body(a);
                a.finish();
                p.codes.back().argcount = static_cast<std::uint32_t>(ps.size());
              },
              std::move(args), std::move(rows)};
}

// The frame of f ends: its references to the function (f_funcobj) and the
// code object (f_executable), counted without facts (both are deferred),
// are closed by RETURN_VALUE.
constexpr int kFuncobj = 2;

std::vector<Case> cases() {
  std::vector<Case> all;
  // def f(x): y = x; return y
  all.push_back(make_case("LOAD_FAST, STORE_FAST, LOAD_FAST_BORROW", {"x"}, {Arg::int_1000},
                          [](Assembler& a) {
                            a.load_fast("x");
                            a.store_fast("y");
                            a.load_fast_borrow("y");
                            a.return_value();
                          },
                          {{Op::LOAD_FAST, {1, 0}, {1, 0}},
                           // heap-safe result (+1); x, y and the function closed
                           {Op::RETURN_VALUE, {1, 2 + kFuncobj}, {1, 2}}}));
  // def f(x): x = 7; return x
  all.push_back(make_case("STORE_FAST closes the old value", {"x"}, {Arg::int_1000},
                          [](Assembler& a) {
                            a.load_small_int(7);
                            a.store_fast("x");
                            a.load_fast_borrow("x");
                            a.return_value();
                          },
                          {{Op::LOAD_SMALL_INT, {1, 0}, {0, 0}},
                           {Op::STORE_FAST, {0, 1}, {0, 1}},
                           {Op::RETURN_VALUE, {1, 1 + kFuncobj}, {0, 0}}}));
  // def f(): return 0.5
  all.push_back(make_case("LOAD_CONST", {}, {},
                          [](Assembler& a) {
                            a.load_const(0.5);
                            a.return_value();
                          },
                          {{Op::LOAD_CONST, {1, 0}, {0, 0}}, {Op::RETURN_VALUE, {0, kFuncobj}, {0, 0}}}));
  // def f(): L; g; return 0
  all.push_back(make_case("LOAD_GLOBAL, POP_TOP", {}, {},
                          [](Assembler& a) {
                            a.load_global("L", false);
                            a.pop_top();
                            a.load_global("g", false);
                            a.pop_top();
                            a.load_small_int(0);
                            a.return_value();
                          },
                          {{Op::LOAD_GLOBAL, {2, 0}, {1, 0}},  // L is mortal; g is a deferred function
                           {Op::POP_TOP, {0, 2}, {0, 1}},
                           {Op::LOAD_SMALL_INT, {1, 0}, {0, 0}},
                           {Op::RETURN_VALUE, {0, kFuncobj}, {0, 0}}}));
  // def f(o): return o.v
  all.push_back(make_case("LOAD_ATTR", {"o"}, {Arg::instance},
                          [](Assembler& a) {
                            a.load_fast_borrow("o");
                            a.load_attr(0);
                            a.return_value();
                          },
                          {{Op::LOAD_ATTR, {1, 0}, {1, 0}},
                           // o dies: o, then its class and v
                           {Op::RETURN_VALUE, {0, 3 + kFuncobj}, {0, 3}}}));
  // def f(o, v): o.v = v; return 0
  all.push_back(make_case("STORE_ATTR", {"o", "v"}, {Arg::instance, Arg::int_1000},
                          [](Assembler& a) {
                            a.load_fast("v");
                            a.load_fast_borrow("o");
                            a.store_attr(0);
                            a.load_small_int(0);
                            a.return_value();
                          },
                          {{Op::LOAD_FAST, {1, 0}, {1, 0}},
                           {Op::STORE_ATTR, {0, 1}, {0, 1}},  // steals v, drops the old value
                           {Op::LOAD_SMALL_INT, {1, 0}, {0, 0}},
                           // o dies (o, its class, its v), then the local v
                           {Op::RETURN_VALUE, {0, 4 + kFuncobj}, {0, 4}}}));
  // def f(a, b): return a + b + a
  all.push_back(make_case("BINARY_OP closes its operands", {"a", "b"}, {Arg::int_1000, Arg::int_1000},
                          [](Assembler& a) {
                            a.load_fast_borrow("a");
                            a.load_fast_borrow("b");
                            a.binary_op(BinaryOp::add);
                            a.load_fast_borrow("a");
                            a.binary_op(BinaryOp::add);
                            a.return_value();
                          },
                          {{Op::BINARY_OP, {0, 1}, {0, 1}},  // the temporary a + b
                           {Op::RETURN_VALUE, {0, 2 + kFuncobj}, {0, 2}}}));
  // def f(): return 1 + 2
  all.push_back(make_case("BINARY_OP on small ints", {}, {},
                          [](Assembler& a) {
                            a.load_small_int(1);
                            a.load_small_int(2);
                            a.binary_op(BinaryOp::add);
                            a.return_value();
                          },
                          {{Op::LOAD_SMALL_INT, {2, 0}, {0, 0}},
                           {Op::BINARY_OP, {1, 2}, {0, 0}},
                           {Op::RETURN_VALUE, {0, kFuncobj}, {0, 0}}}));
  // def f(L): return L[0]
  all.push_back(make_case("BINARY_OP []", {"L"}, {Arg::list},
                          [](Assembler& a) {
                            a.load_fast_borrow("L");
                            a.load_small_int(0);
                            a.binary_op(BinaryOp::subscript);
                            a.return_value();
                          },
                          {{Op::LOAD_SMALL_INT, {1, 0}, {0, 0}},
                           {Op::BINARY_OP, {1, 1}, {1, 0}},
                           {Op::RETURN_VALUE, {0, 1 + kFuncobj}, {0, 1}}}));
  // def f(L):
  //     x = L[0]
  //     if L[1] is None: return None      (L[1] is 1001: not taken)
  //     del x
  //     return None
  all.push_back(make_case("POP_JUMP_IF_NONE, DELETE_FAST", {"L"}, {Arg::list},
                          [](Assembler& a) {
                            const Label none = a.label();
                            for (const std::uint32_t k : {0u, 1u}) {
                              a.load_fast_borrow("L");
                              a.load_small_int(k);
                              a.binary_op(BinaryOp::subscript);
                              if (k == 0) a.store_fast("x");
                            }
                            a.pop_jump_if_none(none);
                            a.delete_fast("x");
                            a.load_const_none();
                            a.return_value();
                            a.bind(none);
                            a.load_const_none();
                            a.return_value();
                          },
                          {{Op::LOAD_SMALL_INT, {2, 0}, {0, 0}},
                           {Op::BINARY_OP, {2, 2}, {2, 0}},
                           {Op::POP_JUMP_IF_NONE, {0, 1}, {0, 1}},  // L[1] closed
                           {Op::DELETE_FAST, {0, 1}, {0, 1}},       // x = L[0] closed
                           {Op::LOAD_CONST, {1, 0}, {0, 0}},
                           {Op::RETURN_VALUE, {0, 1 + kFuncobj}, {0, 1}}}));
  // def f(a, b):
  //     if a + b < a: return 1
  //     return 2
  all.push_back(make_case("COMPARE_OP, POP_JUMP_IF_TRUE, NOT_TAKEN", {"a", "b"}, {Arg::int_1000, Arg::int_1000},
                          [](Assembler& a) {
                            const Label yes = a.label();
                            a.load_fast_borrow("a");
                            a.load_fast_borrow("b");
                            a.binary_op(BinaryOp::add);
                            a.load_fast_borrow("a");
                            a.compare_op(Compare::less);
                            a.pop_jump_if_true(yes);
                            a.load_small_int(2);
                            a.return_value();
                            a.bind(yes);
                            a.load_small_int(1);
                            a.return_value();
                          },
                          {{Op::COMPARE_OP, {0, 1}, {0, 1}},  // the temporary; True/False are never counted
                           {Op::LOAD_SMALL_INT, {1, 0}, {0, 0}},
                           {Op::RETURN_VALUE, {0, 2 + kFuncobj}, {0, 2}}}));
  // def f(L):
  //     for x in L: pass
  //     return 0
  all.push_back(make_case("GET_ITER, FOR_ITER, POP_ITER over a list", {"L"}, {Arg::list},
                          [](Assembler& a) {
                            a.load_fast("L");
                            a.get_iter();
                            const Label top = a.label(), end = a.label();
                            a.bind(top);
                            a.for_iter(end);
                            a.store_fast("x");
                            a.jump_backward(top);
                            a.end_loop(end);
                            a.load_small_int(0);
                            a.return_value();
                          },
                          {{Op::LOAD_FAST, {1, 0}, {1, 0}},
                           // the list iterator takes the list; the stack's reference is closed
                           {Op::GET_ITER, {1, 1}, {1, 1}},
                           {Op::FOR_ITER, {2, 0}, {2, 0}},
                           {Op::STORE_FAST, {0, 1}, {0, 1}},
                           // the iterator dies, and drops the list
                           {Op::POP_ITER, {0, 2}, {0, 2}},
                           {Op::LOAD_SMALL_INT, {1, 0}, {0, 0}},
                           {Op::RETURN_VALUE, {0, 2 + kFuncobj}, {0, 2}}}));
  // def f():
  //     for i in range(3): pass
  //     return 0
  all.push_back(make_case("GET_ITER, FOR_ITER over a range", {}, {},
                          [](Assembler& a) {
                            a.load_global("range", true);
                            a.load_small_int(3);
                            a.call(1);
                            a.get_iter();
                            const Label top = a.label(), end = a.label();
                            a.bind(top);
                            a.for_iter(end);
                            a.store_fast("i");
                            a.jump_backward(top);
                            a.end_loop(end);
                            a.load_small_int(0);
                            a.return_value();
                          },
                          {{Op::LOAD_GLOBAL, {1, 0}, {0, 0}},
                           {Op::LOAD_SMALL_INT, {2, 0}, {0, 0}},
                           {Op::CALL, {0, 2}, {0, 0}},       // the argument 3 and range
                           {Op::GET_ITER, {0, 1}, {0, 1}},   // the range object dies
                           {Op::FOR_ITER, {3, 0}, {0, 0}},   // 0, 1, 2: small ints
                           {Op::STORE_FAST, {0, 2}, {0, 0}},
                           {Op::POP_ITER, {0, 1}, {0, 1}},   // the iterator dies
                           {Op::RETURN_VALUE, {0, 1 + kFuncobj}, {0, 0}}}));
  // def f(a): return (a, a)
  all.push_back(make_case("BUILD_TUPLE", {"a"}, {Arg::int_1000},
                          [](Assembler& a) {
                            a.load_fast_borrow("a");
                            a.load_fast_borrow("a");
                            a.build_tuple(2);
                            a.return_value();
                          },
                          {{Op::BUILD_TUPLE, {2, 0}, {2, 0}},  // borrowed items: the tuple takes counts
                           {Op::RETURN_VALUE, {0, 1 + kFuncobj}, {0, 1}}}));
  // def f(a): L = [a, a]; L.append(a) (as a comprehension's LIST_APPEND)
  all.push_back(make_case("BUILD_LIST, LIST_APPEND", {"a"}, {Arg::int_1000},
                          [](Assembler& a) {
                            a.load_fast_borrow("a");
                            a.load_fast("a");
                            a.build_list(2, 3);
                            a.load_fast_borrow("a");
                            a.list_append(1);
                            a.return_value();
                          },
                          {{Op::LOAD_FAST, {1, 0}, {1, 0}},
                           {Op::BUILD_LIST, {1, 0}, {1, 0}},  // the borrowed item takes a count, the other is stolen
                           {Op::LIST_APPEND, {1, 0}, {1, 0}},
                           {Op::RETURN_VALUE, {0, 1 + kFuncobj}, {0, 1}}}));
  // def f(t): a, b = t; return 0
  all.push_back(make_case("UNPACK_SEQUENCE", {"t"}, {Arg::pair},
                          [](Assembler& a) {
                            a.load_fast_borrow("t");
                            a.unpack_sequence(2);
                            a.store_fast("a");
                            a.store_fast("b");
                            a.load_small_int(0);
                            a.return_value();
                          },
                          {{Op::UNPACK_SEQUENCE, {2, 0}, {2, 0}},
                           {Op::LOAD_SMALL_INT, {1, 0}, {0, 0}},
                           // t dies (t, its two items), then a and b
                           {Op::RETURN_VALUE, {0, 5 + kFuncobj}, {0, 5}}}));
  // def f(a): return g(a)       where def g(x): return x
  all.push_back(make_case("CALL a Python function, RETURN_VALUE", {"a"}, {Arg::int_1000},
                          [](Assembler& a) {
                            a.load_global("g", true);
                            a.load_fast_borrow("a");
                            a.call(1);
                            a.return_value();
                          },
                          {{Op::LOAD_GLOBAL, {1, 0}, {0, 0}},
                           {Op::CALL, {1, 0}, {0, 0}},  // g's frame: f_executable (g itself moves in)
                           // g returns its borrowed x: +1; g's frame closes g, f's closes a and f
                           {Op::RETURN_VALUE, {1, 1 + 2 * kFuncobj}, {1, 1}}}));
  // def f(x): return sqrt(x)
  all.push_back(make_case("CALL a builtin", {"x"}, {Arg::float_},
                          [](Assembler& a) {
                            a.load_global("sqrt", true);
                            a.load_fast_borrow("x");
                            a.call(1);
                            a.return_value();
                          },
                          {{Op::LOAD_GLOBAL, {1, 0}, {0, 0}},
                           {Op::CALL, {0, 1}, {0, 0}},  // closes the borrowed x and sqrt
                           {Op::RETURN_VALUE, {0, 1 + kFuncobj}, {0, 1}}}));
  // def f(a): return C(a)
  all.push_back(make_case("CALL a class", {"a"}, {Arg::int_1000},
                          [](Assembler& a) {
                            a.load_global("C", true);
                            a.load_fast_borrow("a");
                            a.call(1);
                            a.return_value();
                          },
                          // CALL_ALLOC_AND_ENTER_INIT: the instance's class (_Py_INCREF_TYPE),
                          // __init__ for C (C closed), the shim's DUP of self, __init__'s
                          // f_executable; then __init__ runs `self.v = v` and returns None.
                          {{Op::LOAD_GLOBAL, {1, 0}, {0, 0}},
                           {Op::CALL, {4, 1}, {2, 0}},
                           {Op::STORE_ATTR, {1, 0}, {1, 0}},  // the instance takes the borrowed a
                           {Op::LOAD_CONST, {1, 0}, {0, 0}},  // None
                           {Op::EXIT_INIT_CHECK, {0, 1}, {0, 0}},  // None closed
                           // __init__'s frame closes self, its function and code; f's a and its own
                           {Op::RETURN_VALUE, {0, 3 + 1 + kFuncobj}, {0, 2}}}));
  // def f(q, a): q.put(a); return q.get()
  all.push_back(make_case("LOAD_ATTR_METHOD, CALL queue methods", {"q", "a"}, {Arg::queue, Arg::int_1000},
                          [](Assembler& a) {
                            a.load_fast_borrow("q");
                            a.load_attr_method(Native::queue_put);
                            a.load_fast_borrow("a");
                            a.call(1);
                            a.pop_top();
                            a.load_fast_borrow("q");
                            a.load_attr_method(Native::queue_get);
                            a.call(0);
                            a.return_value();
                          },
                          {{Op::LOAD_ATTR_METHOD, {2, 0}, {0, 0}},
                           // put: the queue's new reference, None; both methods closed
                           {Op::CALL, {2, 2}, {1, 0}},
                           {Op::POP_TOP, {0, 1}, {0, 0}},  // None
                           {Op::RETURN_VALUE, {0, 2 + kFuncobj}, {0, 2}}}));
  return all;
}

TEST(PyvmOpcodes, CountsMatchTheTableWithoutFacts) {
  for (const Case& c : cases()) check<false>(c);
}

TEST(PyvmOpcodes, CountsMatchTheTableWithFacts) {
  for (const Case& c : cases()) check<true>(c);
}

// The eval breaker is checked where 3.14 checks it: RESUME of every frame,
// JUMP_BACKWARD, and the end of a CALL that ran C code (_CHECK_PERIODIC
// ends CALL_BUILTIN_O and the other C-call macros); a Python call checks
// at its callee's RESUME only.
TEST(PyvmOpcodes, EvalBreakerChecksWhere314Checks) {
  const auto safepoints = [](const std::string& name) {
    for (const Case& c : cases())
      if (c.name == name) {
        const Table t = run_case<Tally<true>>(c);
        std::map<std::string, int> got;
        for (std::size_t op = 0; op <= kOps; ++op)
          if (t[op].safepoints > 0) got[op == kOutside ? "outside" : std::string(pyvm::name(static_cast<Op>(op)))] = t[op].safepoints;
        return got;
      }
    ADD_FAILURE() << "no case " << name;
    return std::map<std::string, int>{};
  };
  using M = std::map<std::string, int>;
  EXPECT_EQ(safepoints("CALL a builtin"), (M{{"RESUME", 1}, {"CALL", 1}}));
  EXPECT_EQ(safepoints("CALL a class"), (M{{"RESUME", 2}}));  // f's and __init__'s
  EXPECT_EQ(safepoints("LOAD_ATTR_METHOD, CALL queue methods"), (M{{"RESUME", 1}, {"CALL", 2}}));
  EXPECT_EQ(safepoints("CALL a Python function, RETURN_VALUE"), (M{{"RESUME", 2}}));
  EXPECT_EQ(safepoints("GET_ITER, FOR_ITER, POP_ITER over a list"), (M{{"RESUME", 1}, {"JUMP_BACKWARD", 2}}));
}

TEST(PyvmAssembler, RejectsAnUnboundLabelAndADeepStack) {
  Program p;
  Assembler a(p, "f", {});
  a.resume();
  a.jump_forward(a.label());
  EXPECT_THROW(a.finish(), std::logic_error);
  Assembler b(p, "g", {});
  EXPECT_THROW(
      for (int i = 0; i <= static_cast<int>(pyvm::kStackSlots); ++i) b.load_small_int(1), std::logic_error);
}

}  // namespace
}  // namespace rcb::test
