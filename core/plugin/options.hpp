// Typed plugin options: a hook's [hook.options] table checked against its plugin's schema and
// turned into the typed JSON object certhook-plugin-host expects (durations in ms, paths
// absolute). Every problem is a located Diagnostic keyed "hook.<name>.options.<key>", all at
// once. Values of secret options never appear in any message; redact() hides them in output.
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "plugin/catalog.hpp"
#include "util/diagnostic.hpp"

namespace certhook {

struct TypedOptions {
  nlohmann::json options = nlohmann::json::object();   // unset optional options are absent
  Diagnostics problems;
  bool ok() const { return problems.empty(); }
};

// Checks hook.options against plugin.options. Relative paths resolve against config_file's
// directory. Unknown keys get a "did you mean"; missing required keys are reported at the hook.
TypedOptions type_options(const HookConfig &hook, const PluginInfo &plugin, const fs::path &config_file);

// For `certhook check`: the catalog's own problems (refused plugins, duplicates, pins), then every
// hook whose type is not "exec" checked against the catalog: unknown types ("unknown hook type
// ... (installed plugins: ...)" with a suggestion) and options.
Diagnostics check_plugin_hooks(const Config &config, const Catalog &catalog);
// discover_plugins(config.certhook, config.certhook.state_dir), then check_plugin_hooks.
Diagnostics check_plugins(const Config &config);

// What the executor needs to run a plugin hook: the plugin (null when the type is unknown or
// refused), the typed options for the host's request, and every problem as a full message
// ("file:line:column: key: message"). Empty `errors`: the hook can run.
struct ResolvedPluginHook {
  const PluginInfo *plugin = nullptr;
  nlohmann::json options = nlohmann::json::object();   // may hold secrets: redact() before showing
  std::vector<std::string> errors;
};
ResolvedPluginHook resolve_plugin_hook(const HookConfig &hook, const Catalog &catalog,
                                       const fs::path &config_file);

// A copy of typed options (or a raw options object) with the value of every secret option
// replaced by "********", for plan/status/--json output and logs.
nlohmann::json redact(const nlohmann::json &options, const std::vector<OptionSpec> &schema);
inline constexpr std::string_view redacted_text = "********";

// The candidate closest to `word` (edit distance), when close enough to be a likely typo.
std::optional<std::string> closest_name(std::string_view word, const std::vector<std::string> &candidates);

// nullopt when `text` is an http:// or https:// URL with a host; else why not.
std::optional<std::string> url_problem(std::string_view text);

}  // namespace certhook
