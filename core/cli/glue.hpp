// Where the engine meets the optional parts: plugins, ACME issuance, TLS verification.
#pragma once
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cli/engine.hpp"
#include "exec/deploy.hpp"

namespace certhook::cli {

// Fills plugin-related fields of every non-exec hook (plugin file, batching, typed options,
// errors for unknown types or bad options).
void resolve_plugin_hooks(const Config &config, std::map<std::string, exec::ResolvedHook> &hooks);
std::filesystem::path plugin_host_binary();

// The live directory of an ACME-issued certificate, if it was ever issued.
std::optional<std::filesystem::path> current_live_dir(const std::filesystem::path &state_dir,
                                                      const std::string &name);

// Issues missing and renews due ACME certificates in scope; runs pre hooks before the first.
void acme_step(Engine &engine, const ReconcileRequest &request,
               const std::vector<const CertificateConfig *> &scope,
               std::map<std::string, CertificateJournal> &journals, Journal &journal_store,
               const std::vector<HooksDScript> &pre_scripts, ReconcileReport &report);

exec::Verifier make_verifier();

// Prefix of the marker every hook process of this state directory carries.
std::string state_marker(const std::filesystem::path &state_dir);

}  // namespace certhook::cli
