#pragma once
// Writing results so that no reader ever sees half a file, without ever
// replacing something that is not a regular file.
//
// What `--out PATH` names decides how it is written:
//   - a regular file, or nothing yet: a temporary file in the same directory
//     is written, flushed and renamed over it (rename is atomic on POSIX file
//     systems), after every benchmark and at the end;
//   - a symbolic link: the link stays; its final target is replaced as above;
//   - "-", /dev/stdout, /dev/stderr, a character device (/dev/null), a FIFO or
//     a socket: a stream, written directly and once, at the end. A write error
//     (ENOSPC from /dev/full, a closed pipe) is an error, never "wrote".
// With "-" (or /dev/stdout) the JSON owns stdout, so every message goes to
// stderr: print through messages_stream(out).

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <string>

#include <nlohmann/json.hpp>

namespace rcb {

// Checks up front that `path` can be written (creating missing parent
// directories of a file to be created), so a run fails before it starts
// rather than after an hour. Returns an error message, or "" when writable.
// Leaves no file behind; never opens a FIFO (that would block).
[[nodiscard]] std::string check_writable(const std::filesystem::path& path);

// Where a results file goes, decided once from what the path names now.
class ResultsOutput {
 public:
  enum class Kind : std::uint8_t {
    file,    // regular file or absent: atomic replace of target()
    stream,  // "-", a device, a FIFO, a socket: one direct write at finish()
  };

  explicit ResultsOutput(std::string path);

  // After each benchmark: replaces a file atomically; nothing for a stream
  // (it cannot be rewritten, and a reader would see several documents).
  void checkpoint(const nlohmann::json& j) const;
  // The final write. Throws std::runtime_error naming the path and the
  // system's reason when the write fails.
  void finish(const nlohmann::json& j) const;

  // For messages: "results.json", "results.json (link to /data/r.json)",
  // "stdout", "/dev/null (character device)".
  [[nodiscard]] std::string describe() const;
  [[nodiscard]] Kind kind() const { return kind_; }
  [[nodiscard]] const std::string& path() const { return path_; }
  // The file replaced for Kind::file: the path with every link resolved.
  [[nodiscard]] const std::filesystem::path& target() const { return target_; }
  [[nodiscard]] bool to_stdout() const { return fd_ == 1; }

 private:
  std::string path_;
  std::filesystem::path target_;
  Kind kind_ = Kind::file;
  int fd_ = -1;  // 1 or 2 for "-", /dev/stdout, /dev/stderr; else -1 (open path_)
  std::string what_;  // "character device", "FIFO", "link to ..."
};

// Where progress and messages go for `--out out`: std::cerr when the JSON
// goes to stdout ("-" or /dev/stdout), std::cout otherwise.
[[nodiscard]] std::ostream& messages_stream(const std::string& out);

// Writes `j` to `path` atomically, following the rules above (a stream is
// written directly, a link's target replaced). Throws std::runtime_error on
// failure. Prefer ResultsOutput, which writes a stream only once.
void write_json_atomically(const std::filesystem::path& path, const nlohmann::json& j);

}  // namespace rcb
