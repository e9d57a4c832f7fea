// The ownership rule for anything certhook executes or loads (DESIGN §6 "Permissions"):
// a hook file, hooks dir, phase dir, plugin file or plugin dir must not be group- or
// world-writable, nor owned by a non-root user other than the one running certhook.
#pragma once
#include <filesystem>
#include <optional>
#include <string>

namespace certhook {

// nullopt when `path` is safe; otherwise "PATH: problem; fix" (e.g. "chmod go-w PATH").
// Follows symlinks for the target and checks the link itself too when it is one.
std::optional<std::string> unsafe_permissions(const std::filesystem::path &path);

}  // namespace certhook
