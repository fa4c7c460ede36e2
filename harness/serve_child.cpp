// The `_serve` child's driver side (harness/serve_child.h).

#include "harness/serve_child.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "harness/commands.h"

namespace rcb {

ServeChild::ServeChild(std::string label, const std::string& binary, const std::vector<std::string>& args)
    : label_(std::move(label)) {
  int to_child[2], from_child[2];
  if (::pipe2(to_child, O_CLOEXEC) != 0 || ::pipe2(from_child, O_CLOEXEC) != 0)
    throw ServeError(std::string("pipe: ") + std::strerror(errno));
  std::vector<std::string> argv_s{binary, "_serve"};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ < 0) throw ServeError(std::string("fork: ") + std::strerror(errno));
  if (pid_ == 0) {
    ::dup2(to_child[0], STDIN_FILENO);
    ::dup2(from_child[1], STDOUT_FILENO);
    ::execv(binary.c_str(), argv.data());
    std::fprintf(stderr, "rcbench: cannot run %s: %s\n", binary.c_str(), std::strerror(errno));
    ::_exit(127);
  }
  ::close(to_child[0]);
  ::close(from_child[1]);
  to_ = to_child[1];
  from_ = from_child[0];
  try {
    hello_ = read_reply();
  } catch (const ServeError&) {
    // A child that refused the selection has said why on stderr.
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    if (WIFEXITED(status) && WEXITSTATUS(status) == kExitUsage)
      throw UsageError(label_ + "'s rcbench (" + binary + ") refused the selection (its message is above)");
    throw;
  }
  if (!hello_.contains("rcbench_serve"))
    throw ServeError(label_ + " (" + binary + ") did not answer as an rcbench that can serve: " + hello_.dump());
}

ServeChild::~ServeChild() {
  if (to_ >= 0) ::close(to_);
  if (from_ >= 0) ::close(from_);
  if (pid_ > 0) {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

nlohmann::json ServeChild::request(const std::string& line) {
  const std::string out = line + "\n";
  std::size_t sent = 0;
  while (sent < out.size()) {
    const ssize_t n = ::write(to_, out.data() + sent, out.size() - sent);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw ServeError(label_ + "'s rcbench ended unexpectedly (see its messages above)");
    sent += static_cast<std::size_t>(n);
  }
  return read_reply();
}

// One line; a signal does not cut it short (the child finishes what it was
// doing and answers).
nlohmann::json ServeChild::read_reply() {
  for (;;) {
    if (const auto nl = buffer_.find('\n'); nl != std::string::npos) {
      const std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      try {
        return nlohmann::json::parse(line);
      } catch (const nlohmann::json::exception&) {
        throw ServeError(label_ + "'s rcbench answered something other than the serving protocol: " + line);
      }
    }
    char chunk[4096];
    const ssize_t n = ::read(from_, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw ServeError(label_ + "'s rcbench ended before answering (see its messages above)");
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

std::string self_binary() {
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) throw ServeError("cannot find this program's binary (/proc/self/exe): " + ec.message());
  return self.string();
}

nlohmann::json repetition_to_json(const Repetition& r) {
  nlohmann::json usage = nlohmann::json::array();
  for (const ThreadUsage& u : r.usage)
    usage.push_back({u.wall_ns, u.cpu_ns, u.involuntary, u.voluntary});
  nlohmann::json figures = nlohmann::json::array();
  for (const auto& [name, value] : r.workload_figures) figures.push_back({name, value});
  const Disturbance& d = r.disturbance;
  return {{"error", r.error},
          {"iterations", r.iterations},
          {"items_per_thread", r.items_per_thread},
          {"threads", r.threads},
          {"checksum", r.checksum},
          {"seconds", r.seconds},
          {"cpu_seconds", r.cpu_seconds},
          {"usage", usage},
          {"disturbance",
           {{"disturbed", d.disturbed},
            {"reasons", d.reasons},
            {"involuntary_switches", d.involuntary_switches},
            {"voluntary_switches", d.voluntary_switches},
            {"min_cpu_over_wall", d.min_cpu_over_wall},
            {"steal_s", d.steal_s}}},
          {"bound_cpu", r.bound_cpu},
          {"last_cpu", r.last_cpu},
          {"workload_figures", figures}};
}

Repetition repetition_from_json(const nlohmann::json& j, const WorkShare& share) {
  Repetition r;
  r.share = share;
  r.error = j.at("error").get<std::string>();
  r.iterations = j.at("iterations").get<std::uint64_t>();
  r.items_per_thread = j.at("items_per_thread").get<std::uint64_t>();
  r.threads = j.at("threads").get<std::uint32_t>();
  r.checksum = j.at("checksum").get<std::uint64_t>();
  r.seconds = j.at("seconds").get<double>();
  r.cpu_seconds = j.at("cpu_seconds").get<double>();
  for (const auto& u : j.at("usage"))
    r.usage.push_back({u.at(0).get<std::int64_t>(), u.at(1).get<std::int64_t>(), u.at(2).get<std::int64_t>(),
                       u.at(3).get<std::int64_t>()});
  const auto& d = j.at("disturbance");
  r.disturbance.disturbed = d.at("disturbed").get<bool>();
  r.disturbance.reasons = d.at("reasons").get<std::vector<std::string>>();
  r.disturbance.involuntary_switches = d.at("involuntary_switches").get<std::int64_t>();
  r.disturbance.voluntary_switches = d.at("voluntary_switches").get<std::int64_t>();
  r.disturbance.min_cpu_over_wall = d.at("min_cpu_over_wall").get<double>();
  r.disturbance.steal_s = d.at("steal_s").get<double>();
  r.bound_cpu = j.at("bound_cpu").get<std::vector<int>>();
  r.last_cpu = j.at("last_cpu").get<std::vector<int>>();
  for (const auto& f : j.at("workload_figures"))
    r.workload_figures.emplace_back(f.at(0).get<std::string>(), f.at(1).get<double>());
  return r;
}

}  // namespace rcb
