// certhook check: load and validate the configuration, hooks.d and path-source lineages;
// print every diagnostic in line order; exit 0 without errors (warnings allowed), else 2.
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <set>

#include "cli/commands.hpp"
#include "plugin/options.hpp"
#include "cli/output.hpp"
#include "config/config.hpp"
#include "plan/hooks_d.hpp"
#include "store/lineage.hpp"
#include "util/exit_status.hpp"

namespace certhook::cli {
namespace {

Diagnostic problem(SourceLocation where, std::string key, std::string message,
                   Severity sev = Severity::error) {
  return {std::move(where), std::move(key), std::move(message), sev};
}


// An exec hook's program must exist and be executable (PATH is searched for a bare name).
Diagnostics check_exec_hooks(const Config &cfg) {
  Diagnostics out;
  for (const auto &h : cfg.hooks) {
    if (h.type != "exec" || h.command.empty()) continue;
    const std::string &program = h.command[0];
    const Value *cmd = h.options.find("command");
    SourceLocation where = cmd ? cmd->where : h.where;
    std::string key = "hook." + (h.name.empty() ? std::string("?") : h.name) + ".options.command";
    if (program.find('/') != std::string::npos) {
      fs::path p = program;
      if (p.is_relative()) {
        out.push_back(problem(where, key,
                              "\"" + program + "\" is a relative path; give an absolute path (hooks "
                              "run with the working directory of certhook) or a bare name on PATH"));
      } else if (::access(p.c_str(), X_OK) != 0) {
        out.push_back(problem(where, key, "\"" + program + "\" does not exist or is not executable; "
                                                           "install it or fix the path"));
      }
      continue;
    }
    const char *path_env = std::getenv("PATH");
    std::string path = path_env ? path_env : "/usr/local/bin:/usr/bin:/bin";
    bool found = false;
    for (std::size_t b = 0; b <= path.size() && !found;) {
      std::size_t e = path.find(':', b);
      if (e == std::string::npos) e = path.size();
      fs::path dir = path.substr(b, e - b);
      if (!dir.empty()) found = ::access((dir / program).c_str(), X_OK) == 0;
      b = e + 1;
    }
    if (!found)
      out.push_back(problem(where, key, "\"" + program + "\" is not found on PATH; install it or "
                                                         "give its absolute path",
                            Severity::warning));
  }
  return out;
}

// Each path-source lineage must exist, be readable and have a key matching its certificate.
Diagnostics check_path_sources(const Config &cfg) {
  Diagnostics out;
  for (const auto &c : cfg.certificates) {
    if (c.acme || c.source.empty()) continue;
    std::string key = "certificate." + (c.name.empty() ? std::string("?") : c.name) + ".source";
    try {
      LineagePaths paths = locate_lineage(c.source);
      CertificateFacts facts = inspect_lineage(paths);
      if (!facts.key_matches)
        out.push_back(problem(c.source_where, key,
                              paths.key.string() + ": does not match " + paths.cert.string() +
                                  "; put the certificate's own private key in the lineage"));
      auto now = std::chrono::system_clock::now();
      if (facts.not_after < now)
        out.push_back(problem(c.source_where, key,
                              paths.cert.string() + ": expired at " + format_utc(facts.not_after) +
                                  "; renew it with the tool that manages it",
                              Severity::warning));
      if (!c.domains.empty()) {
        std::set<std::string> want(c.domains.begin(), c.domains.end());
        std::set<std::string> have;
        for (std::string n : facts.names) {
          std::transform(n.begin(), n.end(), n.begin(),
                         [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
          have.insert(n);
        }
        if (want != have) {
          std::string names;
          for (const auto &n : facts.names) names += (names.empty() ? "" : " ") + n;
          out.push_back(problem(c.source_where, key,
                                "the certificate's names (" + names +
                                    ") differ from domains; its names are used",
                                Severity::warning));
        }
      }
    } catch (const LineageError &e) {
      out.push_back(problem(c.source_where, key, e.what()));
    }
  }
  return out;
}

}  // namespace

int cmd_check(const GlobalOptions &g) {
  LoadResult loaded = load_config(g.config_path);
  Diagnostics all = loaded.all();
  if (loaded.config) {
    const Config &cfg = *loaded.config;
    HooksDirListing hooks_d = scan_hooks_dir(cfg.certhook.hooks_dir);
    for (auto *part : {&hooks_d.errors, &hooks_d.warnings}) all.insert(all.end(), part->begin(), part->end());
    for (auto extra : {check_exec_hooks(cfg), check_path_sources(cfg), check_plugins(cfg)})
      all.insert(all.end(), extra.begin(), extra.end());
  }
  sort_by_location(all);

  Diagnostics errors, warnings;
  for (const auto &d : all) (d.severity == Severity::error ? errors : warnings).push_back(d);
  const bool ok = errors.empty();
  if (g.json) {
    print_json({{"ok", ok}, {"errors", to_json(errors)}, {"warnings", to_json(warnings)}});
  } else {
    print_diagnostics(all);
    std::cout << g.config_path.string() << ": "
              << (ok ? "ok" : std::to_string(errors.size()) + (errors.size() == 1 ? " error" : " errors"))
              << (warnings.empty() ? ""
                                   : ", " + std::to_string(warnings.size()) +
                                         (warnings.size() == 1 ? " warning" : " warnings"))
              << "\n";
  }
  return ok ? exit_ok : exit_usage;
}

}  // namespace certhook::cli
