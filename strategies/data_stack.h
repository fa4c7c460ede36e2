#pragma once
// The block of stack slots an interpreter's frames live in, one per thread
// context, so that a stop-the-world collection can find every stack
// reference (strategies/cpython_facts.h explains the slots' bits).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>

namespace rcb {

// A thread's interpreter stack: frames' locals and value stacks, in one
// block of slots that a stop-the-world collection can scan (CPython's
// tstate->datastack_chunk). Slots hold StackRef bits. Only its thread
// writes it; a collector reads it while the thread is stopped or detached,
// ordered by the stop-the-world hand-shake. The block is allocated on first
// use and never moves, so frames may keep pointers into it.
class DataStack {
 public:
  static constexpr std::size_t kSlots = std::size_t{1} << 16;  // 512 KiB, as deep as pyvm's fib needs many times over

  // Reserves `n` null slots on top and returns the first.
  [[nodiscard]] std::uintptr_t* push(std::size_t n) {
    if (!slots_) slots_ = std::make_unique<std::uintptr_t[]>(kSlots);
    if (n > kSlots - top_) throw std::length_error("rcbench: interpreter data stack overflow");
    std::uintptr_t* frame = slots_.get() + top_;
    for (std::size_t i = 0; i < n; ++i) frame[i] = 0;
    top_ += n;
    return frame;
  }
  // Releases the top `n` slots; their references must be closed already.
  void pop(std::size_t n) { top_ -= n; }

  [[nodiscard]] std::size_t depth() const { return top_; }

  // visit(bits) for every slot in use, null or not.
  template <class Visit>
  void for_each_slot(Visit&& visit) const {
    for (std::size_t i = 0; i < top_; ++i) visit(slots_[i]);
  }

 private:
  std::unique_ptr<std::uintptr_t[]> slots_;
  std::size_t top_ = 0;
};

}  // namespace rcb
