#include "harness/results_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <stdexcept>

namespace rcb {

namespace fs = std::filesystem;

namespace {

fs::path temp_name(const fs::path& path) {
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  return dir / ("." + path.filename().string() + ".tmp." + std::to_string(getpid()));
}

std::string sys_error(const std::string& what, int err) { return what + ": " + std::strerror(err); }

// The path every symbolic link in `path` leads to (the last one may dangle:
// the file is created there). `magic` is set when a link leads into /proc,
// like /dev/fd/1 -> /proc/self/fd/1 -> pipe:[123]: not a file to replace.
fs::path resolve_links(const fs::path& path, bool& magic) {
  fs::path p = path;
  magic = p.string().starts_with("/proc/");
  for (int hops = 0; hops < 40; ++hops) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return p;
    const fs::path to = fs::read_symlink(p);
    p = to.is_absolute() ? to : p.parent_path() / to;
    magic = magic || p.string().starts_with("/proc/");
  }
  throw std::runtime_error(sys_error("cannot write '" + path.string() + "'", ELOOP));
}

const char* type_name(mode_t m) {
  if (S_ISCHR(m)) return "character device";
  if (S_ISBLK(m)) return "block device";
  if (S_ISFIFO(m)) return "FIFO";
  if (S_ISSOCK(m)) return "socket";
  return "special file";
}

// 1 for stdout, 2 for stderr, -1 for a path to open.
int standard_fd(const std::string& path) {
  if (path == "-" || path == "/dev/stdout") return 1;
  if (path == "/dev/stderr") return 2;
  return -1;
}

// Writes all of `text`, retrying after signals (Ctrl-C arriving mid-write
// must not lose the file). Returns 0 or the errno of the failure.
int write_all(int fd, const std::string& text) {
  std::size_t off = 0;
  while (off < text.size()) {
    const ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    off += static_cast<std::size_t>(n);
  }
  return 0;
}

void replace_atomically(const fs::path& target, const std::string& text) {
  const fs::path tmp = temp_name(target);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error(sys_error("cannot write '" + tmp.string() + "'", errno));
  int err = write_all(fd, text);
  if (err == 0 && ::fsync(fd) != 0) err = errno;
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err != 0) {
    ::unlink(tmp.c_str());
    throw std::runtime_error(sys_error("writing '" + tmp.string() + "'", err));
  }
  if (::rename(tmp.c_str(), target.c_str()) != 0) {
    err = errno;
    ::unlink(tmp.c_str());
    throw std::runtime_error(sys_error("renaming onto '" + target.string() + "'", err));
  }
}

}  // namespace

ResultsOutput::ResultsOutput(std::string path) : path_(std::move(path)), target_(path_) {
  fd_ = standard_fd(path_);
  if (fd_ >= 0) {
    kind_ = Kind::stream;
    what_ = fd_ == 1 ? "stdout" : "stderr";
    return;
  }
  bool magic = false;
  target_ = resolve_links(path_, magic);
  struct stat st {};
  if (::stat(path_.c_str(), &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
    kind_ = Kind::stream;
    what_ = type_name(st.st_mode);
  } else if (magic) {
    kind_ = Kind::stream;  // a descriptor of this process: write through it, never rename onto it
    what_ = "open file descriptor";
  } else if (target_ != fs::path(path_)) {
    what_ = "link to " + target_.string();
  }
}

void ResultsOutput::checkpoint(const nlohmann::json& j) const {
  if (kind_ == Kind::file) replace_atomically(target_, j.dump(2) + "\n");
}

void ResultsOutput::finish(const nlohmann::json& j) const {
  const std::string text = j.dump(2) + "\n";
  if (kind_ == Kind::file) {
    replace_atomically(target_, text);
    return;
  }
  if (fd_ >= 0) {
    // Whatever iostreams still buffer for this descriptor goes first.
    std::cout.flush();
    std::cerr.flush();
    if (const int err = write_all(fd_, text)) throw std::runtime_error(sys_error("writing results to " + what_, err));
    return;
  }
  // No O_TRUNC and no O_CREAT: a device or FIFO has nothing to truncate, and
  // if it vanished since the check, creating a regular file in /dev is wrong.
  const int fd = ::open(path_.c_str(), O_WRONLY | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(sys_error("cannot write '" + path_ + "'", errno));
  int err = write_all(fd, text);
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err != 0) throw std::runtime_error(sys_error("writing '" + path_ + "' (" + what_ + ")", err));
}

std::string ResultsOutput::describe() const {
  if (fd_ >= 0) return what_;
  return what_.empty() ? path_ : path_ + " (" + what_ + ")";
}

std::ostream& messages_stream(const std::string& out) { return standard_fd(out) == 1 ? std::cerr : std::cout; }

std::string check_writable(const fs::path& path) {
  if (path.empty()) return "empty output path";
  if (standard_fd(path.string()) >= 0) return {};
  const std::string cannot = "cannot write '" + path.string() + "'";
  bool magic = false;
  fs::path target;
  try {
    target = resolve_links(path, magic);
  } catch (const std::exception& e) {
    return e.what();
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return cannot + ": it is a directory";
    if (!S_ISREG(st.st_mode) || magic) {
      // Written directly at the end; opening a FIFO now would block.
      if (::access(path.c_str(), W_OK) != 0) return sys_error(cannot, errno);
      return {};
    }
  } else if (errno != ENOENT) {
    return sys_error(cannot, errno);
  }
  // A file to create or replace: the temporary goes next to the target.
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return cannot + ": cannot create directory '" + dir.string() + "': " + ec.message();
  const fs::path probe = temp_name(target);
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return sys_error(cannot, errno);
  ::close(fd);
  ::unlink(probe.c_str());
  return {};
}

void write_json_atomically(const fs::path& path, const nlohmann::json& j) { ResultsOutput(path.string()).finish(j); }

}  // namespace rcb
