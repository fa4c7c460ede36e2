#pragma once
// pyvm's eval loop: CPython 3.14's reference rules, one opcode at a time,
// at an interpreter's density (dispatch, stack traffic and look-ups between
// refcount operations), over the object model every strategy counts.
//
// Mechanism: a frame is a block of slots on the thread's DataStack (the
// function object, the code object, the fast locals, the value stack),
// each slot a StackRef
// (strategies/cpython_facts.h): counted, or tagged as holding no count (a
// borrow, or an immortal or deferred object under a strategy that knows
// them). Python-to-Python calls push a frame and continue in the same C++
// loop, as CPython 3.11+ does, so recursion costs no C++ stack. Each
// opcode's increfs and decrefs are listed, with the CPython source of each
// rule, in docs/pyvm.md; a test checks every row (tests/test_pyvm.cpp).
//
// Invariant: every reference a frame holds is in a DataStack slot from the
// moment it is taken until it is closed or moved, so a stop-the-world
// collection (deferred, cpython_ft) that scans the stacks sees it. Slots
// above a frame's stack top may hold stale bits; a collection treats them
// as references, which can only delay a free.
//
// Eval-breaker checks (ctx.safepoint()) are where CPython 3.14 checks: RESUME
// at every function entry (a class call's __init__ included), JUMP_BACKWARD,
// and the end of a CALL that ran C code (CALL_BUILTIN_O, CALL_BUILTIN_CLASS,
// CALL_METHOD_DESCRIPTOR_*: each macro ends in _CHECK_PERIODIC), but not
// CALL_LEN, which cannot run Python code and has no check (docs/pyvm.md).
//
// A class call is CALL_ALLOC_AND_ENTER_INIT: the instance is allocated, a
// shim frame (CPython's _Py_InitCleanup: EXIT_INIT_CHECK, RETURN_VALUE)
// holds a second reference to it, and __init__ runs in its own frame on
// top; the shim returns the instance once __init__ has returned None.
//
// A context may define on_instruction(Op) (tests do) to attribute the
// refcount operations that follow to the opcode; strategies do not, and pay
// nothing.

#include <cmath>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <vector>

#include "strategies/cpython_facts.h"
#include "strategies/object.h"
#include "workloads/blocking.h"
#include "workloads/pyvm/code.h"
#include "workloads/pyvm/module.h"

namespace rcb::pyvm {

template <class S>
class Interp {
 public:
  using Obj = Object<S>;
  using Ctx = typename S::Context;
  using Ref = StackRef<S>;

  Interp(Ctx& ctx, const Module<S>& module) : ctx_(ctx), module_(module) { frames_.reserve(64); }

  // Calls the global function `function` with `args`, each a reference the
  // callee's frame takes over, as a thread's target receives its arguments.
  // Returns the result: a reference the caller must close.
  [[nodiscard]] Ref call(std::string_view function, std::span<const Ref> args) {
    const Ref callable = stack_new(ctx_, module_.global(function));
    std::uintptr_t* base = ctx_.data_stack.push(2 + args.size());
    base[0] = callable.bits();
    base[1] = 0;  // self_or_null
    for (std::size_t i = 0; i < args.size(); ++i) base[2 + i] = args[i].bits();
    if (!enter(base, static_cast<std::uint32_t>(args.size())))
      throw std::logic_error("pyvm: entry must call a Python function");
    const Ref result = eval();
    ctx_.data_stack.pop(2 + args.size());
    return result;
  }

  // A new stack reference to an object the heap holds (a thread's argument).
  [[nodiscard]] Ref reference(Obj* o) { return stack_new(ctx_, o); }

  // A new reference to int(v): the cached small int or a new object.
  [[nodiscard]] Ref box(std::int64_t v) {
    if (v >= kSmallIntMin && v <= kSmallIntMax) return stack_new(ctx_, module_.small_int(v));
    return stack_steal(new_int<S>(ctx_, v));
  }

  // Bytecodes dispatched since construction.
  [[nodiscard]] std::uint64_t executed() const { return executed_; }

 private:
  struct Frame {
    const Instr* first;      // the code's first instruction: jump targets count from it
    const Instr* pc;
    std::uintptr_t* base;    // slot 0: the function; 1: the code object; then locals; then the value stack
    std::uintptr_t* locals;  // base + kFrameHeader
    std::uintptr_t* sp;      // one past the value stack's top
    Obj* code;               // borrowed from the function the frame holds
    std::uint32_t slots;     // DataStack slots the frame took
  };

