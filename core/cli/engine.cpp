#include "cli/engine.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>

#include "cli/glue.hpp"
#include "cli/output.hpp"
#include "exec/process.hpp"
#include "plan/hooks_d.hpp"
#include "store/facts.hpp"
#include "store/state_lock.hpp"
#include "util/atomic_file.hpp"
#include "util/crypto.hpp"
#include "util/exit_status.hpp"

namespace certhook::cli {

namespace {

std::vector<HooksDScript> scripts(const std::vector<HooksDirEntry> &entries) {
  std::vector<HooksDScript> out;
  for (const auto &e : entries) out.push_back({e.key, e.path});
  return out;
}

Diagnostic certificate_error(const CertificateConfig &c, const std::string &message) {
  return Diagnostic{c.where, "certificate." + c.name, message};
}

}  // namespace

int ReconcileReport::exit_status() const {
  bool any_error = std::any_of(errors.begin(), errors.end(),
                               [](const Diagnostic &d) { return d.severity == Severity::error; });
  return failed.empty() && !any_error ? exit_ok : exit_failed;
}

nlohmann::json ReconcileReport::to_json() const {
  auto deployed_json = nlohmann::json::array();
  for (const auto &d : deployed) deployed_json.push_back({{"certificate", d.certificate}, {"hook", d.hook}});
  auto failed_json = nlohmann::json::array();
  for (const auto &f : failed)
    failed_json.push_back({{"certificate", f.certificate}, {"hook", f.hook}, {"error", f.error}});
  return {{"issued", issued},
          {"renewed", renewed},
          {"deployed", deployed_json},
          {"failed", failed_json},
          {"errors", cli::to_json(errors)},
          {"dry_run", dry_run}};
}

void ReconcileReport::print_text() const {
  // Under --dry-run nothing was issued or deployed: say what would be.
  for (const auto &n : issued) std::cout << (dry_run ? "would issue: " : "issued: ") << n << "\n";
  for (const auto &n : renewed) std::cout << (dry_run ? "would renew: " : "renewed: ") << n << "\n";
  for (const auto &d : deployed)
    std::cout << (dry_run ? "would deploy: " : "deployed: ") << d.certificate << ": " << d.hook << "\n";
  for (const auto &f : failed)
    std::cout << "failed: " << f.certificate << (f.hook.empty() ? "" : ": " + f.hook) << ": " << f.error << "\n";
  if (issued.empty() && renewed.empty() && deployed.empty() && failed.empty() && errors.empty())
    std::cout << "nothing to do: every enabled hook has deployed the current certificate\n";
}

Engine::Engine(const GlobalOptions &g) : g_(g) {}

bool Engine::load() {
  LoadResult r = load_config(g_.config_path);
  bool fatal = !r.fatal.empty() || !r.config;
  if (fatal) {
    if (g_.json) print_json({{"ok", false}, {"errors", to_json(r.fatal)}});
    else print_diagnostics(r.fatal);
    return false;
  }
  for (const auto &w : r.warnings) spdlog::warn("{}", w.to_string(false));
  config_ = std::move(r.config);
  auto listing = scan_hooks_dir(config_->certhook.hooks_dir);
  for (const auto &w : listing.warnings) spdlog::warn("{}", w.to_string(false));
  hooks_d_errors_ = listing.errors;
  pre_ = scripts(listing.pre);
  deploy_ = scripts(listing.deploy);
  post_ = scripts(listing.post);
  resolve_hooks();
  return true;
}

void Engine::resolve_hooks() {
  hooks_.clear();
  for (const auto &h : config_->hooks) {
    exec::ResolvedHook r;
    r.config = &h;
    for (const auto &e : h.errors) r.errors.push_back(e.to_string());
    for (const auto &[key, value] : h.env) r.secrets.push_back(value);   // env values are secrets
    hooks_[h.name] = std::move(r);
  }
  resolve_plugin_hooks(*config_, hooks_);
  for (auto &[name, r] : hooks_)
    if (r.config_hash.empty()) r.config_hash = exec::hook_config_hash(*r.config, r.options_json);
}

bool Engine::check_names(const std::vector<std::string> &names) const {
  for (const auto &n : names) {
    if (config_->find_certificate(n)) continue;
    std::string known;
    for (const auto &c : config_->certificates) known += (known.empty() ? "" : ", ") + c.name;
    std::string msg = n + ": no such certificate in " + config_->file.string() +
                      (known.empty() ? "" : " (configured: " + known + ")");
    if (g_.json) print_json({{"errors", nlohmann::json::array({to_json(Diagnostic{{}, "", msg})})}});
    else std::cerr << "certhook: " << msg << "\n";
    return false;
  }
  return true;
}

std::vector<const CertificateConfig *> Engine::in_scope(const std::vector<std::string> &names) const {
  std::vector<const CertificateConfig *> out;
  for (const auto &c : config_->certificates)
    if (names.empty() || std::find(names.begin(), names.end(), c.name) != names.end()) out.push_back(&c);
  return out;
}

bool Engine::hook_deployed(const std::string &hook, const CertificateJournal &j, const std::string &fp) const {
  auto it = j.hooks.find(hook);
  if (it == j.hooks.end() || it->second.deployed_fingerprint != fp) return false;
  auto resolved = hooks_.find(hook);
  std::string hash = resolved == hooks_.end() ? "" : resolved->second.config_hash;
  return it->second.config_hash == hash;
}

bool Engine::prepare_certificate(const CertificateConfig &c, CertificateJournal &journal,
                                 exec::CertificateContext &out, std::string &error, bool write_allowed) {
  out.config = &c;
  if (!c.errors.empty()) {
    for (const auto &e : c.errors) error += (error.empty() ? "" : "; ") + e.to_string();
    return false;
  }
  try {
    fs::path dir;
    if (c.acme) {
      auto live = current_live_dir(config_->certhook.state_dir, c.name);
      if (!live) {
        error = "not issued yet; `certhook run` or `certhook issue " + c.name + "` obtains it";
        return false;
      }
      dir = *live;
    } else {
      dir = c.source;
    }
    out.paths = locate_lineage(dir);
    bool inspected = false;
    out.facts = current_facts(out.paths, journal.facts, &inspected);
    if (inspected && !c.acme && !c.domains.empty()) {
      for (const auto &d : c.domains)
        if (std::find(out.facts.names.begin(), out.facts.names.end(), d) == out.facts.names.end())
          spdlog::warn("{}: configured domain {} is not in the certificate's names ({}); the "
                       "certificate's names are used", c.name, d, fmt::join(out.facts.names, " "));
    }
    if (!out.facts.key_matches) {
      error = out.paths.key.string() + ": private key does not match " + out.paths.cert.string() +
              "; fix the lineage before any hook can deploy it";
      return false;
    }
    // certbot's layout always has chain and fullchain; other tools' may not: derive them.
    if (!out.paths.has_chain || !out.paths.has_fullchain) {
      fs::path derived = config_->certhook.state_dir / "derived" / c.name;
      std::string cert_pem = read_file(out.paths.cert);
      std::string chain_pem = out.paths.has_chain ? read_file(out.paths.chain) : "";
      if (write_allowed) {
        fs::create_directories(derived);
        if (!out.paths.has_chain) write_file_atomic(derived / "chain.pem", chain_pem, 0644, false);
        if (!out.paths.has_fullchain) write_file_atomic(derived / "fullchain.pem", cert_pem + chain_pem, 0644, false);
      }
      if (!out.paths.has_chain) out.paths.chain = derived / "chain.pem";
      if (!out.paths.has_fullchain) out.paths.fullchain = derived / "fullchain.pem";
    }
  } catch (const std::exception &e) {
    error = e.what();
    return false;
  }
  return true;
}

ReconcileReport Engine::reconcile(const ReconcileRequest &req) {
  ReconcileReport report;
  report.dry_run = req.dry_run;
  const fs::path state_dir = config_->certhook.state_dir;
  run_marker_ = state_marker(state_dir) + "-dry-" + std::to_string(::getpid());
  std::optional<StateLock> lock;   // declared first: released after the registration is removed
  // Removed when the run ends normally, in any way; left behind only when certhook is killed.
  fs::path registration;
  struct Unregister {
    fs::path &path;
    ~Unregister() {
      std::error_code ec;
      if (!path.empty()) fs::remove(path, ec);
    }
  } unregister{registration};
  if (!req.dry_run) {
    std::string holder;
    lock = StateLock::acquire(state_dir, !g_.no_wait, req.command, &holder);
    if (!lock) {
      report.errors.push_back(Diagnostic{{}, "", (state_dir / "lock").string() + ": held by " + holder +
                                                     "; try again later, or drop --no-wait to wait"});
      return report;
    }
    // Every process a run starts carries a marker beginning with the run's id, and the run is
    // registered in STATE/running/ until it ends. A registration left behind means that certhook
    // was killed: what its hooks left running is stopped before anything else runs. (Daemons
    // started by hooks of runs that ended normally are not touched.)
    std::error_code ec;
    const fs::path running = state_dir / "running";
    for (const auto &entry : fs::directory_iterator(running, ec)) {
      int stopped = exec::stop_marked_processes(entry.path().filename().string(), std::chrono::seconds(5));
      if (stopped > 0)
        spdlog::warn("certhook: stopped {} process(es) left running by an earlier certhook that was killed", stopped);
      fs::remove(entry.path(), ec);
    }
    run_marker_ = state_marker(state_dir) + "-" + std::to_string(::getpid()) + "-" +
                  std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
    fs::create_directories(running);
    write_file_atomic(running / run_marker_, "", 0600, false);
    registration = running / run_marker_;
  }
  exec::become_subreaper();
  for (const auto &e : hooks_d_errors_) report.errors.push_back(e);

  Journal journal_store(state_dir);
  auto scope = in_scope(req.names);
  std::map<std::string, CertificateJournal> journals;
  std::map<std::string, exec::CertificateContext> contexts;
  std::vector<const CertificateConfig *> ready;

  for (const auto *c : scope) {
    std::string warning;
    journals[c->name] = journal_store.load(c->name, &warning);
    if (!warning.empty()) spdlog::warn("{}", warning);
  }

  // ACME first: issue missing certificates, renew due ones (pre hooks before the first).
  if (req.acme) acme_step(*this, req, scope, journals, journal_store, pre_, report);

  std::vector<std::string> failed_certs;
  for (const auto *c : scope) {
    auto &journal = journals[c->name];
    std::optional<CachedFacts> before = journal.facts;
    exec::CertificateContext ctx;
    std::string error;
    if (!prepare_certificate(*c, journal, ctx, error, !req.dry_run)) {
      if (req.dry_run && std::find(report.issued.begin(), report.issued.end(), c->name) != report.issued.end()) {
        spdlog::info("{}: its hooks would deploy the certificate once it is issued", c->name);
        continue;
      }
      failed_certs.push_back(c->name);
      // A certificate whose issuance just failed is reported once, by the ACME step.
      bool reported = std::any_of(report.failed.begin(), report.failed.end(), [&](const auto &f) {
        return f.certificate == c->name && f.hook.empty();
      });
      if (reported) continue;
      report.failed.push_back({c->name, "", error});
      // Configuration problems already carry their file:line; others get the certificate's.
      if (!c->errors.empty()) report.errors.insert(report.errors.end(), c->errors.begin(), c->errors.end());
      else report.errors.push_back(certificate_error(*c, error));
      spdlog::error("{}", error);
      continue;
    }
    ctx.reason = !req.reason_override.empty() ? req.reason_override
                 : journal.origin && journal.origin->fingerprint == ctx.facts.fingerprint
                     ? journal.origin->reason
                     : "redeploy";
    contexts[c->name] = ctx;
    ready.push_back(c);
    // Forget hooks that are no longer enabled: enabling one again must redeploy.
    std::set<std::string> keep(c->hooks.begin(), c->hooks.end());
    if (c->hooks_d)
      for (const auto &s : deploy_) keep.insert(s.key);
    bool pruned = false;
    for (auto it = journal.hooks.begin(); it != journal.hooks.end();) {
      if (!keep.count(it->first)) {
        it = journal.hooks.erase(it);
        pruned = true;
      } else {
        ++it;
      }
    }
    bool facts_changed = !before || before->fingerprint != journal.facts->fingerprint ||
                         before->key_digest != journal.facts->key_digest ||
                         before->cert_signature != journal.facts->cert_signature;
    if (!req.dry_run && (pruned || facts_changed)) journal_store.save(c->name, journal, false);
  }

  PlanInput input;
  input.config = &*config_;
  input.certificates = ready;
  input.hooks_d_deploy = deploy_;
  input.is_batching = [this](const HookConfig &h) { return hooks_.at(h.name).batching; };
  input.include = [&](const std::string &cert, const std::string &hook) {
    if (!req.only_hooks.empty() &&
        std::find(req.only_hooks.begin(), req.only_hooks.end(), hook) == req.only_hooks.end())
      return false;
    if (req.force_deploy) return true;
    return !hook_deployed(hook, journals[cert], contexts[cert].facts.fingerprint);
  };
  Plan plan = build_plan(input);
  if (plan.nodes.empty()) spdlog::debug("certhook: no pending hooks");

  exec::DeployOptions options;
  options.dry_run = req.dry_run;
  options.plugin_host = plugin_host_binary();
  options.state_dir = state_dir;
  options.marker_prefix = run_marker_;
  options.verifier = make_verifier();
  exec::Deployer deployer(*config_, hooks_, contexts, journals, journal_store, options);
  for (auto &o : deployer.run(plan)) (o.error.empty() ? report.deployed : report.failed).push_back(std::move(o));

  // Post hooks: once, only when something was issued or deployed.
  std::set<std::string> failed_set(failed_certs.begin(), failed_certs.end());
  for (const auto &f : report.failed) failed_set.insert(f.certificate);
  std::set<std::string> deployed_set;
  for (const auto &d : report.deployed)
    if (!failed_set.count(d.certificate)) deployed_set.insert(d.certificate);
  bool changed = !report.issued.empty() || !report.renewed.empty() || !report.deployed.empty();
  if (changed && !post_.empty()) {
    auto errors = deployer.run_phase_scripts(
        "post", post_, {deployed_set.begin(), deployed_set.end()}, {failed_set.begin(), failed_set.end()});
    for (const auto &e : errors) report.errors.push_back(Diagnostic{{}, "hooks.d/post", e});
  }
  return report;
}

}  // namespace certhook::cli

