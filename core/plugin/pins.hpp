// Pinned plugins: STATE/plugins/pins.json, {"<absolute plugin path>": "<sha256 hex>", ...},
// written by `certhook plugin install`, checked by discovery and `certhook plugin verify`.
#pragma once
#include <filesystem>
#include <map>
#include <string>

namespace certhook {

using Pins = std::map<std::string, std::string>;

std::filesystem::path pins_path(const std::filesystem::path &state_dir);
// The key a plugin file is pinned under: its absolute, symlink-resolved path.
std::string pin_key(const std::filesystem::path &file);
// A missing file is no pins. Throws std::runtime_error naming the file when it is unreadable or
// not a JSON object of strings.
Pins read_pins(const std::filesystem::path &state_dir);
// Atomic (temp, fsync, rename); creates STATE/plugins (0755) when needed. Throws on failure.
void write_pins(const std::filesystem::path &state_dir, const Pins &pins);
// SHA-256 of the file's bytes, lowercase hex. Throws std::system_error naming the file.
std::string file_sha256(const std::filesystem::path &file);

}  // namespace certhook
