#pragma once
// pyvm's bytecode: the opcodes, the code of one function, a program (its
// functions, names and globals), and an assembler whose calls read like the
// `dis` listing CPython 3.14 prints for the Python it quotes. None of this
// depends on the strategy, so the programs compile once; workloads/pyvm/
// module.h turns a Program into objects under a strategy.
//
// Opcodes are CPython 3.14's names for the specialised forms our programs
// would run as (LOAD_ATTR is LOAD_ATTR_INSTANCE_VALUE, CALL on a Python
// function is CALL_PY_EXACT_ARGS, ...): docs/pyvm.md lists each with the
// references it takes and drops, and where CPython says so. Operands that
// CPython resolves through an inline cache (an attribute's slot in the
// instance, a method's C function) are resolved here when the program is
// assembled.
//
// Invariant: a Program is complete and checked when built (labels bound,
// locals and names declared, stack depth within kStackSlots); the
// interpreter trusts it.

#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace rcb::pyvm {

enum class Op : std::uint8_t {
  RESUME,             // function entry: the eval breaker (a safepoint)
  NOT_TAKEN,          // 3.14's marker after a conditional jump, for branch monitoring; a no-op
  LOAD_FAST,          // push a new reference to local[arg]
  LOAD_FAST_BORROW,   // push a borrowed (uncounted) reference to local[arg]
  STORE_FAST,         // local[arg] = pop; the old value is closed
  DELETE_FAST,        // local[arg] is closed and left null (`del x`)
  LOAD_CONST,         // push code.consts[arg] (LOAD_CONST_IMMORTAL: constants are immortal)
  LOAD_SMALL_INT,     // push the cached int arg, 0 <= arg < 256
  LOAD_GLOBAL,        // arg = name << 1 | push_null: globals[name], else builtins[name]
  PUSH_NULL,          // push null (self_or_null before calling a local)
  LOAD_ATTR,          // replace TOS by TOS.attribute[arg] (LOAD_ATTR_INSTANCE_VALUE)
  LOAD_ATTR_METHOD,   // TOS -> builtin method arg, TOS as self (LOAD_ATTR_METHOD_NO_DICT)
  STORE_ATTR,         // TOS.attribute[arg] = TOS1 (STORE_ATTR_INSTANCE_VALUE)
  BINARY_OP,          // arg: BinaryOp; BINARY_OP [] is 3.14's spelling of BINARY_SUBSCR
  COMPARE_OP,         // arg: Compare; pushes True or False
  POP_JUMP_IF_FALSE,  // arg: target
  POP_JUMP_IF_TRUE,   // arg: target
  POP_JUMP_IF_NONE,      // arg: target; pops and closes the value (`x is None` in a condition)
  POP_JUMP_IF_NOT_NONE,  // arg: target; likewise
  JUMP_FORWARD,       // arg: target
  JUMP_BACKWARD,      // arg: target; the eval breaker (a safepoint)
  GET_ITER,           // list/tuple: stays, index 0 pushed; range: replaced by its iterator, null pushed
  FOR_ITER,           // push the next item, or jump to arg (the POP_ITER after END_FOR)
  END_FOR,            // pop and close (reached only by generators; our loops jump past it)
  POP_ITER,           // pop the index and the iterator, closing the iterator
  BUILD_TUPLE,        // arg items -> one tuple, stealing them
  BUILD_LIST,         // arg & 0xff items -> one list of capacity arg >> 8, stealing them
  LIST_APPEND,        // list at stack[-1 - arg] appends pop, stealing it
  UNPACK_SEQUENCE,    // a tuple of arg items -> its items, item 0 on top
  CALL,               // arg args above callable, self_or_null
  RETURN_VALUE,       // the frame ends; its result moves to the caller's stack
  POP_TOP,            // pop and close
  EXIT_INIT_CHECK,    // pop __init__'s result, which must be None (the class call's shim frame)
  kCount
};

[[nodiscard]] std::string_view name(Op op);

enum class BinaryOp : std::uint32_t { add, subtract, multiply, inplace_add, subscript };
enum class Compare : std::uint32_t { less, less_equal, equal, not_equal, greater, greater_equal };

