#include "harness/results_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace rcb {

namespace fs = std::filesystem;

namespace {
fs::path temp_name(const fs::path& path) {
  return path.parent_path() / ("." + path.filename().string() + ".tmp." + std::to_string(getpid()));
}
}  // namespace

std::string check_writable(const fs::path& path) {
  if (path.empty()) return "empty output path";
  if (fs::is_directory(path)) return "cannot write '" + path.string() + "': it is a directory";
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return "cannot write '" + path.string() + "': cannot create directory '" + dir.string() + "': " + ec.message();
  const fs::path probe = temp_name(path.has_parent_path() ? path : fs::path(".") / path);
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd < 0) return "cannot write '" + path.string() + "': " + std::strerror(errno);
  ::close(fd);
  ::unlink(probe.c_str());
  return {};
}

void write_json_atomically(const fs::path& path, const nlohmann::json& j) {
  const fs::path tmp = temp_name(path.has_parent_path() ? path : fs::path(".") / path);
  const std::string text = j.dump(2) + "\n";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) throw std::runtime_error("cannot write '" + tmp.string() + "': " + std::strerror(errno));
  std::size_t off = 0;
  while (off < text.size()) {
    const ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;  // Ctrl-C arriving mid-write must not lose the file
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw std::runtime_error("writing '" + tmp.string() + "': " + std::strerror(err));
    }
    off += static_cast<std::size_t>(n);
  }
  ::fsync(fd);
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw std::runtime_error("renaming onto '" + path.string() + "': " + std::strerror(err));
  }
}

}  // namespace rcb
