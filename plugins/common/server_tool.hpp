// What the nginx and apache plugins share: the server's own control tool, run as
// `BINARY ARGS ...` (never through a shell), with the options binary, args, test_config and
// reload_command read and checked, and its failures turned into the wrapper's exceptions.
#pragma once
#include <certhook/plugin.hpp>

#include <initializer_list>
#include <map>
#include <string>
#include <vector>

#include "process.hpp"

namespace certhook::plugins {

using Argv = std::vector<std::string>;

// The words that differ between servers, as they appear in messages.
struct ServerNames {
  const char *label;           // message prefix: "nginx"
  const char *default_binary;  // "nginx"
  Argv reload_tail;            // {"-s", "reload"}: the default reload is BINARY ARGS TAIL
  const char *binary_hint;     // "nginx's": "set the hook's `binary` option to nginx's path"
  const char *service;         // "nginx": in the example reload_command
  const char *not_reloaded;    // "nginx was not reloaded"
};

class ServerTool {
 public:
  // Reads binary, args, test_config and reload_command; throws PermanentError for an empty
  // binary or reload_command. `env` is added to every command's environment.
  ServerTool(const Context &ctx, ServerNames names, std::map<std::string, std::string> env = {});

  Argv command(std::initializer_list<const char *> tail) const;
  // reload_command, or BINARY ARGS reload_tail.
  Argv reload_argv() const;
  CommandResult run(const Argv &argv) const { return run_command(argv, env_); }

  // "LABEL: WHAT: `argv` exited with status 1: OUTPUT; CONSEQUENCE", thrown as FAILED, or as
  // PERMANENT when the command could not start (a retry will not start it either).
  [[noreturn]] void fail(const std::string &what, const Argv &argv, const CommandResult &r,
                         const std::string &consequence) const;

  // `BINARY ARGS -t` unless test_config is off; throws when it fails.
  void test_config() const;
  // The preflight call: the configuration test only, with its outcome as the message.
  void preflight(const Context &ctx) const;

  const char *label() const { return names_.label; }

 private:
  ServerNames names_;
  std::map<std::string, std::string> env_;
  std::string binary_;
  Argv args_;
  bool test_config_;
  Argv reload_command_;  // empty: BINARY ARGS reload_tail
};

}  // namespace certhook::plugins
