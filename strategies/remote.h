#pragma once
// remote: remote object headers. The count does not live in the object; it
// lives in pages of counters of its own, and the object holds a 32-bit slot
// index into them.
//
// Mechanism: the runtime maps count pages (64 KiB each, mmap, never inside
// the allocator's heap) on demand and records them in a fixed directory, so
// the table grows without ever moving what another thread may be indexing.
// A thread takes slots from a chunk of 512 it grabbed from the runtime
// (one lock per 512 objects) and from its own free list, without
// synchronisation; so counts of objects made by different threads sit in
// different chunks and never share a cache line. A dead object's slot goes
// back to the free list of the thread whose chunk it came from: directly
// when that thread frees it, through that thread's lock-free remote list
// (many pushers, one taker that swaps the whole list out) otherwise.
// Counts are atomic with the orders of strategies/atomic.h: relaxed
// increment, release decrement, acquire before the free.
// Invariant: after init_header the object's own memory is never written by
// refcounting, so a forked child that only reads the graph copies count
// pages, never object pages.
// Source: seed 001 (Gilectomy's "remote object headers" / "store refcnt
// outside object"), seed 002 ("separate refcounts replaces refcount with a
// pointer to refcount"; keep them in extra pages, but beware of several
// threads sharing one page).
// Loses: two dependent loads (directory, page) before every RMW and a second
// cache line touched per object; freed slots need an owner check, and a
// cross-thread free costs a CAS on the owner's list.
//
// Two layouts from one template. `remote` packs eight 8-byte counts per
// cache line: the fewest count pages, so a forked child dirties about
// 8 bytes of count per object it touches. `remote_padded` gives each count
// its own 64-byte line: no false sharing even between neighbouring objects
// of one thread handed to different threads (seed 002's warning), at eight
// times the count memory and eight times the copy-on-write damage.

#include <sys/mman.h>

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <new>
#include <stdexcept>

#include "strategies/atomic_count.h"
#include "strategies/object.h"
#include "strategies/strategy.h"

namespace rcb {

// Eight counts per 64-byte line.
struct PackedCounts : Counted {
  static constexpr StrategyInfo info{
      "remote", "count in separate pages (8 per cache line), header holds a slot index", true};
  struct Cell {
    std::atomic<std::uint64_t> count;
  };
};

// One count per 64-byte line.
struct PaddedCounts : Counted {
  static constexpr StrategyInfo info{
      "remote_padded", "count in separate pages, one per cache line, header holds a slot index",
      true};
  struct alignas(64) Cell {
    std::atomic<std::uint64_t> count;
  };
};

// Layout is also the counting policy (see Counted in strategy.h).
template <class Layout>
struct RemoteHeaders {
  static constexpr StrategyInfo info = Layout::info;
  static constexpr std::array reported{Counter::atomic_rmw, Counter::slot_pages};

  using Cell = typename Layout::Cell;
  using Obj = Object<RemoteHeaders>;

  static constexpr std::size_t kPageBytes = 64 * 1024;
  static constexpr std::uint32_t kSlotsPerPage = kPageBytes / sizeof(Cell);
  static constexpr std::uint32_t kPageShift = std::countr_zero(kSlotsPerPage);
  // 512 slots: 4 KiB of packed counts, so two threads' chunks do not even
  // share an OS page.
  static constexpr std::uint32_t kChunkSlots = 512;
  static constexpr std::uint32_t kChunkShift = std::countr_zero(kChunkSlots);
  // 64 Mi live objects; the directory and owner tables are sized for it.
  static constexpr std::uint32_t kMaxSlots = std::uint32_t{1} << 26;
  static constexpr std::uint32_t kMaxPages = kMaxSlots / kSlotsPerPage;
  static constexpr std::uint32_t kMaxChunks = kMaxSlots / kChunkSlots;
  static constexpr std::uint32_t kMaxThreads = 256;
  static constexpr std::uint32_t kNoSlot = UINT32_MAX;  // end of a free list
  static_assert(std::has_single_bit(kSlotsPerPage) && kSlotsPerPage % kChunkSlots == 0);

  struct Header {
    std::uint32_t slot;
  };

