// certhook deploy NAME [--hook H]... [--force] [--dry-run]: run NAME's pending hooks now.
#include <algorithm>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/engine.hpp"
#include "cli/output.hpp"
#include "util/exit_status.hpp"

namespace certhook::cli {

int finish(const GlobalOptions &g, const ReconcileReport &report);

int cmd_deploy(const GlobalOptions &g, const DeployOptions &o) {
  Engine engine(g);
  if (!engine.load() || !engine.check_names({o.name})) return exit_usage;
  const auto *cert = engine.config().find_certificate(o.name);
  for (const auto &h : o.hooks) {
    const auto &scripts = engine.hooks_d_deploy();
    bool enabled = std::find(cert->hooks.begin(), cert->hooks.end(), h) != cert->hooks.end() ||
                   (cert->hooks_d && std::any_of(scripts.begin(), scripts.end(),
                                                 [&](const HooksDScript &s) { return s.key == h; }));
    if (!enabled) {
      std::string msg = "--hook " + h + ": not a hook enabled for certificate " + o.name +
                        " (enable it in its `hooks` list)";
      if (g.json) print_json({{"errors", nlohmann::json::array({to_json(Diagnostic{{}, "", msg})})}});
      else std::cerr << "certhook: " << msg << "\n";
      return exit_usage;
    }
  }
  ReconcileRequest req;
  req.names = {o.name};
  req.only_hooks = o.hooks;
  req.force_deploy = o.force;
  req.dry_run = o.dry_run;
  req.reason_override = "manual";
  req.acme = false;
  req.command = "deploy";
  return finish(g, engine.reconcile(req));
}

}  // namespace certhook::cli
