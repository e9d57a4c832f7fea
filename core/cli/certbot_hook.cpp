// certhook certbot-hook: for certbot's --deploy-hook. Matches realpath(RENEWED_LINEAGE) to a
// certificate's realpath(source) and runs its pending hooks, then post hooks.
#include <cstdlib>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/engine.hpp"
#include "cli/output.hpp"
#include "util/exit_status.hpp"

namespace certhook::cli {

int finish(const GlobalOptions &g, const ReconcileReport &report);

int cmd_certbot_hook(const GlobalOptions &g) {
  Engine engine(g);
  if (!engine.load()) return exit_usage;
  auto fail = [&](const std::string &msg) {
    if (g.json) print_json({{"issued", nlohmann::json::array()}, {"renewed", nlohmann::json::array()},
                            {"deployed", nlohmann::json::array()}, {"failed", nlohmann::json::array()},
                            {"errors", nlohmann::json::array({to_json(Diagnostic{{}, "", msg})})}});
    else std::cerr << "certhook: " << msg << "\n";
    return exit_failed;
  };
  const char *lineage = std::getenv("RENEWED_LINEAGE");
  if (!lineage || !*lineage)
    return fail("certbot-hook: RENEWED_LINEAGE is not set; run this from certbot's --deploy-hook");
  std::error_code ec;
  fs::path renewed = fs::weakly_canonical(lineage, ec);
  std::vector<std::string> matches;   // several certificates may deploy the same lineage
  for (const auto &c : engine.config().certificates) {
    if (c.acme) continue;
    std::error_code ec2;
    if (fs::weakly_canonical(c.source, ec2) == renewed && !ec2) matches.push_back(c.name);
  }
  if (matches.empty())
    return fail("certbot-hook: RENEWED_LINEAGE=" + std::string(lineage) +
                " matches no certificate's source in " + engine.config().file.string() +
                "; add a [[certificate]] with source = \"" + std::string(lineage) + "\"");
  ReconcileRequest req;
  req.names = matches;
  req.reason_override = "renewed";
  req.acme = false;
  req.command = "certbot-hook";
  return finish(g, engine.reconcile(req));
}

}  // namespace certhook::cli
