// certhook run [NAME...] [--dry-run]: the timer job.
#include "cli/commands.hpp"
#include "cli/engine.hpp"
#include "cli/output.hpp"
#include "util/exit_status.hpp"

namespace certhook::cli {

int finish(const GlobalOptions &g, const ReconcileReport &report) {
  if (g.json) print_json(report.to_json());
  else {
    report.print_text();
    print_diagnostics(report.errors);
  }
  return report.exit_status();
}

int cmd_run(const GlobalOptions &g, const RunOptions &o) {
  Engine engine(g);
  if (!engine.load() || !engine.check_names(o.names)) return exit_usage;
  ReconcileRequest req;
  req.names = o.names;
  req.dry_run = o.dry_run;
  req.command = "run";
  return finish(g, engine.reconcile(req));
}

}  // namespace certhook::cli
