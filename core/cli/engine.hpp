// The level-triggered reconcile shared by run, issue, deploy and certbot-hook: bring every
// certificate in scope to "each enabled hook has deployed the current certificate".
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "config/config.hpp"
#include "exec/deploy.hpp"
#include "plan/plan.hpp"
#include "store/journal.hpp"

namespace certhook::cli {

struct ReconcileRequest {
  std::vector<std::string> names;        // empty: every certificate
  bool dry_run = false;
  bool force_deploy = false;             // deploy --force: every enabled hook
  std::vector<std::string> only_hooks;   // deploy --hook
  std::string reason_override;           // "manual" (deploy), "renewed" (certbot-hook)
  bool acme = true;                      // issue missing and renew due certificates first
  bool force_issue = false;              // issue --force
  bool ignore_backoff = false;           // issue NAME ignores the issuance backoff
  std::string command = "run";
};

struct ReconcileReport {
  std::vector<std::string> issued, renewed;
  std::vector<exec::DeployOutcome> deployed, failed;
  Diagnostics errors;                    // certificate-level problems and phase script failures
  bool dry_run = false;                  // issued/renewed/deployed say what would happen
  int exit_status() const;
  nlohmann::json to_json() const;
  void print_text() const;
};

// Everything the commands share about a loaded configuration.
class Engine {
 public:
  explicit Engine(const GlobalOptions &g);

  // Loads the configuration: on a fatal problem prints it and returns false (exit 2).
  bool load();
  const Config &config() const { return *config_; }
  // Unknown certificate names: printed, exit 2.
  bool check_names(const std::vector<std::string> &names) const;

  ReconcileReport reconcile(const ReconcileRequest &request);

  // Read-only views for plan and status.
  nlohmann::json status_json(const std::vector<std::string> &names, bool &attention);
  nlohmann::json plan_json(const std::vector<std::string> &names);

  const GlobalOptions &global() const { return g_; }
  const std::vector<HooksDScript> &hooks_d_deploy() const { return deploy_; }
  // Prefix of the marker every process of the current run carries.
  const std::string &run_marker() const { return run_marker_; }

 private:
  std::vector<const CertificateConfig *> in_scope(const std::vector<std::string> &names) const;
  void resolve_hooks();
  bool prepare_certificate(const CertificateConfig &c, CertificateJournal &journal,
                           exec::CertificateContext &out, std::string &error, bool write_allowed);
  bool hook_deployed(const std::string &hook, const CertificateJournal &j, const std::string &fp) const;

  GlobalOptions g_;
  std::optional<Config> config_;
  std::map<std::string, exec::ResolvedHook> hooks_;
  std::vector<HooksDScript> pre_, deploy_, post_;
  Diagnostics hooks_d_errors_;
  std::string run_marker_;
};

}  // namespace certhook::cli