  // Free slots are linked through their count words (a free slot has no
  // count), so free lists cost no memory of their own.
  using Directory = std::atomic<Cell*>;
  [[nodiscard]] static Cell& cell_at(const Directory* dir, std::uint32_t slot) {
    // relaxed: an entry is written once, under the runtime's lock, before
    // any slot of its page is handed out; whoever holds a slot index got it
    // (or the object carrying it) through a chain that happens-after that.
    return dir[slot >> kPageShift].load(std::memory_order_relaxed)[slot & (kSlotsPerPage - 1)];
  }

  // One thread's slot supply, kept in the runtime under its ThreadIndex so a
  // context that detaches leaves it to the next one with that index.
  struct ThreadSlots {
    // Owner only.
    alignas(64) std::uint32_t free_head = kNoSlot;
    std::uint32_t chunk_next = 0;
    std::uint32_t chunk_end = 0;
    // Pushed by other threads freeing this thread's slots; taken whole by
    // the owner. Its own line: pushers must not invalidate the owner's.
    alignas(64) std::atomic<std::uint32_t> remote_head{kNoSlot};
  };

  class Runtime {
   public:
    Runtime()
        : directory_(std::make_unique<Directory[]>(kMaxPages)),
          chunk_owner_(std::make_unique<std::atomic<std::uint32_t>[]>(kMaxChunks)),
          threads_(std::make_unique<ThreadSlots[]>(kMaxThreads)) {}
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;
    ~Runtime() {
      for (std::uint32_t p = 0; p < kMaxPages; ++p)
        if (Cell* page = directory_[p].load(std::memory_order_relaxed))
          ::munmap(page, kPageBytes);
    }

    [[nodiscard]] Counters counters() const {
      Counters c;
      c.raise_to(Counter::slot_pages, pages_in_use());
      return c;
    }
    void shutdown() {}  // pages go with the runtime; slots are not objects

    [[nodiscard]] const Directory* directory() const { return directory_.get(); }
    [[nodiscard]] ThreadSlots& thread_slots(ThreadIndex t) {
      if (t.value >= kMaxThreads) throw std::out_of_range("remote: thread index over 255");
      return threads_[t.value];
    }
    // relaxed: set under grow_mu_ before any slot of the chunk is handed
    // out; read by whoever frees such a slot, which happens-after that.
    [[nodiscard]] std::uint32_t owner(std::uint32_t slot) const {
      return chunk_owner_[slot >> kChunkShift].load(std::memory_order_relaxed);
    }

    // Inspection, for tests and reports.
    [[nodiscard]] std::uint32_t pages_in_use() const {
      return pages_in_use_.load(std::memory_order_relaxed);
    }
    [[nodiscard]] const Cell* page(std::uint32_t p) const {
      return directory_[p].load(std::memory_order_relaxed);
    }
    [[nodiscard]] const std::atomic<std::uint64_t>& count_of(const Obj* o) const {
      return cell_at(directory_.get(), o->rc.slot).count;
    }

    // The next unused chunk, owned by `thread` from now on.
    [[gnu::noinline, gnu::cold]] std::uint32_t grab_chunk(std::uint32_t thread) {
      std::lock_guard lock(grow_mu_);
      if (next_chunk_ == kMaxChunks) throw std::length_error("remote: over 2^26 live counts");
      const std::uint32_t first = next_chunk_ * kChunkSlots;
      Directory& entry = directory_[first >> kPageShift];
      if (entry.load(std::memory_order_relaxed) == nullptr) {
        void* mem = ::mmap(nullptr, kPageBytes, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mem == MAP_FAILED) throw std::bad_alloc();
        entry.store(static_cast<Cell*>(mem), std::memory_order_relaxed);
        pages_in_use_.store(pages_in_use_.load(std::memory_order_relaxed) + 1,
                            std::memory_order_relaxed);
      }
      chunk_owner_[next_chunk_].store(thread, std::memory_order_relaxed);
      ++next_chunk_;
      return first;
    }