  // The frame's own slots before its locals: f_funcobj, f_executable.
  static constexpr std::uint32_t kFrameHeader = 2;

  // _Py_InitCleanup's code, and its frame: the header (None and the static
  // code object, immortal: null slots here, which cost no count) and a
  // value stack of two (the instance, then __init__'s None).
  static constexpr Instr kInitCleanup[] = {{Op::EXIT_INIT_CHECK, 0}, {Op::RETURN_VALUE, 0}};
  static constexpr std::uint32_t kShimSlots = kFrameHeader + 2;

  // CALL_ALLOC_AND_ENTER_INIT of the class at callee[0] (self_or_null null):
  // _CHECK_AND_ALLOCATE_OBJECT allocates the instance (PyType_GenericAlloc:
  // _Py_INCREF_TYPE), puts it in the self slot (a steal) and replaces the
  // class by a new reference to __init__, closing the class;
  // _CREATE_INIT_FRAME pushes the shim with PyStackRef_DUP(self), then
  // __init__'s frame, which takes self and the arguments.
  void enter_init(std::uintptr_t* callee, std::uint32_t argc) {
    const Ref klass = Ref::from_bits(callee[0]);
    Obj* type = klass.get();
    Obj* self = new_object<S>(ctx_, Kind::instance, 1 + static_cast<std::uint32_t>(type->value.i));
    incref_type(ctx_, type);
    set_item(self, 0, type);
    callee[0] = stack_new(ctx_, type->item(0)).bits();
    stack_close(ctx_, klass);
    callee[1] = stack_steal(self).bits();
    std::uintptr_t* base = ctx_.data_stack.push(kShimSlots);
    base[0] = base[1] = 0;
    std::uintptr_t* stack = base + kFrameHeader;
    stack[0] = stack_dup(ctx_, Ref::from_bits(callee[1])).bits();
    frames_.push_back({kInitCleanup, kInitCleanup, base, stack, stack + 1, nullptr, kShimSlots});
    if (!enter(callee, argc)) throw std::logic_error("pyvm: a class's __init__ must be a Python function");
  }

  // CALL of a Python function whose callable sits at `callee[0]`, self_or_null
  // at callee[1], `argc` arguments after them: pushes its frame, moving the
  // callable and arguments in, and takes a stack reference to the code
  // object (_PyFrame_Initialize: f_executable = PyStackRef_FromPyObjectNew
  // (code)), a count only where code objects are not deferred. Returns
  // false if the callable is not a Python function (the caller runs the
  // builtin instead). The slots the callable and arguments leave behind
  // keep stale bits until reused.
  [[nodiscard]] bool enter(std::uintptr_t* callee, std::uint32_t argc) {
    Obj* fn = Ref::from_bits(callee[0]).get();
    if (fn->kind != Kind::function || fn->size == 0) return false;
    Obj* code = fn->item(0);
    const CodeSpec& spec = module_.code(code);
    const bool has_self = callee[1] != 0;
    const std::uint32_t given = argc + (has_self ? 1 : 0);
    if (given != spec.argcount) throw std::logic_error("pyvm: wrong argument count for " + spec.name);
    const auto nlocals = static_cast<std::uint32_t>(spec.locals.size());
    const std::uint32_t slots = kFrameHeader + nlocals + kStackSlots;
    std::uintptr_t* base = ctx_.data_stack.push(slots);
    base[0] = callee[0];  // the frame holds the callable's reference (f_funcobj)
    base[1] = stack_new(ctx_, code).bits();
    std::uintptr_t* args = has_self ? callee + 1 : callee + 2;
    std::uintptr_t* locals = base + kFrameHeader;
    for (std::uint32_t i = 0; i < given; ++i) locals[i] = args[i];
    frames_.push_back({spec.code.data(), spec.code.data(), base, locals, locals + nlocals, code, slots});
    return true;
  }

  // Closes a frame's locals, function and code object (clear_thread_frame:
  // _PyFrame_ClearExceptCode, then PyStackRef_CLEAR(f_executable)) and
  // gives its slots back.
  void leave(const Frame& f) {
    for (std::uintptr_t* s = f.locals; s < f.sp; ++s) stack_close(ctx_, Ref::from_bits(*s));
    stack_close(ctx_, Ref::from_bits(f.base[0]));
    stack_close(ctx_, Ref::from_bits(f.base[1]));
    ctx_.data_stack.pop(f.slots);
  }

