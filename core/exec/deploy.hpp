// The deploy executor: runs a plan's nodes with ordering, max_parallel concurrency (the same hook
// never twice at once), per-attempt timeouts, retry with full-jitter backoff, on_failure, optional
// TLS verification, and records every outcome in the journal.
#pragma once
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "config/config.hpp"
#include "plan/plan.hpp"
#include "store/journal.hpp"
#include "store/lineage.hpp"

namespace certhook::exec {

// A configured hook, resolved against the plugin catalog and ready to run.
struct ResolvedHook {
  const HookConfig *config = nullptr;
  bool plugin = false;                 // false: exec
  std::filesystem::path plugin_file;
  bool batching = false;
  std::string options_json;            // typed options for the plugin host (may hold secrets)
  std::string config_hash;             // a change redeploys
  std::vector<std::string> errors;     // non-empty: the hook cannot run; each is a full message
  std::vector<std::string> secrets;    // values never to show: exec env values, secret options
};

// What a deploy needs to know about one certificate.
struct CertificateContext {
  const CertificateConfig *config = nullptr;
  LineagePaths paths;                  // paths handed to hooks (live/, never archive/)
  CachedFacts facts;
  std::string reason;                  // issued | renewed | redeploy | manual
};

struct DeployOutcome {
  std::string certificate, hook, error;   // error empty: deployed
};

// Checks what a server serves: returns an empty string when `fingerprint` is served, else why not.
using Verifier = std::function<std::string(const VerifySettings &, const std::string &server_name,
                                           const std::string &fingerprint)>;

struct DeployOptions {
  bool dry_run = false;
  std::filesystem::path plugin_host;   // certhook-plugin-host
  std::filesystem::path state_dir;
  std::string marker_prefix;           // processes get marker_prefix + unique suffix
  Verifier verifier;                   // null: hooks with verify fail ("not available")
};

class Deployer {
 public:
  Deployer(const Config &config, const std::map<std::string, ResolvedHook> &hooks,
           std::map<std::string, CertificateContext> &certificates,
           std::map<std::string, CertificateJournal> &journals, Journal &journal_store,
           DeployOptions options);
  ~Deployer();
  Deployer(const Deployer &) = delete;
  Deployer &operator=(const Deployer &) = delete;

  // Runs every node of the plan; returns one outcome per (certificate, hook) attempted or skipped.
  std::vector<DeployOutcome> run(const Plan &plan);

  // hooks.d pre/post scripts: one attempt each, hooks_d_timeout, no journal.
  // Returns error messages of the scripts that failed.
  std::vector<std::string> run_phase_scripts(const std::string &phase,
                                             const std::vector<HooksDScript> &scripts,
                                             const std::vector<std::string> &deployed,
                                             const std::vector<std::string> &failed);

 private:
  std::string run_node_once(const PlanNode &node, int attempt, bool &permanent);
  std::vector<std::string> base_environment(const std::string &phase, int attempt) const;
  void add_certificate_environment(std::vector<std::string> &env, const CertificateContext &c) const;
  std::string next_marker();

  const Config &config_;
  const std::map<std::string, ResolvedHook> &hooks_;
  std::map<std::string, CertificateContext> &certificates_;
  std::map<std::string, CertificateJournal> &journals_;
  Journal &journal_store_;
  DeployOptions options_;
  std::filesystem::path request_dir_;   // plugin requests and results; removed at the end
};

// The wait before try n+1 (n >= 1): uniform in [0, min(max_delay, delay * 2^(n-1))].
Duration backoff_delay(const RetryPolicy &policy, int failed_attempts);

// `text` with every secret (of 3 characters or more) replaced by "********".
std::string redact_secrets(std::string text, const std::vector<std::string> &secrets);

// Hash of the parts of a hook's config that change what it deploys.
std::string hook_config_hash(const HookConfig &hook, const std::string &typed_options);

}  // namespace certhook::exec
