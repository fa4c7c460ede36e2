#pragma once
// A loaded pyvm program under strategy S: the objects CPython would have
// made by the time the program's first line runs. Built on thread 0 at
// setup and shared, read-only, by every thread:
//
//   roots      one tuple holding everything below, so a freeze pass, a
//              publish and the teardown each start from one object
//   names      interned str objects, immortal (3.14t immortalises interned
//              strings)
//   small ints -5..256, immortal (PEP 683; Objects/longobject.c's cache)
//   None, True, False, ()   immortal singletons
//   code       one code object per function, its constants as children,
//              each constant immortal (3.14t's intern_constants); the code
//              object is per_thread: deferred, with a unique id
//              (_PyCode_New calls _PyObject_AssignUniqueId)
//   functions  deferred (func_new calls _PyObject_SetDeferredRefcount);
//              each holds its code object
//   builtins   range and int are static types (PyRange_Type, PyLong_Type),
//              immortal from their static initialiser (PyObject_HEAD_INIT
//              sets the immortal count); len, math's sqrt/cosh/cos and
//              SimpleQueue's methods are declared deferred as functions
//              are (see docs/pyvm.md: CPython's C functions may stay
//              mortal; that is a difference in what we declare, not in how
//              we count)
//   classes    per_thread (3.14t gives heap types a unique id, which
//              defers them too), holding their __init__ function; an
//              instance's reference to its class is _Py_INCREF_TYPE's, in
//              the creating thread's own array (cpython_facts.h), and
//              counted under every other strategy
//   globals, builtins dicts   mortal, as module dicts are
//
// Invariant: every object here is reachable from roots_ until teardown(),
// so a deferred object's heap count never reaches zero while a frame may
// load it, and each object is declared before it is published.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "strategies/cpython_facts.h"
#include "strategies/object.h"
#include "workloads/pyvm/code.h"

namespace rcb::pyvm {

inline constexpr std::int64_t kSmallIntMin = -5;
inline constexpr std::int64_t kSmallIntMax = 256;

// A SimpleQueue's lock and wake-up word (its C implementation's mutex and
// the condition a blocking get waits on). `changes` counts puts and gets,
// so a waiter that saw a value before it found the queue empty sleeps only
// until something changed. `got` and `sum` tally, under the lock, the
// items get() returned and the ints they held (not None): the workload's
// checksum, since the Python returns nothing. No reference is counted for
// them.
struct QueueSync {
  alignas(64) std::mutex mu;
  alignas(64) std::atomic<std::uint32_t> changes{0};
  std::uint64_t got = 0, sum = 0;
};

// Attribute-less helpers on the object model's pyvm kinds.
template <class S>
[[nodiscard]] std::int64_t list_length(const Object<S>* list) {
  return list->value.i;
}
template <class S>
[[nodiscard]] std::int64_t sequence_length(const Object<S>* seq) {
  return seq->kind == Kind::list ? list_length(seq) : static_cast<std::int64_t>(seq->size);
}

// range objects pack [next, stop) into value.i, 32 bits each.
[[nodiscard]] constexpr std::int64_t pack_range(std::int64_t next, std::int64_t stop) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(stop) << 32 | static_cast<std::uint32_t>(next));
}
[[nodiscard]] constexpr std::int64_t range_next(std::int64_t packed) {
  return static_cast<std::int32_t>(static_cast<std::uint32_t>(packed));
}
[[nodiscard]] constexpr std::int64_t range_stop(std::int64_t packed) {
  return static_cast<std::int32_t>(static_cast<std::uint64_t>(packed) >> 32);
}

template <class S>
class Module {
 public:
  using Obj = Object<S>;
  using Ctx = typename S::Context;