// Builtin functions and methods, implemented in C++ as CPython implements
// them in C (workloads/pyvm/interp.h, call_native).
enum class Native : std::uint32_t {
  range,          // range(stop) / range(start, stop)
  int_,           // int(x): truncates a float
  sqrt,           // math.sqrt
  cosh,           // math.cosh
  cos,            // math.cos
  len,            // len(x) of a list or tuple
  queue_put,      // q.put(x): queue.SimpleQueue's, unbounded
  queue_get,      // q.get(): blocks while the queue is empty
  kCount
};

[[nodiscard]] std::string_view name(Native n);

struct Instr {
  Op op;
  std::uint32_t arg;
};

// A code constant. CPython 3.14t makes every code constant immortal
// (Objects/codeobject.c, intern_constants), as PEP 683 allows.
// A tuple constant is `i` Nones (`(None, None)`, which the compiler folds).
struct Const {
  enum class Tag : std::uint8_t { int_, float_, none, none_tuple } tag;
  std::int64_t i = 0;
  double f = 0;
  friend bool operator==(const Const&, const Const&) = default;
};

// Value-stack slots per frame: the deepest expression of our programs
// needs 12 (dimuon's mass), CPython computes co_stacksize exactly.
inline constexpr std::uint32_t kStackSlots = 16;

struct CodeSpec {
  std::string name;
  std::uint32_t argcount = 0;
  std::vector<std::string> locals;  // arguments first
  std::vector<Instr> code;
  std::vector<Const> consts;
};

// What a global name is bound to when the module is loaded.
struct GlobalSpec {
  enum class Tag : std::uint8_t {
    function,  // a Python function: code[index]
    native,    // a builtin function: Native(index)
    klass,     // a class whose instances have `index` attributes; its __init__ is code[init]
    object,    // set by the workload (a list it built)
  } tag;
  std::string name;
  std::uint32_t index = 0;
  std::uint32_t init = 0;  // klass only
};

struct Program {
  std::vector<CodeSpec> codes;
  std::vector<std::string> names;  // interned; LOAD_GLOBAL's operand indexes it
  std::vector<GlobalSpec> globals;
  std::vector<GlobalSpec> builtins;

  [[nodiscard]] std::uint32_t name_index(std::string_view n) const {
    for (std::uint32_t i = 0; i < names.size(); ++i)
      if (names[i] == n) return i;
    throw std::logic_error("pyvm: undeclared name " + std::string(n));
  }
  [[nodiscard]] std::uint32_t code_index(std::string_view n) const {
    for (std::uint32_t i = 0; i < codes.size(); ++i)
      if (codes[i].name == n) return i;
    throw std::logic_error("pyvm: no function " + std::string(n));
  }
  std::uint32_t intern(std::string_view n) {
    for (std::uint32_t i = 0; i < names.size(); ++i)
      if (names[i] == n) return i;
    names.emplace_back(n);
    return static_cast<std::uint32_t>(names.size() - 1);
  }
};

// A jump target, bound once with Assembler::bind.
struct Label {
  std::uint32_t id;
};

// Writes one function's bytecode. Each call appends one instruction named
// after it; operands are names, as `dis` prints them.
class Assembler {
 public:
  Assembler(Program& program, std::string name, std::initializer_list<std::string_view> args)
      : program_(program) {
    spec_.name = std::move(name);
    for (const auto a : args) spec_.locals.emplace_back(a);
    spec_.argcount = static_cast<std::uint32_t>(spec_.locals.size());
  }

