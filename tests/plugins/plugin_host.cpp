#include "plugin_host.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <stdexcept>

#include "tempdir.hpp"
#include "testcerts.hpp"

extern char **environ;

namespace certhook::test {
namespace fs = std::filesystem;

nlohmann::json certificate_json(const std::string &name, const fs::path &lineage,
                                const std::vector<std::string> &domains) {
  return {{"name", name},
          {"domains", domains.empty() ? std::vector<std::string>{name} : domains},
          {"lineage", lineage.string()},
          {"cert_path", (lineage / "cert.pem").string()},
          {"key_path", (lineage / "privkey.pem").string()},
          {"chain_path", (lineage / "chain.pem").string()},
          {"fullchain_path", (lineage / "fullchain.pem").string()},
          {"fingerprint", fingerprint_of(read_text(lineage / "cert.pem"))},
          {"not_after", "2030-01-01T00:00:00Z"},
          {"reason", "manual"}};
}

HostCall call_plugin_host(const std::string &plugin, const std::string &call,
                          const nlohmann::json &options, const nlohmann::json &certificates,
                          const fs::path &workdir) {
  static std::atomic<int> counter{0};
  const std::string stem = "call" + std::to_string(++counter);
  const fs::path request = workdir / (stem + ".request.json");
  const fs::path result = workdir / (stem + ".result.json");
  const fs::path output = workdir / (stem + ".output.txt");
  nlohmann::json req = {{"hook", "test-" + plugin},
                        {"options", options},
                        {"attempt", 1},
                        {"dry_run", false},
                        {"certificates", certificates}};
  write_text(request, req.dump(2));

  const std::string host = CERTHOOK_PLUGIN_HOST;
  const std::string so = std::string(CERTHOOK_PLUGIN_DIR) + "/" + plugin + ".so";
  std::vector<std::string> argv_s{host, "call", so, call, request.string(), result.string()};
  std::vector<char *> argv;
  for (auto &a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, output.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, host.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot run " + host);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  HostCall out;
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  out.output = read_text(output);
  if (fs::exists(result)) {
    auto j = nlohmann::json::parse(read_text(result));
    out.status = j.value("status", "");
    out.message = j.value("message", "");
  }
  return out;
}

}  // namespace certhook::test
