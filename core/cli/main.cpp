// certhook: argument parsing and dispatch only; each subcommand lives in its own file.
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "util/exit_status.hpp"

#ifndef CERTHOOK_VERSION
#define CERTHOOK_VERSION "0.0.0"
#endif

using namespace certhook;
using namespace certhook::cli;

namespace {

std::filesystem::path default_config_path() {
  if (const char *env = std::getenv("CERTHOOK_CONFIG"); env && *env) return env;
  return "/etc/certhook/certhook.toml";
}

int usage_error(bool json, const std::string &message) {
  if (json) {
    print_json({{"ok", false},
                {"errors", nlohmann::json::array({to_json(Diagnostic{{}, "", message})})}});
  } else {
    std::cerr << "certhook: " << message << "\n";
  }
  return exit_usage;
}

}  // namespace

int main(int argc, char **argv) {
  CLI::App app{"certhook: obtain, renew and deploy TLS certificates through typed hooks"};
  app.fallthrough();
  app.require_subcommand(1);
  app.set_version_flag("--version", CERTHOOK_VERSION);

  GlobalOptions g;
  std::string config;
  bool verbose = false, quiet = false;
  app.add_option("--config", config, "configuration file (default $CERTHOOK_CONFIG or "
                                     "/etc/certhook/certhook.toml)");
  app.add_flag("--json", g.json, "print exactly one JSON object on stdout");
  app.add_flag("-v,--verbose", verbose, "more detail in the log");
  app.add_flag("-q,--quiet", quiet, "only warnings and errors in the log");
  app.add_flag("--no-wait", g.no_wait, "exit 1 at once when another certhook holds the state lock");

  auto *check = app.add_subcommand("check", "validate config, plugins, options, hooks.d and ordering; "
                                            "change nothing");
  std::vector<std::string> plan_names;
  auto *plan = app.add_subcommand("plan", "show the ordered stages per certificate; change nothing");
  plan->add_option("NAME", plan_names, "certificates (default: all)");

  RunOptions run_opts;
  auto *run = app.add_subcommand("run", "issue missing certificates, renew due ones, deploy pending ones");
  run->add_option("NAME", run_opts.names, "certificates (default: all)");
  run->add_flag("--dry-run", run_opts.dry_run, "no ACME traffic, no state written; show what would happen");

  IssueOptions issue_opts;
  auto *issue = app.add_subcommand("issue", "obtain NAME if missing or due, then deploy it");
  issue->add_option("NAME", issue_opts.name, "certificate")->required();
  issue->add_flag("--force", issue_opts.force, "obtain a new certificate even when not due");

  DeployOptions deploy_opts;
  auto *deploy = app.add_subcommand("deploy", "run NAME's pending hooks now, then post hooks");
  deploy->add_option("NAME", deploy_opts.name, "certificate")->required();
  deploy->add_option("--hook", deploy_opts.hooks, "only these hooks (repeatable)");
  deploy->add_flag("--force", deploy_opts.force, "run every enabled hook, deployed or not");
  deploy->add_flag("--dry-run", deploy_opts.dry_run, "preflight only; write no state");

  StatusOptions status_opts;
  auto *status = app.add_subcommand("status", "certificates, expiry and per-hook deploy state");
  status->add_option("NAME", status_opts.names, "certificates (default: all)");
  status->add_flag("--check", status_opts.check,
                   "exit 1 when anything is pending, failed or expires within renew_before");

  PluginCommand plugin_cmd;
  auto *plugin = app.add_subcommand("plugin", "list, describe, install and verify plugins");
  plugin->require_subcommand(1);
  plugin->add_subcommand("list", "installed plugins")->callback([&] { plugin_cmd.action = "list"; });
  auto *pinfo = plugin->add_subcommand("info", "a plugin's option schema");
  pinfo->add_option("NAME", plugin_cmd.argument, "plugin name")->required();
  pinfo->callback([&] { plugin_cmd.action = "info"; });
  auto *pinstall = plugin->add_subcommand("install", "validate, copy and pin a plugin file");
  pinstall->add_option("FILE", plugin_cmd.argument, "the plugin's .so")->required();
  pinstall->callback([&] { plugin_cmd.action = "install"; });
  plugin->add_subcommand("verify", "exit 1 when a pinned plugin's bytes changed")
      ->callback([&] { plugin_cmd.action = "verify"; });

  auto *certbot = app.add_subcommand("certbot-hook", "for certbot --deploy-hook: deploy RENEWED_LINEAGE");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp &e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp &e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion &e) {
    return app.exit(e);
  } catch (const CLI::ParseError &e) {
    bool json = false;
    for (int i = 1; i < argc; ++i) json = json || std::string_view(argv[i]) == "--json";
    return usage_error(json, e.what() + std::string("; see certhook --help"));
  }
  if (verbose && quiet) return usage_error(g.json, "-v and -q exclude each other");
  g.verbosity = verbose ? Verbosity::verbose : quiet ? Verbosity::quiet : Verbosity::normal;
  g.config_path = config.empty() ? default_config_path() : std::filesystem::path(config);
  init_logging(g.verbosity);

  try {
    if (*check) return cmd_check(g);
    if (*plan) return cmd_plan(g, plan_names);
    if (*run) return cmd_run(g, run_opts);
    if (*issue) return cmd_issue(g, issue_opts);
    if (*deploy) return cmd_deploy(g, deploy_opts);
    if (*status) return cmd_status(g, status_opts);
    if (*plugin) return cmd_plugin(g, plugin_cmd);
    if (*certbot) return cmd_certbot_hook(g);
  } catch (const std::exception &e) {
    // Last resort: every expected problem is reported where it happens, with its exit status.
    if (g.json) print_json({{"errors", nlohmann::json::array({to_json(Diagnostic{{}, "", e.what()})})}});
    else std::cerr << "certhook: " << e.what() << "\n";
    return exit_failed;
  }
  return exit_usage;
}