    // Hands `slot` back to `owner` from another thread (a Treiber push; the
    // owner only ever swaps the whole list out, so there is no ABA).
    // release: the link written into the slot, and the dead object's last
    // use of it, happen-before the owner's acquire swap and reuse.
    void push_remote(std::uint32_t owner, std::uint32_t slot) {
      auto& head = threads_[owner].remote_head;
      auto& link = cell_at(directory_.get(), slot).count;
      std::uint32_t old = head.load(std::memory_order_relaxed);
      do {
        link.store(old, std::memory_order_relaxed);
      } while (!head.compare_exchange_weak(old, slot, std::memory_order_release,
                                           std::memory_order_relaxed));
    }

   private:
    const std::unique_ptr<Directory[]> directory_;  // fixed: never reallocated
    const std::unique_ptr<std::atomic<std::uint32_t>[]> chunk_owner_;
    const std::unique_ptr<ThreadSlots[]> threads_;
    alignas(64) std::mutex grow_mu_;
    std::uint32_t next_chunk_ = 0;                // guarded by grow_mu_
    std::atomic<std::uint32_t> pages_in_use_{0};  // written under grow_mu_
  };

  class Context : public PassiveContext {
   public:
    // One live context per ThreadIndex: the index names its slot supply.
    Context(Runtime& rt, ThreadIndex idx)
        : PassiveContext(idx), rt_(&rt), dir_(rt.directory()), mine_(&rt.thread_slots(idx)) {}

    void init_header(Obj* o) {
      const std::uint32_t s = take_slot();
      o->rc.slot = s;
      // Not yet visible to any other thread.
      cell_at(dir_, s).count.store(1, std::memory_order_relaxed);
    }
    void incref(Obj* o) {
      count_increment_relaxed(cell_at(dir_, o->rc.slot).count);
      tally<Layout::kCounting>(counters, Counter::atomic_rmw);
    }
    void decref(Obj* o) {
      tally<Layout::kCounting>(counters, Counter::atomic_rmw);
      if (count_decrement_release_is_last(cell_at(dir_, o->rc.slot).count))
        reclaim<RemoteHeaders>(*this, o);
    }
    // Called by reclaim() once o's children are released.
    void on_free(Obj* o) {
      const std::uint32_t s = o->rc.slot;
      const std::uint32_t owner = rt_->owner(s);
      if (owner == index().value) {
        cell_at(dir_, s).count.store(mine_->free_head, std::memory_order_relaxed);
        mine_->free_head = s;
      } else {
        rt_->push_remote(owner, s);
      }
    }
   private:
    std::uint32_t take_slot() {
      ThreadSlots& m = *mine_;
      if (const std::uint32_t s = m.free_head; s != kNoSlot) {
        m.free_head = next_free(s);
        return s;
      }
      if (m.chunk_next != m.chunk_end) return m.chunk_next++;
      return refill();
    }

    // The free list and the chunk are empty: take back what other threads
    // freed, else grab a fresh chunk.
    [[gnu::noinline, gnu::cold]] std::uint32_t refill() {
      ThreadSlots& m = *mine_;
      // acquire: pairs with push_remote's release, so the links are visible.
      const std::uint32_t s = m.remote_head.exchange(kNoSlot, std::memory_order_acquire);
      if (s != kNoSlot) {
        m.free_head = next_free(s);
        return s;
      }
      const std::uint32_t first = rt_->grab_chunk(index().value);
      m.chunk_next = first + 1;
      m.chunk_end = first + kChunkSlots;
      return first;
    }

    // relaxed: a link is read by the thread that owns the list, after it
    // wrote the link itself or took the list with acquire.
    [[nodiscard]] std::uint32_t next_free(std::uint32_t s) const {
      return static_cast<std::uint32_t>(cell_at(dir_, s).count.load(std::memory_order_relaxed));
    }

    Runtime* rt_;
    const Directory* dir_;  // cached: one load fewer per op
    ThreadSlots* mine_;
  };
};

using Remote = RemoteHeaders<PackedCounts>;
using RemotePadded = RemoteHeaders<PaddedCounts>;

static_assert(RefCountStrategy<Remote>);
static_assert(RefCountStrategy<RemotePadded>);
static_assert(RefCountStrategy<Uncounted<Remote>>);

}  // namespace rcb
