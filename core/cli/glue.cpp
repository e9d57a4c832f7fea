#include "cli/glue.hpp"

#include <unistd.h>

#include <algorithm>

#include "plugin/options.hpp"
#include "util/crypto.hpp"
#include "verify/tls_probe.hpp"

namespace certhook::cli {

void resolve_plugin_hooks(const Config &config, std::map<std::string, exec::ResolvedHook> &hooks) {
  bool any = std::any_of(hooks.begin(), hooks.end(), [](const auto &h) { return h.second.config->type != "exec"; });
  if (!any) return;  // plugins are only described (one host process each) when a hook needs them
  Catalog catalog = discover_plugins(config.certhook, config.certhook.state_dir);
  for (auto &[name, r] : hooks) {
    if (r.config->type == "exec") continue;
    r.plugin = true;
    ResolvedPluginHook p = resolve_plugin_hook(*r.config, catalog, config.file);
    r.errors.insert(r.errors.end(), p.errors.begin(), p.errors.end());
    if (p.plugin) {
      r.plugin_file = p.plugin->file;
      r.batching = p.plugin->batching;
    }
    r.options_json = p.options.dump();
  }
}

std::filesystem::path plugin_host_binary() { return plugin_host_path(); }

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
