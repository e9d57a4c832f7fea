// Drives a first-party plugin exactly as certhook does: a request JSON listing certificates,
// `certhook-plugin-host call PLUGIN.so deploy|preflight REQUEST RESULT`, then the result file.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace certhook::test {

struct HostCall {
  int exit_code = -1;       // 0 ok, 1 failed, 2 permanent, 3 refused
  std::string status;       // from RESULT.json: ok | failed | permanent | refused
  std::string message;
  std::string output;       // the host's stdout+stderr
};

// One certificate of a request, from a lineage directory written by write_lineage()
// (fingerprint computed from its cert.pem).
nlohmann::json certificate_json(const std::string &name, const std::filesystem::path &lineage,
                                const std::vector<std::string> &domains = {});

// Runs the host on `plugin` (its name: "nginx" -> the built nginx.so) with
// {"hook", "options", "attempt": 1, "dry_run": false, "certificates"}; files go to `workdir`.
HostCall call_plugin_host(const std::string &plugin, const std::string &call,
                          const nlohmann::json &options, const nlohmann::json &certificates,
                          const std::filesystem::path &workdir);

}  // namespace certhook::test
