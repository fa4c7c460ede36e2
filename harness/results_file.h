#pragma once
// Writing results so that no reader ever sees half a file: every write goes
// to a temporary file in the same directory, is flushed, and is renamed over
// the target (rename is atomic on POSIX file systems).

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace rcb {

// Checks up front that `path` can be written (creating missing parent
// directories), so a run fails before it starts rather than after an hour.
// Returns an error message, or "" when writable. Leaves no file behind.
[[nodiscard]] std::string check_writable(const std::filesystem::path& path);

// Writes `j` to `path` atomically. Throws std::runtime_error on failure.
void write_json_atomically(const std::filesystem::path& path, const nlohmann::json& j);

}  // namespace rcb