  Module(Ctx& ctx, Program program, std::uint32_t queues = 0)
      : program_(std::move(program)), queue_sync_(std::make_unique<QueueSync[]>(queues)), queue_count_(queues) {
    for (const auto* specs : {&program_.globals, &program_.builtins})
      for (const GlobalSpec& g : *specs) program_.intern(g.name);
    roots_ = new_object<S>(ctx, Kind::tuple, kRootCount);

    Obj* names = new_object<S>(ctx, Kind::tuple, static_cast<std::uint32_t>(program_.names.size()));
    for (std::uint32_t i = 0; i < program_.names.size(); ++i) {
      Obj* s = new_object<S>(ctx, Kind::str);
      s->value.i = i;
      declare(ctx, s, CPythonFact::immortal);
      set_item(names, i, s);
    }
    set_item(roots_, kNames, names);

    Obj* ints = new_object<S>(ctx, Kind::tuple, kSmallIntMax - kSmallIntMin + 1);
    for (std::int64_t v = kSmallIntMin; v <= kSmallIntMax; ++v)
      set_item(ints, static_cast<std::uint32_t>(v - kSmallIntMin), new_setup_int<S>(ctx, v));
    set_item(roots_, kSmallInts, ints);

    set_item(roots_, kNone, immortal(ctx, new_object<S>(ctx, Kind::none)));
    set_item(roots_, kTrue, immortal(ctx, new_int<S>(ctx, 1)));  // bool is an int subclass
    set_item(roots_, kFalse, immortal(ctx, new_int<S>(ctx, 0)));
    set_item(roots_, kEmptyTuple, immortal(ctx, new_object<S>(ctx, Kind::tuple, 0)));

    Obj* methods = new_object<S>(ctx, Kind::tuple, static_cast<std::uint32_t>(Native::kCount));
    for (std::uint32_t n = 0; n < static_cast<std::uint32_t>(Native::kCount); ++n)
      set_item(methods, n, builtin_function(ctx, static_cast<Native>(n)));
    set_item(roots_, kNatives, methods);

    set_item(roots_, kGlobals, new_dict(ctx, program_.globals));
    set_item(roots_, kBuiltins, new_dict(ctx, program_.builtins));
    for (const GlobalSpec& g : program_.globals) bind(ctx, global_dict(), g);
    for (const GlobalSpec& g : program_.builtins) bind(ctx, builtin_dict(), g);
  }

  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // Binds a global the workload built (a list), stealing its reference.
  void set_global(std::string_view global, Obj* value) {
    Obj* d = global_dict();
    Obj* key = name_object(program_.name_index(global));
    for (std::int64_t e = 0; e < d->value.i; ++e)
      if (d->item(2 * e) == key) {
        if (d->item(2 * e + 1) != nullptr) throw std::logic_error("pyvm: global bound twice");
        set_item(d, static_cast<std::uint32_t>(2 * e + 1), value);
        return;
      }
    throw std::logic_error("pyvm: global not declared as an object: " + std::string(global));
  }

  // After setup, before other threads run.
  void publish(Ctx& ctx) { ctx.publish(roots_); }
  template <class Visit>
  void roots(Visit&& visit) const { visit(roots_); }
  void teardown(Ctx& ctx) {
    ctx.decref(roots_);
    roots_ = nullptr;
  }

  // --- what the interpreter reads ----------------------------------------

  [[nodiscard]] const Program& program() const { return program_; }
  [[nodiscard]] const CodeSpec& code(const Obj* code_object) const {
    return program_.codes[static_cast<std::size_t>(code_object->value.i)];
  }
  [[nodiscard]] Obj* small_int(std::int64_t v) const {
    return roots_->item(kSmallInts)->item(static_cast<std::uint32_t>(v - kSmallIntMin));
  }
  [[nodiscard]] Obj* none() const { return roots_->item(kNone); }
  [[nodiscard]] Obj* true_() const { return roots_->item(kTrue); }
  [[nodiscard]] Obj* false_() const { return roots_->item(kFalse); }
  [[nodiscard]] Obj* empty_tuple() const { return roots_->item(kEmptyTuple); }
  [[nodiscard]] Obj* native(Native n) const { return roots_->item(kNatives)->item(static_cast<std::uint32_t>(n)); }
  [[nodiscard]] Obj* name_object(std::uint32_t name) const { return roots_->item(kNames)->item(name); }

  // LOAD_GLOBAL's look-up: globals, then builtins; a borrowed pointer.
  [[nodiscard]] Obj* global(std::uint32_t name) const {
    const Obj* key = name_object(name);
    if (Obj* v = lookup(global_dict(), key)) return v;
    if (Obj* v = lookup(builtin_dict(), key)) return v;
    throw std::logic_error("pyvm: NameError: " + program_.names[name]);
  }
  [[nodiscard]] Obj* global(std::string_view name) const { return global(program_.name_index(name)); }

  // The lock and wake-up word of a queue new_queue made. Found by identity
  // in a list written only at setup: the queue's own fields change under
  // that lock, so they cannot say which lock it is.
  [[nodiscard]] QueueSync& queue_sync(const Obj* queue) const {
    for (std::size_t i = 0; i < queues_.size(); ++i)
      if (queues_[i] == queue) return queue_sync_[i];
    throw std::logic_error("pyvm: not a queue of this module");
  }

  // A new empty SimpleQueue, with the next lock. At setup. SimpleQueue is
  // unbounded: `capacity` is the most items it will hold at once (a ring
  // of that many slots; growing one would count nothing).
  [[nodiscard]] Obj* new_queue(Ctx& ctx, std::uint32_t capacity) {
    if (capacity >= (1u << 24)) throw std::logic_error("pyvm: queue too large");
    if (queues_.size() == queue_count_) throw std::logic_error("pyvm: more queues than locks");
    Obj* q = new_object<S>(ctx, Kind::deque, capacity);
    queues_.push_back(q);
    return q;
  }

 private:
  enum Root : std::uint32_t {
    kNames,
    kSmallInts,
    kNone,
    kTrue,
    kFalse,
    kEmptyTuple,
    kNatives,
    kGlobals,
    kBuiltins,
    kRootCount
  };

