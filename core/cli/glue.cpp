#include "cli/glue.hpp"

#include <unistd.h>

#include "util/crypto.hpp"
#include "verify/tls_probe.hpp"

namespace certhook::cli {

// Until the plugin catalog lands, only exec hooks can run; any other type is reported per hook.
void resolve_plugin_hooks(const Config &, std::map<std::string, exec::ResolvedHook> &hooks) {
  for (auto &[name, r] : hooks) {
    if (r.config->type == "exec") continue;
    r.plugin = true;
    r.errors.push_back("hook " + name + ": unknown hook type \"" + r.config->type +
                       "\": plugin support is not part of this build");
  }
}

std::filesystem::path plugin_host_binary() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  std::filesystem::path exe = n > 0 ? std::filesystem::path(std::string(buf, static_cast<size_t>(n))) : "";
  return exe.parent_path() / "certhook-plugin-host";
}

std::optional<std::filesystem::path> current_live_dir(const std::filesystem::path &state_dir,
                                                      const std::string &name) {
  auto live = state_dir / "live" / name;
  std::error_code ec;
  if (std::filesystem::exists(live / "cert.pem", ec)) return live;
  return std::nullopt;
}

void acme_step(Engine &, const ReconcileRequest &, const std::vector<const CertificateConfig *> &,
               std::map<std::string, CertificateJournal> &, Journal &,
               const std::vector<HooksDScript> &, ReconcileReport &) {}

exec::Verifier make_verifier() {
  return [](const VerifySettings &v, const std::string &server_name, const std::string &fingerprint) {
    VerifyOutcome outcome = wait_for_fingerprint(v.connect, server_name, fingerprint, v.timeout);
    return outcome.ok ? std::string() : outcome.message;
  };
}

std::string state_marker(const std::filesystem::path &state_dir) {
  std::error_code ec;
  auto canonical = std::filesystem::weakly_canonical(state_dir, ec);
  return "s" + sha256_hex((ec ? state_dir : canonical).string()).substr(0, 12);
}

}  // namespace certhook::cli