  void resume() { emit(Op::RESUME, 0, 0); }
  void load_fast(std::string_view local) { emit(Op::LOAD_FAST, slot(local), +1); }
  void load_fast_borrow(std::string_view local) { emit(Op::LOAD_FAST_BORROW, slot(local), +1); }
  void store_fast(std::string_view local) { emit(Op::STORE_FAST, slot(local), -1); }
  void load_small_int(std::uint32_t v) {
    if (v >= 256) throw std::logic_error("pyvm: LOAD_SMALL_INT takes 0..255");
    emit(Op::LOAD_SMALL_INT, v, +1);
  }
  void load_const(double v) { emit(Op::LOAD_CONST, constant({Const::Tag::float_, 0, v}), +1); }
  void load_const_int(std::int64_t v) { emit(Op::LOAD_CONST, constant({Const::Tag::int_, v, 0}), +1); }
  void load_const_none() { emit(Op::LOAD_CONST, constant({Const::Tag::none, 0, 0}), +1); }
  void load_const_none_tuple(std::uint32_t n) { emit(Op::LOAD_CONST, constant({Const::Tag::none_tuple, n, 0}), +1); }
  void delete_fast(std::string_view local) { emit(Op::DELETE_FAST, slot(local), 0); }
  void push_null() { emit(Op::PUSH_NULL, 0, +1); }
  // LOAD_GLOBAL f + NULL (the form before a call) or LOAD_GLOBAL x.
  void load_global(std::string_view global, bool push_null) {
    emit(Op::LOAD_GLOBAL, program_.intern(global) << 1 | (push_null ? 1u : 0u), push_null ? +2 : +1);
  }
  void load_attr(std::uint32_t attribute_slot) { emit(Op::LOAD_ATTR, attribute_slot, 0); }
  void load_attr_method(Native method) { emit(Op::LOAD_ATTR_METHOD, static_cast<std::uint32_t>(method), +1); }
  void store_attr(std::uint32_t attribute_slot) { emit(Op::STORE_ATTR, attribute_slot, -2); }
  void binary_op(BinaryOp op) { emit(Op::BINARY_OP, static_cast<std::uint32_t>(op), -1); }
  void compare_op(Compare c) { emit(Op::COMPARE_OP, static_cast<std::uint32_t>(c), -1); }
  // Each conditional jump and the NOT_TAKEN 3.14 emits after it. `x is
  // None` / `x is not None` in a condition are POP_JUMP_IF_NOT_NONE /
  // POP_JUMP_IF_NONE.
  void pop_jump_if_false(Label target) { conditional_jump(Op::POP_JUMP_IF_FALSE, target); }
  void pop_jump_if_true(Label target) { conditional_jump(Op::POP_JUMP_IF_TRUE, target); }
  void pop_jump_if_none(Label target) { conditional_jump(Op::POP_JUMP_IF_NONE, target); }
  void pop_jump_if_not_none(Label target) { conditional_jump(Op::POP_JUMP_IF_NOT_NONE, target); }
  void jump_forward(Label target) { jump(Op::JUMP_FORWARD, target, 0); }
  void jump_backward(Label target) { jump(Op::JUMP_BACKWARD, target, 0); }
  void get_iter() { emit(Op::GET_ITER, 0, +1); }
  // FOR_ITER exits to the END_FOR at `end`; CPython jumps past it, to POP_ITER.
  void for_iter(Label end) {
    jump(Op::FOR_ITER, end, +1);
    exits_past_end_for_.push_back(at() - 1);
  }
  void end_for() { emit(Op::END_FOR, 0, -1); }
  void pop_iter() { emit(Op::POP_ITER, 0, -2); }
  void build_tuple(std::uint32_t n) { emit(Op::BUILD_TUPLE, n, 1 - static_cast<int>(n)); }
  void build_list(std::uint32_t n, std::uint32_t capacity) {
    if (n > 0xff || capacity < n) throw std::logic_error("pyvm: BUILD_LIST operands");
    emit(Op::BUILD_LIST, capacity << 8 | n, 1 - static_cast<int>(n));
  }
  void list_append(std::uint32_t depth) { emit(Op::LIST_APPEND, depth, -1); }
  void unpack_sequence(std::uint32_t n) { emit(Op::UNPACK_SEQUENCE, n, static_cast<int>(n) - 1); }
  void call(std::uint32_t args) { emit(Op::CALL, args, -1 - static_cast<int>(args)); }
  void return_value() { emit(Op::RETURN_VALUE, 0, -1); }
  void pop_top() { emit(Op::POP_TOP, 0, -1); }

  // A for loop's end: END_FOR, POP_ITER (the stack depth after the loop
  // body is the depth FOR_ITER left before pushing an item).
  void end_loop(Label end) {
    depth_ += 1;  // FOR_ITER's exit path still holds the pushed slot's place
    bind(end);
    end_for();
    pop_iter();
  }

  [[nodiscard]] Label label() {
    targets_.push_back(kUnbound);
    return Label{static_cast<std::uint32_t>(targets_.size() - 1)};
  }
  void bind(Label l) { targets_.at(l.id) = at(); }

  // Declares a local that is not an argument.
  void local(std::string_view name) {
    for (const auto& l : spec_.locals)
      if (l == name) return;
    spec_.locals.emplace_back(name);
  }