namespace certhook::cli {

namespace {

const char *hook_state(const HookRecord *rec, bool deployed) {
  if (deployed) return "deployed";
  if (rec && rec->attempts > 0) return "failed";
  return "pending";
}

}  // namespace

nlohmann::json Engine::status_json(const std::vector<std::string> &names, bool &attention) {
  attention = false;
  Journal journal_store(config_->certhook.state_dir);
  auto certs = nlohmann::json::array();
  const auto now = std::chrono::system_clock::now();
  for (const auto *c : in_scope(names)) {
    CertificateJournal journal = journal_store.load(c->name);
    exec::CertificateContext ctx;
    std::string error;
    nlohmann::json entry = {{"name", c->name},
                            {"domains", c->domains},
                            {"source", c->acme ? "acme" : c->source.string()}};
    bool ok = prepare_certificate(*c, journal, ctx, error, false);
    if (!ok) {
      attention = true;
      entry["error"] = error;
      entry["fingerprint"] = nullptr;
      entry["not_after"] = nullptr;
    } else {
      entry["domains"] = ctx.facts.names;
      entry["fingerprint"] = ctx.facts.fingerprint;
      entry["not_after"] = ctx.facts.not_after;
      // Expiring within renew_before needs attention too.
      std::tm tm{};
      if (::strptime(ctx.facts.not_after.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm)) {
        auto not_after = std::chrono::system_clock::from_time_t(::timegm(&tm));
        if (not_after - now < c->renew_before) {
          attention = true;
          entry["expires_soon"] = true;
        }
      }
    }
    auto hooks = nlohmann::json::array();
    auto add = [&](const std::string &name, const std::string &type) {
      auto it = journal.hooks.find(name);
      const HookRecord *rec = it == journal.hooks.end() ? nullptr : &it->second;
      bool deployed = ok && hook_deployed(name, journal, ctx.facts.fingerprint);
      const char *state = hook_state(rec, deployed);
      if (!deployed) attention = true;
      hooks.push_back({{"name", name},
                       {"type", type},
                       {"state", state},
                       {"deployed_fingerprint", rec && !rec->deployed_fingerprint.empty()
                                                    ? nlohmann::json(rec->deployed_fingerprint)
                                                    : nlohmann::json()},
                       {"attempts", rec ? rec->attempts : 0},
                       {"last_error", rec ? rec->last_error : ""}});
    };
    for (const auto &h : c->hooks) {
      const HookConfig *hc = config_->find_hook(h);
      add(h, hc ? hc->type : "unknown");
    }
    if (c->hooks_d)
      for (const auto &s : deploy_) add(s.key, "hooks.d");
    entry["hooks"] = hooks;
    if (journal.issuance.failures > 0) {
      entry["issuance"] = {{"failures", journal.issuance.failures},
                           {"last_error", journal.issuance.last_error},
                           {"next_attempt", journal.issuance.next_attempt}};
      attention = true;
    }
    certs.push_back(entry);
  }
  return {{"certificates", certs}};
}

nlohmann::json Engine::plan_json(const std::vector<std::string> &names) {
  Journal journal_store(config_->certhook.state_dir);
  std::map<std::string, CertificateJournal> journals;
  std::map<std::string, exec::CertificateContext> contexts;
  std::vector<const CertificateConfig *> scope = in_scope(names), ready;
  auto certs = nlohmann::json::array();
  std::map<std::string, std::string> errors;
  for (const auto *c : scope) {
    journals[c->name] = journal_store.load(c->name);
    std::string error;
    if (prepare_certificate(*c, journals[c->name], contexts[c->name], error, false)) ready.push_back(c);
    else errors[c->name] = error;
  }
  PlanInput input;
  input.config = &*config_;
  input.certificates = scope;   // the plan shows every certificate, issued or not
  input.hooks_d_deploy = deploy_;
  input.is_batching = [this](const HookConfig &h) { return hooks_.at(h.name).batching; };
  Plan plan = build_plan(input);
  for (const auto *c : scope) {
    const auto &ctx = contexts[c->name];
    auto stages = nlohmann::json::array();
    for (const auto &stage : certificate_stages(plan, c->name)) {
      auto s = nlohmann::json::array();
      for (std::size_t i : stage) {
        const auto &node = plan.nodes[i];
        bool prepared = !errors.count(c->name);
        auto it = journals[c->name].hooks.find(node.hook);
        const HookRecord *rec = it == journals[c->name].hooks.end() ? nullptr : &it->second;
        bool deployed = prepared && hook_deployed(node.hook, journals[c->name], ctx.facts.fingerprint);
        s.push_back({{"hook", node.hook},
                     {"type", node.config ? node.config->type : "hooks.d"},
                     {"batching", node.batching},
                     {"state", hook_state(rec, deployed)}});
      }
      stages.push_back(s);
    }
    nlohmann::json entry = {{"name", c->name},
                            {"fingerprint", errors.count(c->name) ? nlohmann::json() : nlohmann::json(ctx.facts.fingerprint)},
                            {"stages", stages}};
    if (errors.count(c->name)) entry["error"] = errors[c->name];
    certs.push_back(entry);
  }
  auto keys = [](const std::vector<HooksDScript> &v) {
    auto a = nlohmann::json::array();
    for (const auto &s : v) a.push_back(s.key);
    return a;
  };
  return {{"certificates", certs}, {"pre", keys(pre_)}, {"post", keys(post_)}};
}

}  // namespace certhook::cli
