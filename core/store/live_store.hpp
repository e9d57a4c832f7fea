// certhook's own lineages (DESIGN §2): every issued version is written whole to
// STATE/archive/<name>/<n>/{cert,chain,fullchain,privkey}.pem and then published by replacing the
// symlink STATE/live/<name> -> ../archive/<name>/<n> with one rename(). A crash at any point leaves
// live/<name> absent or pointing at a complete, matching version.
#pragma once
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>

namespace certhook {

namespace fs = std::filesystem;

struct IssuedVersion {
  std::string cert;        // leaf PEM
  std::string chain;       // intermediates PEM (may be empty)
  std::string fullchain;   // cert + chain
  std::string privkey;     // PEM; written 0600
};

// "live store: <path>: problem; fix"
struct LiveStoreError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct StoredVersion {
  fs::path live_dir;       // STATE/live/<name> (the symlink; what hooks see)
  fs::path version_dir;    // STATE/archive/<name>/<n>
  int number = 0;
};

// Writes a new version (files and directories fsynced; dirs 0700, privkey 0600), switches
// live/<name> to it atomically, and prunes archive/<name> to the newest `keep` versions (never the
// live one). `name` must be a valid certificate name. Throws LiveStoreError.
StoredVersion store_version(const fs::path &state_dir, const std::string &name, const IssuedVersion &v,
                            int keep = 5);

// STATE/live/<name> when it resolves to a version holding cert.pem and privkey.pem, else nullopt.
std::optional<fs::path> live_dir(const fs::path &state_dir, const std::string &name);

// The private key of the current live version (for reuse_key), nullopt when never issued.
std::optional<std::string> previous_key(const fs::path &state_dir, const std::string &name);

}  // namespace certhook