  // Resolves jumps and adds the function to the program.
  void finish() {
    for (auto& ins : spec_.code) {
      if (!is_jump(ins.op)) continue;
      const std::uint32_t t = targets_.at(ins.arg);
      if (t == kUnbound) throw std::logic_error("pyvm: unbound label in " + spec_.name);
      ins.arg = t;
    }
    for (const std::uint32_t i : exits_past_end_for_) {
      if (spec_.code.at(spec_.code[i].arg).op != Op::END_FOR)
        throw std::logic_error("pyvm: FOR_ITER must exit to END_FOR in " + spec_.name);
      ++spec_.code[i].arg;  // to the POP_ITER
    }
    program_.codes.push_back(std::move(spec_));
  }

  // Locals by name: an unknown one is declared (a local that is not an argument).
  std::uint32_t slot(std::string_view local_name) {
    local(local_name);
    for (std::uint32_t i = 0; i < spec_.locals.size(); ++i)
      if (spec_.locals[i] == local_name) return i;
    return 0;  // unreachable: local() declared it
  }

 private:
  static constexpr std::uint32_t kUnbound = ~0u;
  static bool is_jump(Op op) {
    return op == Op::POP_JUMP_IF_FALSE || op == Op::POP_JUMP_IF_TRUE || op == Op::POP_JUMP_IF_NONE ||
           op == Op::POP_JUMP_IF_NOT_NONE || op == Op::JUMP_FORWARD ||
           op == Op::JUMP_BACKWARD || op == Op::FOR_ITER;
  }
  [[nodiscard]] std::uint32_t at() const { return static_cast<std::uint32_t>(spec_.code.size()); }
  void emit(Op op, std::uint32_t arg, int stack_effect) {
    spec_.code.push_back({op, arg});
    depth_ += stack_effect;
    if (depth_ < 0 || depth_ > static_cast<int>(kStackSlots))
      throw std::logic_error("pyvm: stack depth out of range in " + spec_.name);
  }
  void jump(Op op, Label target, int stack_effect) { emit(op, target.id, stack_effect); }
  void conditional_jump(Op op, Label target) {
    jump(op, target, -1);
    emit(Op::NOT_TAKEN, 0, 0);
  }
  std::uint32_t constant(Const c) {
    for (std::uint32_t i = 0; i < spec_.consts.size(); ++i)
      if (spec_.consts[i] == c) return i;
    spec_.consts.push_back(c);
    return static_cast<std::uint32_t>(spec_.consts.size() - 1);
  }

  Program& program_;
  CodeSpec spec_;
  std::vector<std::uint32_t> targets_;
  std::vector<std::uint32_t> exits_past_end_for_;
  int depth_ = 0;
};

inline std::string_view name(Op op) {
  static constexpr std::string_view kNames[] = {
      "RESUME",           "NOT_TAKEN",        "LOAD_FAST",          "LOAD_FAST_BORROW", "STORE_FAST",
      "DELETE_FAST",      "LOAD_CONST",       "LOAD_SMALL_INT",     "LOAD_GLOBAL",      "PUSH_NULL",
      "LOAD_ATTR",        "LOAD_ATTR_METHOD", "STORE_ATTR",         "BINARY_OP",        "COMPARE_OP",
      "POP_JUMP_IF_FALSE", "POP_JUMP_IF_TRUE", "POP_JUMP_IF_NONE",  "POP_JUMP_IF_NOT_NONE", "JUMP_FORWARD",
      "JUMP_BACKWARD",    "GET_ITER",         "FOR_ITER",           "END_FOR",          "POP_ITER",
      "BUILD_TUPLE",      "BUILD_LIST",       "LIST_APPEND",        "UNPACK_SEQUENCE",  "CALL",
      "RETURN_VALUE",     "POP_TOP",          "EXIT_INIT_CHECK"};
  static_assert(std::size(kNames) == static_cast<std::size_t>(Op::kCount));
  return kNames[static_cast<std::size_t>(op)];
}

inline std::string_view name(Native n) {
  static constexpr std::string_view kNames[] = {"range", "int", "sqrt", "cosh", "cos", "len", "put", "get"};
  static_assert(std::size(kNames) == static_cast<std::size_t>(Native::kCount));
  return kNames[static_cast<std::size_t>(n)];
}

}  // namespace rcb::pyvm
