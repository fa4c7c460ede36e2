#pragma once
// A `rcbench _serve` child: the process that runs, on request, one cell's
// counted pass or one timed repetition (the protocol is in harness/ab.cpp).
// `rcbench ab` starts one per side and round; `rcbench run --processes
// fresh` one per round, so that each repetition of a cell runs in a process
// with another address-space layout (docs/measurement.md, section 4).

#include <sys/types.h>

#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/engine/measure.h"

namespace rcb {

// A child that died, could not start, or broke the protocol.
class ServeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ServeChild {
 public:
  // Starts `binary _serve args...` and reads its hello line. A child that
  // exits with the usage status refused the selection: UsageError.
  ServeChild(std::string label, const std::string& binary, const std::vector<std::string>& args);
  ServeChild(const ServeChild&) = delete;
  ServeChild& operator=(const ServeChild&) = delete;
  // Closes the child's input (it ends after the request in flight) and reaps it.
  ~ServeChild();

  [[nodiscard]] const nlohmann::json& hello() const { return hello_; }
  [[nodiscard]] const std::string& label() const { return label_; }
  [[nodiscard]] pid_t pid() const { return pid_; }
  // One request line, one reply line.
  nlohmann::json request(const std::string& line);

 private:
  nlohmann::json read_reply();

  std::string label_;
  pid_t pid_ = -1;
  int to_ = -1, from_ = -1;
  std::string buffer_;
  nlohmann::json hello_;
};

// This program's own binary (/proc/self/exe), to start children of it.
[[nodiscard]] std::string self_binary();

// A repetition as `_serve` sends it whole (the `full` request), and back:
// what `rcbench run` records of a repetition it ran itself.
[[nodiscard]] nlohmann::json repetition_to_json(const Repetition& r);
[[nodiscard]] Repetition repetition_from_json(const nlohmann::json& j, const WorkShare& share);

}  // namespace rcb
