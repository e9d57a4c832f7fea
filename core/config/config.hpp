// The certhook configuration (DESIGN.md §3), loaded and checked in one pass.
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "config/value.hpp"
#include "util/diagnostic.hpp"
#include "util/duration.hpp"

namespace certhook {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct GlobalSettings {
  fs::path state_dir = "/var/lib/certhook";
  std::vector<fs::path> plugin_dirs = {"/usr/lib/certhook/plugins"};
  fs::path hooks_dir = "/etc/certhook/hooks.d";
  int max_parallel = 4;
  Duration hooks_d_timeout = 5min;
};

enum class KeyType { ecdsa_p256, ecdsa_p384, rsa_2048, rsa_3072, rsa_4096 };
const char *to_string(KeyType k);                       // "ecdsa-p256"
std::optional<KeyType> parse_key_type(std::string_view);

struct AcmeSettings {
  std::string directory = "https://acme-v02.api.letsencrypt.org/directory";
  std::vector<std::string> contact;
  fs::path ca_bundle;                // empty: system trust only
  KeyType key_type = KeyType::ecdsa_p256;
  Duration renew_before = std::chrono::hours(24 * 30);
  bool reuse_key = false;
};

struct ChallengeSettings {
  std::string type = "http-01";
  enum class Mode { standalone, webroot } mode = Mode::standalone;
  std::string listen = "0.0.0.0:80";
  fs::path webroot = "/var/www/html";
};

struct RetryPolicy {
  int attempts = 3;                  // every try, the first included
  Duration delay = 1s;
  Duration max_delay = 30s;
};

struct VerifySettings {
  std::string connect;               // host:port
  std::string server_name;           // empty: each certificate's first name
  Duration timeout = 10s;
  SourceLocation where;
};

struct HookConfig {
  std::string name;
  std::string type;                  // "exec" or a plugin name
  std::vector<std::string> after;    // names that must run before this one
  std::vector<std::string> before;   // names that must run after this one
  Duration timeout = 5min;
  Duration kill_grace = 5s;
  RetryPolicy retry;
  bool stop_on_failure = false;      // on_failure = "stop"
  bool dry_run = false;
  std::optional<VerifySettings> verify;
  Value options;                     // [hook.options], a table (empty table when absent)
  SourceLocation where;              // the [[hook]] header
  // exec hooks, parsed from options (kept in `options` too):
  std::vector<std::string> command;
  std::vector<std::pair<std::string, std::string>> env;
  fs::path cwd;
  // Problems confined to this hook: it fails at run time, everything else proceeds (DESIGN §5).
  Diagnostics errors;
};

struct CertificateConfig {
  std::string name;
  std::vector<std::string> domains;
  std::vector<std::string> hooks;    // enabled hooks, by name
  bool hooks_d = true;
  bool acme = true;                  // source = "acme"
  fs::path source;                   // lineage directory when !acme
  ChallengeSettings challenge;
  KeyType key_type = KeyType::ecdsa_p256;
  Duration renew_before = std::chrono::hours(24 * 30);
  bool reuse_key = false;
  SourceLocation where;              // the [[certificate]] header
  SourceLocation source_where;       // the `source` value (the header when absent)
  Diagnostics errors;                // problems confined to this certificate
};

struct Config {
  fs::path file;                     // absolute path of the loaded file
  GlobalSettings certhook;
  AcmeSettings acme;
  ChallengeSettings challenge;
  std::vector<HookConfig> hooks;
  std::vector<CertificateConfig> certificates;

  const HookConfig *find_hook(std::string_view name) const;
  const CertificateConfig *find_certificate(std::string_view name) const;
  // A path from the file resolved the way the loader does: relative to the file's directory.
  fs::path resolve(const fs::path &p) const;
};

struct LoadResult {
  std::optional<Config> config;      // empty only when the file could not be loaded at all
  Diagnostics fatal;                 // errors that stop everything (exit 2): syntax, globals,
                                     // duplicates, unknown after/before names, cycles
  Diagnostics warnings;
  // Every diagnostic (fatal, per-hook, per-certificate, warnings) sorted by line, for `check`.
  Diagnostics all() const;
};

// Loads and validates `file`. Never throws for bad input: every problem becomes a diagnostic.
LoadResult load_config(const fs::path &file);
LoadResult load_config_string(std::string_view toml_text, const fs::path &file_for_messages);

// Sorts diagnostics by file, line and column (stable); those without a line go last.
void sort_by_location(Diagnostics &ds);

// Name rule for hooks and certificates: [a-z0-9][a-z0-9._-]*, and no "..".
bool valid_name(std::string_view name);

}  // namespace certhook
