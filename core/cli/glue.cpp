#include "cli/glue.hpp"

#include <unistd.h>

#include <algorithm>
#include <ctime>

#include <spdlog/spdlog.h>

#include "acme/issue.hpp"
#include "store/facts.hpp"
#include "store/lineage.hpp"
#include "store/live_store.hpp"

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
      for (const auto &spec : p.plugin->options) {
        if (!spec.secret) continue;
        auto it = p.options.find(spec.key);
        if (it != p.options.end() && it->is_string()) r.secrets.push_back(it->get<std::string>());
      }
    }
    r.options_json = p.options.dump();
  }
}

std::filesystem::path plugin_host_binary() { return plugin_host_path(); }

std::optional<std::filesystem::path> current_live_dir(const std::filesystem::path &state_dir,
                                                      const std::string &name) {
  return live_dir(state_dir, name);
}

namespace {

using Clock = std::chrono::system_clock;

std::optional<Clock::time_point> parse_utc(const std::string &text) {
  std::tm tm{};
  if (text.empty() || !::strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm)) return std::nullopt;
  return Clock::from_time_t(::timegm(&tm));
}

// Validity of the live certificate, from the journal's cached facts while its files are unchanged.
std::optional<std::pair<Clock::time_point, Clock::time_point>> validity(const fs::path &live,
                                                                       CertificateJournal &journal) {
  CachedFacts facts = current_facts(locate_lineage(live), journal.facts);
  auto nb = parse_utc(facts.not_before), na = parse_utc(facts.not_after);
  if (!nb || !na) return std::nullopt;
  return std::make_pair(*nb, *na);
}

// Issuance backoff across runs: an hour after the first failure, doubling, capped at a day.
Clock::time_point next_attempt_after(int failures) {
  auto wait = std::chrono::hours(1);
  for (int i = 1; i < failures && wait < std::chrono::hours(24); ++i) wait *= 2;
  return Clock::now() + std::min<Clock::duration>(wait, std::chrono::hours(24));
}

}  // namespace

void acme_step(Engine &engine, const ReconcileRequest &req,
               const std::vector<const CertificateConfig *> &scope,
               std::map<std::string, CertificateJournal> &journals, Journal &journal_store,
               const std::vector<HooksDScript> &pre_scripts, ReconcileReport &report) {
  const Config &config = engine.config();
  const fs::path state_dir = config.certhook.state_dir;
  bool pre_done = false;
  for (const auto *c : scope) {
    if (!c->acme || !c->errors.empty()) continue;
    auto &journal = journals[c->name];
    auto live = live_dir(state_dir, c->name);
    std::string reason;
    try {
      if (!live) {
        reason = "issued";
      } else if (auto v = validity(*live, journal)) {
        auto lifetime = v->second - v->first;
        if (lifetime <= c->renew_before)
          spdlog::warn("{}: renew_before ({}) is not shorter than the certificate's lifetime; it "
                       "will be renewed on every run", c->name, format_duration(c->renew_before));
        if (req.force_issue || renewal_due(v->first, v->second, c->renew_before, Clock::now()))
          reason = "renewed";
      } else if (req.force_issue) {
        reason = "renewed";
      }
    } catch (const std::exception &e) {
      // A damaged live lineage is replaced by a fresh issuance.
      spdlog::warn("{}: {}; issuing a new certificate", c->name, e.what());
      reason = "renewed";
    }
    if (reason.empty()) continue;

    if (!req.ignore_backoff && !journal.issuance.next_attempt.empty()) {
      auto next = parse_utc(journal.issuance.next_attempt);
      if (next && *next > Clock::now()) {
        std::string msg = "issuance failed " + std::to_string(journal.issuance.failures) +
                          " time(s) (last: " + journal.issuance.last_error + "); backing off until " +
                          journal.issuance.next_attempt + " (certhook issue " + c->name +
                          " tries now)";
        spdlog::warn("{}: {}", c->name, msg);
        report.failed.push_back({c->name, "", msg});
        continue;
      }
    }
    if (req.dry_run) {
      spdlog::info("{}: would be {} (dry run: no ACME traffic)", c->name, reason);
      (reason == "issued" ? report.issued : report.renewed).push_back(c->name);
      continue;
    }
    if (!pre_done && !pre_scripts.empty()) {
      pre_done = true;
      std::map<std::string, exec::ResolvedHook> no_hooks;
      std::map<std::string, exec::CertificateContext> no_certs;
      std::map<std::string, CertificateJournal> no_journals;
      exec::DeployOptions options;
      options.state_dir = state_dir;
      options.marker_prefix = engine.run_marker();
      exec::Deployer runner(config, no_hooks, no_certs, no_journals, journal_store, options);
      for (const auto &e : runner.run_phase_scripts("pre", pre_scripts, {}, {}))
        report.errors.push_back(Diagnostic{{}, "hooks.d/pre", e});
    }
    pre_done = true;

    spdlog::info("{}: {} certificate for {}", c->name, reason == "issued" ? "issuing a" : "renewing the",
                 fmt::join(c->domains, " "));
    IssueRequest issue;
    issue.name = c->name;
    issue.domains = c->domains;
    issue.acme = config.acme;
    issue.challenge = c->challenge;
    issue.key_type = c->key_type;
    issue.reuse_key = c->reuse_key;
    issue.state_dir = state_dir;
    IssueOutcome outcome = issue_certificate(issue);
    if (outcome.ok) {
      journal.issuance = {};
      try {
        journal.origin = Origin{leaf_fingerprint(outcome.live_dir / "cert.pem"), reason};
      } catch (const std::exception &e) {
        spdlog::warn("{}: {}", c->name, e.what());
      }
      (reason == "issued" ? report.issued : report.renewed).push_back(c->name);
      spdlog::info("{}: {}", c->name, reason);
    } else {
      journal.issuance.failures += 1;
      journal.issuance.last_error = outcome.error;
      journal.issuance.next_attempt = format_utc(next_attempt_after(journal.issuance.failures));
      std::string msg = outcome.error + " (next automatic attempt after " + journal.issuance.next_attempt + ")";
      spdlog::error("{}: {}", c->name, msg);
      report.failed.push_back({c->name, "", msg});
    }
    journal_store.save(c->name, journal, true);
  }
}

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
