// certhook issue NAME [--force]: obtain NAME if missing or due (--force: always), then deploy it.
#include <iostream>

#include "cli/commands.hpp"
#include "cli/engine.hpp"
#include "cli/output.hpp"
#include "util/exit_status.hpp"

namespace certhook::cli {

int finish(const GlobalOptions &g, const ReconcileReport &report);

int cmd_issue(const GlobalOptions &g, const IssueOptions &o) {
  Engine engine(g);
  if (!engine.load() || !engine.check_names({o.name})) return exit_usage;
  const auto *cert = engine.config().find_certificate(o.name);
  if (!cert->acme) {
    std::string msg = o.name + ": source = \"" + cert->source.string() +
                      "\": certhook does not issue this certificate (another tool does); use "
                      "`certhook deploy " + o.name + "`";
    if (g.json) print_json({{"errors", nlohmann::json::array({to_json(Diagnostic{{}, "", msg})})}});
    else std::cerr << "certhook: " << msg << "\n";
    return exit_usage;
  }
  ReconcileRequest req;
  req.names = {o.name};
  req.force_issue = o.force;
  req.ignore_backoff = true;   // an operator asking now gets an attempt now
  req.command = "issue";
  return finish(g, engine.reconcile(req));
}

}  // namespace certhook::cli
