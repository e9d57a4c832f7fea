// certhook-plugin-host: loads one plugin and performs one call, so that a plugin that crashes,
// hangs or leaks runs in a process of its own under the executor's timeout and kill rules.
// It links only libc, libstdc++ and the loader; it never sees the ACME account key.
//
//   certhook-plugin-host describe PLUGIN.so
//       stdout: the descriptor as JSON; exit 0, or 3 with {"error": "..."} when refused.
//   certhook-plugin-host call PLUGIN.so deploy|preflight|rollback REQUEST.json RESULT.json
//       RESULT.json: {"status": "ok"|"failed"|"permanent", "message": "..."};
//       exit 0 ok, 1 failed, 2 permanent, 3 refused (load error or bad request).
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "plugin/runtime.hpp"

namespace {

constexpr int exit_refused = 3;

int usage() {
  std::cerr << "usage: certhook-plugin-host describe PLUGIN.so\n"
               "       certhook-plugin-host call PLUGIN.so deploy|preflight|rollback REQUEST RESULT\n";
  return exit_refused;
}

// Written beside the target and renamed, so certhook never reads half a result.
bool write_result(const std::string &path, const nlohmann::json &result) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << result.dump() << '\n';
    if (!out.flush()) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

const char *status_name(int status) {
  return status == 0 ? "ok" : status == 2 ? "permanent" : "failed";
}

}  // namespace

int main(int argc, char **argv) {
  using namespace certhook::plugin;
  if (argc < 3) return usage();
  const std::string verb = argv[1];
  const std::filesystem::path file = argv[2];
  if (verb == "describe" && argc == 3) {
    try {
      std::cout << describe(load_plugin(file)).dump() << '\n';
      return 0;
    } catch (const LoadError &e) {
      std::cout << nlohmann::json{{"error", e.what()}}.dump() << '\n';
      std::cerr << e.what() << '\n';
      return exit_refused;
    }
  }
  if (verb != "call" || argc != 6) return usage();
  const std::string call = argv[3], request_path = argv[4], result_path = argv[5];
  auto refuse = [&](const std::string &message) {
    std::cerr << message << '\n';
    write_result(result_path, {{"status", "refused"}, {"message", message}});
    return exit_refused;
  };
  nlohmann::json request;
  try {
    std::ifstream in(request_path);
    if (!in) return refuse(request_path + ": cannot read the request");
    request = nlohmann::json::parse(in);
  } catch (const std::exception &e) {
    return refuse(request_path + ": bad request: " + e.what());
  }
  CallOutcome outcome;
  try {
    outcome = call_plugin(load_plugin(file), call, request);
  } catch (const LoadError &e) {
    return refuse(e.what());
  }
  if (!write_result(result_path, {{"status", status_name(outcome.status)}, {"message", outcome.message}}))
    std::cerr << result_path << ": cannot write the result\n";
  if (outcome.status != 0 && !outcome.message.empty()) std::cerr << outcome.message << '\n';
  return outcome.status == 0 ? 0 : outcome.status == 2 ? 2 : 1;
}
