// One function per subcommand; main.cpp only parses arguments and dispatches.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "util/log.hpp"

namespace certhook::cli {

struct GlobalOptions {
  std::filesystem::path config_path;   // resolved: --config, $CERTHOOK_CONFIG, or the default
  bool json = false;
  Verbosity verbosity = Verbosity::normal;
  bool no_wait = false;
};

struct RunOptions { std::vector<std::string> names; bool dry_run = false; };
struct IssueOptions { std::string name; bool force = false; };
struct DeployOptions {
  std::string name;
  std::vector<std::string> hooks;
  bool force = false;
  bool dry_run = false;
};
struct StatusOptions { std::vector<std::string> names; bool check = false; };
struct PluginCommand { std::string action; std::string argument; };  // list|info NAME|install FILE|verify

int cmd_check(const GlobalOptions &g);
int cmd_plan(const GlobalOptions &g, const std::vector<std::string> &names);
int cmd_run(const GlobalOptions &g, const RunOptions &o);
int cmd_issue(const GlobalOptions &g, const IssueOptions &o);
int cmd_deploy(const GlobalOptions &g, const DeployOptions &o);
int cmd_status(const GlobalOptions &g, const StatusOptions &o);
int cmd_plugin(const GlobalOptions &g, const PluginCommand &o);
int cmd_certbot_hook(const GlobalOptions &g);

}  // namespace certhook::cli