  // Runs frames_ until the bottom frame returns; returns its result.
  Ref eval();

  Ref call_native(Native n, std::span<std::uintptr_t> args);
  Ref queue_put(Obj* q, Obj* item);
  Ref queue_get(Obj* q);

  [[nodiscard]] static double number(const Obj* o) {
    return o->kind == Kind::float_ ? o->value.f : static_cast<double>(o->value.i);
  }
  Ref binary(BinaryOp op, Obj* a, Obj* b);
  [[nodiscard]] static bool compare(Compare c, const Obj* a, const Obj* b);

  void note(Op op) {
    if constexpr (requires { ctx_.on_instruction(op); }) ctx_.on_instruction(op);
  }

  Ctx& ctx_;
  const Module<S>& module_;
  std::vector<Frame> frames_;
  std::uint64_t executed_ = 0;
};

// Queues pack head (bits 0-23) and length (24-47) into value.i, changed
// only under their lock (Module::queue_sync).
inline constexpr std::int64_t kQueueField = (std::int64_t{1} << 24) - 1;

template <class S>
StackRef<S> Interp<S>::eval() {
  Frame* f = &frames_.back();
  const Instr* pc = f->pc;
  std::uintptr_t* sp = f->sp;
  std::uintptr_t* locals = f->locals;
  std::uint64_t executed = 0;

  const auto push = [&](Ref r) { *sp++ = r.bits(); };
  const auto pop = [&]() { return Ref::from_bits(*--sp); };
  const auto local = [&](std::uint32_t i) { return Ref::from_bits(locals[i]); };

  for (;;) {
    const Instr ins = *pc++;
    ++executed;
    note(ins.op);
    switch (ins.op) {
      case Op::RESUME:
        ctx_.safepoint();
        break;
      case Op::NOT_TAKEN:
        break;
      case Op::LOAD_FAST:
        push(stack_dup(ctx_, local(ins.arg)));
        break;
      case Op::LOAD_FAST_BORROW:
        push(stack_borrow(ctx_, local(ins.arg).get()));
        break;
      case Op::STORE_FAST: {
        const Ref old = local(ins.arg);
        locals[ins.arg] = pop().bits();
        stack_close(ctx_, hide(old));
        break;
      }
      case Op::DELETE_FAST: {
        // inst(DELETE_FAST): PyStackRef_XCLOSE of the local, left null.
        const Ref old = local(ins.arg);
        locals[ins.arg] = 0;
        stack_close(ctx_, hide(old));
        break;
      }
      case Op::PUSH_NULL:
        push(Ref{});
        break;
      case Op::LOAD_CONST:
        push(stack_new(ctx_, f->code->item(ins.arg)));
        break;
      case Op::LOAD_SMALL_INT:
        push(stack_new(ctx_, module_.small_int(ins.arg)));
        break;
      case Op::LOAD_GLOBAL:
        push(stack_new(ctx_, module_.global(ins.arg >> 1)));
        if ((ins.arg & 1) != 0) push(Ref{});
        break;
      case Op::LOAD_ATTR: {
        const Ref owner = pop();
        push(stack_new(ctx_, owner.get()->item(1 + ins.arg)));
        stack_close(ctx_, owner);
        break;
      }
      case Op::LOAD_ATTR_METHOD: {
        const Ref owner = pop();
        push(stack_new(ctx_, module_.native(static_cast<Native>(ins.arg))));
        push(owner);  // self: the owner's reference moves
        break;
      }
      case Op::STORE_ATTR: {
        const Ref owner = pop();
        const Ref value = pop();
        Obj* o = owner.get();
        Obj* old = o->item(1 + ins.arg);
        set_item(o, 1 + ins.arg, stack_to_heap(ctx_, value));
        if (old != nullptr) ctx_.decref(hide(old));
        stack_close(ctx_, owner);
        break;
      }
      case Op::BINARY_OP: {
        const Ref right = pop();
        const Ref left = pop();
        push(binary(static_cast<BinaryOp>(ins.arg), left.get(), right.get()));
        stack_close(ctx_, hide(right));
        stack_close(ctx_, hide(left));
        break;
      }
      case Op::COMPARE_OP: {
        const Ref right = pop();
        const Ref left = pop();
        const bool r = compare(static_cast<Compare>(ins.arg), left.get(), right.get());
        stack_close(ctx_, hide(right));
        stack_close(ctx_, hide(left));
        // PyStackRef_True / _False (3.14), Py_True with no Py_INCREF (3.13):
        // never counted, under any strategy.
        push(Ref::uncounted(r ? module_.true_() : module_.false_()));
        break;
      }
      case Op::POP_JUMP_IF_FALSE:
        if (pop().get() == module_.false_()) pc = f->first + ins.arg;
        break;
      case Op::POP_JUMP_IF_TRUE:
        if (pop().get() == module_.true_()) pc = f->first + ins.arg;
        break;
      case Op::POP_JUMP_IF_NONE:
      case Op::POP_JUMP_IF_NOT_NONE: {
        // macro(POP_JUMP_IF_NONE) = _IS_NONE + _POP_JUMP_IF_TRUE: _IS_NONE
        // closes the value (PyStackRef_CLOSE) unless it is None.
        const Ref v = pop();
        const bool none = v.get() == module_.none();
        stack_close(ctx_, hide(v));
        if (none == (ins.op == Op::POP_JUMP_IF_NONE)) pc = f->first + ins.arg;
        break;
      }
      case Op::JUMP_FORWARD:
        pc = f->first + ins.arg;
        break;
      case Op::JUMP_BACKWARD:
        ctx_.safepoint();
        pc = f->first + ins.arg;
        break;
      case Op::GET_ITER: {
        // PyObject_GetIter, then PyStackRef_CLOSE(iterable). A list's or
        // tuple's iterator is a new GC object holding the sequence
        // (list_iter: it_seq = Py_NewRef(seq)); a range's copies its
        // bounds and holds nothing. The slot above the iterator stays null:
        // 3.14 has one slot here (3.15's virtual iterators use two), and a
        // null costs no count.
        const Ref iterable = pop();
        Obj* seq = iterable.get();
        Obj* it = nullptr;
        if (seq->kind == Kind::list || seq->kind == Kind::tuple) {
          it = new_object<S>(ctx_, Kind::seq_iter, 1);
          ctx_.incref(seq);
          set_item(it, 0, seq);
          it->value.i = 0;
        } else {
          it = new_object<S>(ctx_, Kind::range);
          it->value.i = seq->value.i;
        }
        stack_close(ctx_, iterable);
        push(stack_steal(it));
        push(Ref{});
        break;
      }
      case Op::FOR_ITER: {
        Obj* it = Ref::from_bits(sp[-2]).get();
        if (it->kind == Kind::seq_iter) {
          // _ITER_NEXT_LIST / _ITER_NEXT_TUPLE: a new reference to the
          // item. Exhausted, 3.14t keeps it_seq until the iterator dies
          // (POP_ITER); only the default build drops it here.
          Obj* seq = it->item(0);
          const std::int64_t i = it->value.i;
          if (i < sequence_length(seq)) {
            it->value.i = i + 1;
            push(stack_new(ctx_, seq->item(static_cast<std::uint32_t>(i))));
          } else {
            pc = f->first + ins.arg;
          }
        } else {  // a range iterator
          const std::int64_t next = range_next(it->value.i), stop = range_stop(it->value.i);
          if (next < stop) {
            it->value.i = pack_range(next + 1, stop);
            push(box(next));
          } else {
            pc = f->first + ins.arg;
          }
        }
        break;
      }
      case Op::END_FOR:
        stack_close(ctx_, pop());
        break;
      case Op::POP_ITER:
        --sp;  // the null above the iterator
        stack_close(ctx_, pop());
        break;
      case Op::BUILD_TUPLE:
      case Op::BUILD_LIST: {
        const bool tuple = ins.op == Op::BUILD_TUPLE;
        const std::uint32_t n = tuple ? ins.arg : ins.arg & 0xff;
        Obj* o = new_object<S>(ctx_, tuple ? Kind::tuple : Kind::list, tuple ? n : ins.arg >> 8);
        if (!tuple) o->value.i = n;
        sp -= n;
        for (std::uint32_t i = 0; i < n; ++i) set_item(o, i, stack_to_heap(ctx_, Ref::from_bits(sp[i])));
        push(stack_steal(o));
        break;
      }
      case Op::LIST_APPEND: {
        const Ref v = pop();
        Obj* list = Ref::from_bits(sp[-static_cast<std::ptrdiff_t>(ins.arg)]).get();
        const std::int64_t n = list_length(list);
        if (n >= static_cast<std::int64_t>(list->size)) throw std::logic_error("pyvm: list capacity exceeded");
        set_item(list, static_cast<std::uint32_t>(n), stack_to_heap(ctx_, v));
        list->value.i = n + 1;
        break;
      }
      case Op::UNPACK_SEQUENCE: {
        const Ref seq = pop();
        Obj* t = seq.get();
        for (std::uint32_t i = ins.arg; i-- > 0;) push(stack_new(ctx_, t->item(i)));
        stack_close(ctx_, hide(seq));
        break;
      }
      case Op::CALL: {
        std::uintptr_t* callee = sp - 2 - ins.arg;
        f->pc = pc;
        f->sp = callee;  // the callable, self and arguments leave the caller's stack
        if (enter(callee, ins.arg)) {
          f = &frames_.back();
          pc = f->pc;
          sp = f->sp;
          locals = f->locals;
          break;
        }
        const Ref callable = Ref::from_bits(callee[0]);
        Obj* fn = callable.get();
        if (fn->kind == Kind::type) {
          enter_init(callee, ins.arg);
          f = &frames_.back();
          pc = f->pc;
          sp = f->sp;
          locals = f->locals;
          break;
        }
        const bool has_self = callee[1] != 0;
        std::span<std::uintptr_t> args(has_self ? callee + 1 : callee + 2, ins.arg + (has_self ? 1 : 0));
        const auto native = static_cast<Native>(fn->value.i);
        const Ref result = call_native(native, args);
        for (const std::uintptr_t a : args) stack_close(ctx_, Ref::from_bits(a));
        stack_close(ctx_, callable);
        sp = callee;
        push(result);
        if (native != Native::len) ctx_.safepoint();  // _CHECK_PERIODIC
        break;
      }
      case Op::RETURN_VALUE: {
        const Ref result = stack_make_heap_safe(ctx_, pop());
        f->sp = sp;
        leave(*f);
        frames_.pop_back();
        if (frames_.empty()) {
          executed_ += executed;
          return result;
        }
        f = &frames_.back();
        pc = f->pc;
        sp = f->sp;
        locals = f->locals;
        push(result);
        break;
      }
      case Op::POP_TOP:
        stack_close(ctx_, pop());
        break;
      case Op::EXIT_INIT_CHECK: {
        // inst(EXIT_INIT_CHECK): __init__ must return None; DEAD(should_be_none).
        const Ref r = pop();
        if (r.get() != module_.none()) throw std::logic_error("pyvm: __init__ returned a value");
        stack_close(ctx_, r);
        break;
      }
      case Op::kCount:
        throw std::logic_error("pyvm: bad opcode");
    }
  }
}

template <class S>
StackRef<S> Interp<S>::binary(BinaryOp op, Obj* a, Obj* b) {
  if (op == BinaryOp::subscript) {
    // BINARY_OP_SUBSCR_LIST_INT / _TUPLE_INT: a new reference to the item.
    return stack_new(ctx_, a->item(static_cast<std::uint32_t>(b->value.i)));
  }
  if (a->kind == Kind::int_ && b->kind == Kind::int_) {
    const std::int64_t x = a->value.i, y = b->value.i;
    switch (op) {
      case BinaryOp::add:
      case BinaryOp::inplace_add: return box(x + y);
      case BinaryOp::subtract: return box(x - y);
      case BinaryOp::multiply: return box(x * y);
      case BinaryOp::subscript: break;
    }
  }
  const double x = number(a), y = number(b);
  double r = 0;
  switch (op) {
    case BinaryOp::add:
    case BinaryOp::inplace_add: r = x + y; break;
    case BinaryOp::subtract: r = x - y; break;
    case BinaryOp::multiply: r = x * y; break;
    case BinaryOp::subscript: break;
  }
  return stack_steal(new_float<S>(ctx_, r));
}

namespace detail {
template <class T>
[[nodiscard]] bool compare_values(Compare c, T x, T y) {
  switch (c) {
    case Compare::less: return x < y;
    case Compare::less_equal: return x <= y;
    case Compare::equal: return x == y;
    case Compare::not_equal: return x != y;
    case Compare::greater: return x > y;
    case Compare::greater_equal: return x >= y;
  }
  return false;
}
}  // namespace detail

// Ints compare exactly; a float on either side compares as doubles.
template <class S>
bool Interp<S>::compare(Compare c, const Obj* a, const Obj* b) {
  if (a->kind == Kind::int_ && b->kind == Kind::int_) return detail::compare_values(c, a->value.i, b->value.i);
  return detail::compare_values(c, number(a), number(b));
}

// Builtins borrow their arguments and return a new reference; CALL closes
// the arguments and the callable afterwards (CALL_BUILTIN_O,
// CALL_BUILTIN_CLASS, CALL_METHOD_DESCRIPTOR_O / _NOARGS).
template <class S>
StackRef<S> Interp<S>::call_native(Native n, std::span<std::uintptr_t> args) {
  const auto arg = [&](std::size_t i) { return Ref::from_bits(args[i]).get(); };
  switch (n) {
    case Native::range: {
      const std::int64_t start = args.size() == 2 ? arg(0)->value.i : 0;
      const std::int64_t stop = arg(args.size() - 1)->value.i;
      Obj* r = new_object<S>(ctx_, Kind::range);
      r->value.i = pack_range(start, stop);
      return stack_steal(r);
    }
    case Native::int_:
      return box(arg(0)->kind == Kind::float_ ? static_cast<std::int64_t>(arg(0)->value.f) : arg(0)->value.i);
    case Native::sqrt: return stack_steal(new_float<S>(ctx_, std::sqrt(number(arg(0)))));
    case Native::cosh: return stack_steal(new_float<S>(ctx_, std::cosh(number(arg(0)))));
    case Native::cos: return stack_steal(new_float<S>(ctx_, std::cos(number(arg(0)))));
    case Native::len: return box(sequence_length(arg(0)));
    case Native::queue_put: return queue_put(arg(0), arg(1));
    case Native::queue_get: return queue_get(arg(0));
    case Native::kCount: break;
  }
  throw std::logic_error("pyvm: bad builtin");
}

// simplequeue_put_impl: the queue takes a new reference (Py_NewRef(item))
// under its lock and wakes a waiting get. The item becomes reachable by
// the thread that gets it: published first, outside the lock (sticky's pass
// may be long). SimpleQueue is unbounded: a full ring is a sizing bug.
template <class S>
StackRef<S> Interp<S>::queue_put(Obj* q, Obj* item) {
  ctx_.publish(item);
  ctx_.incref(item);
  QueueSync& sync = module_.queue_sync(q);
  {
    std::lock_guard lock(sync.mu);
    const std::int64_t head = q->value.i & kQueueField, len = q->value.i >> 24 & kQueueField;
    if (len >= static_cast<std::int64_t>(q->size)) throw std::logic_error("pyvm: queue ring too small");
    set_item(q, static_cast<std::uint32_t>((head + len) % q->size), item);
    q->value.i += std::int64_t{1} << 24;
  }
  sync.changes.fetch_add(1, std::memory_order_release);
  sync.changes.notify_all();
  return stack_new(ctx_, module_.none());
}

// simplequeue_get_impl: blocks while empty (CPython waits on the queue's
// lock with the thread detached: enter_blocking() here), then hands the
// queue's reference to the caller.
template <class S>
StackRef<S> Interp<S>::queue_get(Obj* q) {
  QueueSync& sync = module_.queue_sync(q);
  Obj* item = nullptr;
  for (;;) {
    const std::uint32_t seen = sync.changes.load(std::memory_order_acquire);
    {
      std::lock_guard lock(sync.mu);
      const std::int64_t head = q->value.i & kQueueField, len = q->value.i >> 24 & kQueueField;
      if (len > 0) {
        item = q->item(static_cast<std::uint32_t>(head));
        set_item<S>(q, static_cast<std::uint32_t>(head), nullptr);
        q->value.i = (len - 1) << 24 | (head + 1) % q->size;
        if (item != module_.none()) {
          ++sync.got;
          const Obj* v = item->kind == Kind::list ? item->item(0) : item;  // the int in [i]
          sync.sum += static_cast<std::uint64_t>(v->value.i);
        }
        break;
      }
    }
    wait_until(ctx_, sync.changes, [seen](std::uint32_t v) { return v != seen; });
  }
  return stack_steal(item);  // nothing waits for room: put never blocks
}

}  // namespace rcb::pyvm
