// Shared by the plugin tests: fixture paths and running the real certhook-plugin-host.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "plugin/host_process.hpp"

namespace certhook::test {

inline std::filesystem::path fixture(const std::string &name) {
  return std::filesystem::path(CERTHOOK_FIXTURE_DIR) / (name + ".so");
}
inline std::string host_binary() { return CERTHOOK_PLUGIN_HOST_BINARY; }

inline CapturedRun run_host(const std::vector<std::string> &args,
                            std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  std::vector<std::string> argv = {host_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_captured(argv, timeout);
}

// A deploy request for the host with one or more certificates.
inline nlohmann::json request(const nlohmann::json &options, std::vector<std::string> certs = {"example.com"},
                              unsigned attempt = 1, bool dry_run = false) {
  auto list = nlohmann::json::array();
  for (const auto &c : certs)
    list.push_back({{"name", c},
                    {"domains", {c, "www." + c}},
                    {"lineage", "/var/lib/certhook/live/" + c},
                    {"cert_path", "/var/lib/certhook/live/" + c + "/cert.pem"},
                    {"key_path", "/var/lib/certhook/live/" + c + "/privkey.pem"},
                    {"chain_path", "/var/lib/certhook/live/" + c + "/chain.pem"},
                    {"fullchain_path", "/var/lib/certhook/live/" + c + "/fullchain.pem"},
                    {"fingerprint", "ab12"},
                    {"not_after", "2027-01-01T00:00:00Z"},
                    {"reason", "renewed"}});
  return {{"hook", "test-hook"}, {"options", options}, {"attempt", attempt},
          {"dry_run", dry_run}, {"certificates", list}};
}

// Points discovery (which runs in this test process) at the built host.
struct UseBuiltHost {
  UseBuiltHost() { ::setenv("CERTHOOK_PLUGIN_HOST", CERTHOOK_PLUGIN_HOST_BINARY, 1); }
};

}  // namespace certhook::test
