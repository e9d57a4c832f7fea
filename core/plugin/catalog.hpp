// Plugin discovery: every *.so in [certhook] plugin_dirs, checked (permissions, pins) and
// described by certhook-plugin-host in a child process, so that a broken plugin cannot crash
// certhook. A refused plugin is a Diagnostic naming its file; it never stops the others.
//
// Duplicate names: the first file (plugin_dirs order, then file name order, C locale) wins;
// every later file with the same name is refused naming both files.
#pragma once
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "util/diagnostic.hpp"

namespace certhook {

namespace fs = std::filesystem;

enum class OptionType { string, integer, boolean, duration, path, url, string_list, table };
const char *to_string(OptionType t);   // the schema names: "string", "int", ..., "string list", "table"
std::optional<OptionType> parse_option_type(std::string_view name);

struct OptionSpec {
  std::string key;
  OptionType type = OptionType::string;
  bool required = false;
  bool secret = false;
  std::optional<std::string> default_value;   // a TOML value literal, as declared
  std::string help;
};

struct PluginInfo {
  fs::path file;
  std::string name, version, description, abi;
  bool batching = false;
  std::vector<OptionSpec> options;
  std::string sha256;   // of the file's bytes, lowercase hex
  bool pinned = false;  // listed in STATE/plugins/pins.json (and matching: else it is refused)

  const OptionSpec *find_option(std::string_view key) const;
};

struct RefusedPlugin {
  fs::path file;
  std::string problem;   // "FILE: problem; fix"
};

struct Catalog {
  std::vector<PluginInfo> plugins;   // usable plugins, in discovery order
  std::vector<RefusedPlugin> refused;
  Diagnostics problems;              // one per refused plugin or unusable dir, file named in `where`

  const PluginInfo *find(std::string_view name) const;
  std::vector<std::string> names() const;
};

// Discovers the plugins in settings.plugin_dirs. A missing dir contributes nothing.
Catalog discover_plugins(const GlobalSettings &settings, const fs::path &state_dir);

// Runs `certhook-plugin-host describe FILE` and parses its descriptor. Throws std::runtime_error
// with the host's own message ("FILE: problem; fix") when the plugin is refused.
PluginInfo describe_plugin(const fs::path &file,
                           std::chrono::milliseconds timeout = std::chrono::seconds(10));

// $CERTHOOK_PLUGIN_HOST, else <dir of this executable>/certhook-plugin-host, else
// <dir of this executable>/../libexec/certhook/certhook-plugin-host. Empty when none exists.
fs::path plugin_host_path();

}  // namespace certhook
