// The plugin runtime: load a plugin through the C ABI, describe it, and perform one call.
// Used by the small certhook-plugin-host executable (never by certhook itself, which runs the host
// as a child process so that a plugin that crashes or hangs fails only its hook).
#pragma once
#include <filesystem>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

struct certhook_plugin;

namespace certhook::plugin {

// A plugin that cannot be used; what() names the file, the problem and the fix.
struct LoadError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Checks the file (regular, ELF shared object) before loading it, loads it with Boost.DLL, calls
// certhook_plugin_entry and validates the descriptor (size, ABI major/minor, required fields).
// The library stays loaded for the life of the process.
const certhook_plugin &load_plugin(const std::filesystem::path &file);

// The descriptor as JSON: {"name","version","description","abi":"M.m","batching",
//   "options":[{"key","type","required","secret","default","help"}]}
nlohmann::json describe(const certhook_plugin &plugin);

struct CallOutcome {
  int status = 1;          // certhook_status: 0 ok, 1 failed (retry), 2 permanent
  std::string message;
};

// Performs create → `call` (deploy | preflight | rollback) → destroy with the request:
// {"hook", "options": {typed}, "attempt", "dry_run", "certificates": [{"name","domains",
//  "lineage","cert_path","key_path","chain_path","fullchain_path","fingerprint","not_after",
//  "reason"}]}. Options are already validated and typed (durations in ms, paths absolute).
CallOutcome call_plugin(const certhook_plugin &plugin, const std::string &call,
                        const nlohmann::json &request);

// Name of an option type as written in schemas and messages ("string", "duration", ...).
const char *option_type_name(unsigned type);

}  // namespace certhook::plugin
