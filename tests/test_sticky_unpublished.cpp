// A workload that forgets publish(), run under sticky: ThreadSanitizer must
// report the data race this is. Proof that the strategy's local counts are
// plain accesses TSan can see (strategies/sticky.h says why), and so that a
// workload missing a publish() call fails the tsan preset instead of
// miscounting silently.
//
// Built only in the tsan preset and kept out of every other suite: its
// whole point is a race. tests/CMakeLists.txt registers it with
// PASS_REGULAR_EXPRESSION on TSan's report naming sticky's code, and
// TSAN_OPTIONS=halt_on_error=1 so the run stops at the first report, before
// the lost updates it describes can corrupt anything. The exit status is
// not consulted: a crash or a clean exit without that report fails the test,
// so it passes exactly when TSan reports the race.
//
// The workload is shared_list without its publish(): thread 0 builds the
// list at setup, and both threads then incref and decref every item, each
// taking the plain path on counts the other is writing too.

#include <cstdint>
#include <cstdio>

#include "harness/engine/team.h"
#include "strategies/sticky.h"
#include "workloads/workload.h"

namespace rcb {
namespace {

template <class S>
class UnpublishedList {
 public:
  static constexpr WorkloadInfo info{"unpublished_list", "shared_list that forgets publish()",
                                     "a data race under sticky"};
  using Ctx = typename S::Context;

  UnpublishedList(Ctx& ctx, Size, std::uint32_t threads) : threads_(threads) {
    list_ = new_object<S>(ctx, Kind::list, kItems);
    for (std::uint32_t i = 0; i < kItems; ++i) set_item(list_, i, new_int<S>(ctx, i));
    // ctx.publish(list_) belongs here.
  }

  std::uint64_t run(Ctx& ctx, ThreadIndex) {
    std::uint64_t total = 0;
    for (std::uint32_t i = 0; i < kItems; ++i) {
      Object<S>* x = hide(list_->item(i));
      ctx.incref(x);
      total += static_cast<std::uint64_t>(hide(x)->value.i);
      ctx.decref(hide(x));
    }
    return total;
  }

  [[nodiscard]] std::uint64_t expected_checksum() const {
    return std::uint64_t{kItems} * (kItems - 1) / 2 * threads_;
  }
  [[nodiscard]] std::uint64_t items_per_thread() const { return kItems; }
  void teardown(Ctx& ctx) { ctx.decref(list_); }

 private:
  static constexpr std::uint32_t kItems = 10'000;
  std::uint32_t threads_;
  Object<S>* list_ = nullptr;
};

}  // namespace
}  // namespace rcb

int main() {
  rcb::TeamConfig cfg;
  cfg.threads = 2;
  rcb::Team<rcb::Sticky, rcb::UnpublishedList> team(cfg);
  for (int i = 0; i < 3; ++i) (void)team.iterate();
  (void)team.finish();
  std::puts("no data race reported: sticky's local path is invisible to ThreadSanitizer");
  return 0;
}
