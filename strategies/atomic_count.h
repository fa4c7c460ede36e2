#pragma once
// The atomic count protocol, wherever the count lives: in the header
// (atomic, frozen's unfrozen objects) or in a page of its own (remote).
//
// Increment relaxed: taking a new reference needs no ordering, the caller
// already holds one. Decrement release, so every write this thread made to
// the object happens-before the free; the thread that takes the count to
// zero re-reads it with acquire, which synchronises with every earlier
// release decrement (they form one release sequence). That is Rust Arc's
// acquire fence, written as a load because ThreadSanitizer does not model
// standalone fences.

#include <atomic>
#include <cstdint>

namespace rcb {

inline void count_increment_relaxed(std::atomic<std::uint64_t>& count) {
  count.fetch_add(1, std::memory_order_relaxed);
}

// True when this dropped the last reference: the caller frees the object.
[[nodiscard]] inline bool count_decrement_release_is_last(std::atomic<std::uint64_t>& count) {
  if (count.fetch_sub(1, std::memory_order_release) != 1) return false;
  (void)count.load(std::memory_order_acquire);
  return true;
}

}  // namespace rcb
