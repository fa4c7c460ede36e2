#pragma once
// Running one piece of work in a forked child and measuring the memory it
// copied on write: the process plumbing behind workloads/fork_cow.h.
//
// The child measures itself: Private_Dirty from /proc/self/smaps_rollup
// before and after the work. Right after fork every private page is mapped
// by parent and child alike and counts as Shared_Dirty; a page the child
// writes is copied and becomes its Private_Dirty. So the difference is the
// KiB the work dirtied (plus the odd stack page), which is exactly the
// damage refcount writes do to a forked worker.
//
// After fork the child has only the forking thread, and the others may have
// held any lock (malloc's included), so the child allocates nothing, throws
// nothing out, and leaves with _exit: it reads /proc with open/read into a
// stack buffer, reports through a pipe, and exits.

#include <fcntl.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>

namespace rcb {

struct ChildReport {
  std::uint64_t checksum;
  std::uint64_t kib_dirtied;
};

// Failures a test can make a child commit, to check that each fails the run.
enum class ChildFault : std::uint8_t { none, exit_nonzero, killed, short_report };

namespace fork_detail {

// Exit statuses the child uses to say what went wrong.
inline constexpr int kExitInjected = 3;
inline constexpr int kExitNoSmaps = 101;
inline constexpr int kExitWriteFailed = 102;
inline constexpr int kExitThrew = 103;

// Private_Dirty of this process in KiB, or -1. Async-signal-safe in
// practice: no allocation, only open/read/close and a scan.
inline long private_dirty_kib() {
  const int fd = ::open("/proc/self/smaps_rollup", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buf[4096];
  std::size_t n = 0;
  while (n < sizeof buf - 1) {
    const ssize_t r = ::read(fd, buf + n, sizeof buf - 1 - n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    n += static_cast<std::size_t>(r);
  }
  ::close(fd);
  buf[n] = '\0';
  constexpr char kKey[] = "\nPrivate_Dirty:";
  const char* p = std::strstr(buf, kKey);
  if (p == nullptr) return -1;
  p += sizeof kKey - 1;
  while (*p == ' ') ++p;
  if (*p < '0' || *p > '9') return -1;
  long kib = 0;
  for (; *p >= '0' && *p <= '9'; ++p) kib = kib * 10 + (*p - '0');
  return kib;
}

inline bool write_all(int fd, const void* data, std::size_t bytes) {
  const char* p = static_cast<const char*>(data);
  while (bytes > 0) {
    const ssize_t w = ::write(fd, p, bytes);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    bytes -= static_cast<std::size_t>(w);
  }
  return true;
}

// Reads until `bytes` arrived or end of file; returns how many arrived.
// The end comes when every holder of the write end has closed it: the child
// at its exit, and any sibling child forked by another thread in the moment
// before this thread closed its copy (it exits after its own work too).
inline std::size_t read_all(int fd, void* data, std::size_t bytes) {
  char* p = static_cast<char*>(data);
  std::size_t got = 0;
  while (got < bytes) {
    const ssize_t r = ::read(fd, p + got, bytes - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += static_cast<std::size_t>(r);
  }
  return got;
}

inline int reap(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw std::system_error(errno, std::generic_category(), "waitpid");
  }
  return status;
}

[[nodiscard]] inline std::string describe_exit(int code) {
  switch (code) {
    case kExitInjected: return " (failure injected by a test)";
    case kExitNoSmaps: return " (could not read Private_Dirty from /proc/self/smaps_rollup; Linux 4.14+ needed)";
    case kExitWriteFailed: return " (could not write its report to the pipe)";
    case kExitThrew: return " (its work threw an exception)";
    default: return "";
  }
}

// Throws a message that names what the child did, or returns its report.
inline ChildReport check_child(pid_t pid, int status, const ChildReport& report,
                               std::size_t got) {
  const std::string who = "fork_cow: child process " + std::to_string(pid);
  if (WIFSIGNALED(status))
    throw std::runtime_error(who + " was killed by signal " + std::to_string(WTERMSIG(status)) +
                             " (" + ::strsignal(WTERMSIG(status)) + ")");
  if (!WIFEXITED(status)) throw std::runtime_error(who + " ended with wait status " + std::to_string(status));
  if (const int code = WEXITSTATUS(status); code != 0)
    throw std::runtime_error(who + " exited with status " + std::to_string(code) + describe_exit(code));
  if (got != sizeof report)
    throw std::runtime_error(who + " exited cleanly but sent " + std::to_string(got) + " of " +
                             std::to_string(sizeof report) + " report bytes");
  return report;
}

class Pipe {
 public:
  Pipe() {
    if (::pipe2(fds_, O_CLOEXEC) != 0)
      throw std::system_error(errno, std::generic_category(), "fork_cow: pipe2");
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  ~Pipe() {
    close_read();
    close_write();
  }
  [[nodiscard]] int read_end() const { return fds_[0]; }
  [[nodiscard]] int write_end() const { return fds_[1]; }
  void close_read() { close_fd(fds_[0]); }
  void close_write() { close_fd(fds_[1]); }

 private:
  static void close_fd(int& fd) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  int fds_[2];
};

template <class Ctx, class Work>
[[noreturn]] void child_main(Ctx& ctx, Pipe& pipe, Work& work, ChildFault fault) {
  pipe.close_read();
  // Strategies with helper threads (a commit thread) lost them in the fork;
  // their contexts rebuild what the child needs here (CPython's
  // PyOS_AfterFork_Child).
  if constexpr (requires { ctx.after_fork_child(); }) ctx.after_fork_child();
  const long before = private_dirty_kib();
  if (before < 0) ::_exit(kExitNoSmaps);
  ChildReport report{};
  try {
    report.checksum = work();
  } catch (...) {
    ::_exit(kExitThrew);
  }
  const long after = private_dirty_kib();
  if (after < 0) ::_exit(kExitNoSmaps);
  report.kib_dirtied = after > before ? static_cast<std::uint64_t>(after - before) : 0;
  switch (fault) {
    case ChildFault::none: break;
    case ChildFault::exit_nonzero: ::_exit(kExitInjected);
    case ChildFault::killed: ::raise(SIGKILL); break;
    case ChildFault::short_report:
      (void)write_all(pipe.write_end(), &report, sizeof report / 2);
      ::_exit(0);
  }
  ::_exit(write_all(pipe.write_end(), &report, sizeof report) ? 0 : kExitWriteFailed);
}

}  // namespace fork_detail

// Forks; the child runs work() (returning its checksum) between two
// Private_Dirty readings, reports, and exits. The calling thread waits for
// it as a blocking call (enter_blocking: a GIL holder lets the other threads
// run meanwhile), always reaps it, and throws a message naming the child's
// fate if it did not exit 0 with a full report.
template <class Ctx, class Work>
ChildReport run_in_forked_child(Ctx& ctx, Work&& work, ChildFault fault = ChildFault::none) {
  using namespace fork_detail;
  Pipe pipe;
  const pid_t pid = ::fork();
  if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork_cow: fork");
  if (pid == 0) child_main(ctx, pipe, work, fault);
  pipe.close_write();
  ChildReport report{};
  ctx.enter_blocking();
  const std::size_t got = read_all(pipe.read_end(), &report, sizeof report);
  int status = 0;
  try {
    status = reap(pid);
  } catch (...) {
    ctx.leave_blocking();
    throw;
  }
  ctx.leave_blocking();
  return check_child(pid, status, report, got);
}

}  // namespace rcb