  [[nodiscard]] Obj* global_dict() const { return roots_->item(kGlobals); }
  [[nodiscard]] Obj* builtin_dict() const { return roots_->item(kBuiltins); }

  static Obj* immortal(Ctx& ctx, Obj* o) {
    declare(ctx, o, CPythonFact::immortal);
    return o;
  }
  static Obj* deferred(Ctx& ctx, Obj* o) {
    declare(ctx, o, CPythonFact::deferred);
    return o;
  }
  static Obj* per_thread(Ctx& ctx, Obj* o) {
    declare(ctx, o, CPythonFact::per_thread);
    return o;
  }

  // Dicts hold key, value pairs in order; keys are interned names, so a
  // look-up compares pointers (CPython's dict compares identity first, and
  // its specialised LOAD_GLOBAL reads a cached index instead).
  static Obj* lookup(const Obj* dict, const Obj* key) {
    const auto entries = dict->value.i;
    for (std::int64_t e = 0; e < entries; ++e)
      if (const_cast<Obj*>(dict)->item(static_cast<std::uint32_t>(2 * e)) == key)
        return const_cast<Obj*>(dict)->item(static_cast<std::uint32_t>(2 * e + 1));
    return nullptr;
  }

  Obj* new_dict(Ctx& ctx, const std::vector<GlobalSpec>& specs) {
    Obj* d = new_object<S>(ctx, Kind::dict, static_cast<std::uint32_t>(2 * specs.size()));
    for (std::uint32_t e = 0; e < specs.size(); ++e) {
      Obj* key = name_object(program_.name_index(specs[e].name));
      ctx.incref(key);
      set_item(d, 2 * e, key);
    }
    d->value.i = static_cast<std::int64_t>(specs.size());
    return d;
  }

  void bind(Ctx& ctx, Obj* dict, const GlobalSpec& g) {
    Obj* value = nullptr;
    switch (g.tag) {
      case GlobalSpec::Tag::function: value = function(ctx, g.index); break;
      case GlobalSpec::Tag::native: {
        value = native(static_cast<Native>(g.index));
        ctx.incref(value);
        break;
      }
      case GlobalSpec::Tag::klass: {
        value = per_thread(ctx, new_object<S>(ctx, Kind::type, 1));
        value->value.i = g.index;
        set_item(value, 0, function(ctx, g.init));  // C.__init__, in the class's dict
        break;
      }
      case GlobalSpec::Tag::object: return;  // the workload binds it (set_global)
    }
    Obj* key = name_object(program_.name_index(g.name));
    for (std::int64_t e = 0; e < dict->value.i; ++e)
      if (dict->item(static_cast<std::uint32_t>(2 * e)) == key) {
        set_item(dict, static_cast<std::uint32_t>(2 * e + 1), value);
        return;
      }
  }

  Obj* function(Ctx& ctx, std::uint32_t code_index) {
    const CodeSpec& spec = program_.codes.at(code_index);
    Obj* code = new_object<S>(ctx, Kind::code, static_cast<std::uint32_t>(spec.consts.size()));
    code->value.i = code_index;
    for (std::uint32_t i = 0; i < spec.consts.size(); ++i) set_item(code, i, constant(ctx, spec.consts[i]));
    Obj* f = new_object<S>(ctx, Kind::function, 1);
    set_item(f, 0, per_thread(ctx, code));
    return deferred(ctx, f);
  }

  Obj* constant(Ctx& ctx, const Const& c) {
    Obj* shared = nullptr;
    switch (c.tag) {
      case Const::Tag::none: shared = none(); break;
      case Const::Tag::none_tuple: {
        if (c.i == 0) {
          shared = empty_tuple();
          break;
        }
        Obj* t = new_object<S>(ctx, Kind::tuple, static_cast<std::uint32_t>(c.i));
        for (std::uint32_t k = 0; k < t->size; ++k) {
          ctx.incref(none());
          set_item(t, k, none());
        }
        return immortal(ctx, t);
      }
      case Const::Tag::int_:
        if (c.i >= kSmallIntMin && c.i <= kSmallIntMax) shared = small_int(c.i);
        else return immortal(ctx, new_int<S>(ctx, c.i));
        break;
      case Const::Tag::float_: return immortal(ctx, new_float<S>(ctx, c.f));
    }
    ctx.incref(shared);
    return shared;
  }

  Obj* builtin_function(Ctx& ctx, Native n) {
    Obj* f = new_object<S>(ctx, Kind::function, 0);
    f->value.i = static_cast<std::int64_t>(n);
    const bool static_type = n == Native::range || n == Native::int_;
    return static_type ? immortal(ctx, f) : deferred(ctx, f);
  }

  Program program_;
  std::unique_ptr<QueueSync[]> queue_sync_;
  std::size_t queue_count_;
  std::vector<const Obj*> queues_;  // queue i uses queue_sync_[i]
  Obj* roots_ = nullptr;
};

}  // namespace rcb::pyvm
