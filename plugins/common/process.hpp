// Running a server's own tools from a plugin: posix_spawn with an argv (never a shell), stdin from
// /dev/null, only descriptors 0-2 inherited, stdout and stderr captured together (bounded), and the
// child left in the plugin host's process group so certhook's timeout kills it too.
// Shared by the nginx and apache plugins; no certhook core code, only libc.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace certhook::plugins {

struct CommandResult {
  bool started = false;   // false: could not run at all (see `error`)
  int exit_code = -1;     // when exited normally
  int signal = 0;         // when killed by a signal
  std::string output;     // stdout+stderr interleaved, at most the last 64 KiB
  std::string error;      // why it did not start ("not found in PATH ...", strerror)
  bool ok() const { return started && signal == 0 && exit_code == 0; }
};

// Resolves argv[0] (without a slash) in PATH, then /usr/local/sbin, /usr/sbin, /sbin (servers
// live there and a hook's PATH may lack them). `extra_env` is added to (and overrides) the
// inherited environment. Blocks until the child exits; output is read until then, so a daemon
// that keeps the pipe open cannot stall the call.
CommandResult run_command(const std::vector<std::string> &argv,
                          const std::map<std::string, std::string> &extra_env = {});

// argv as a readable command line for messages: `nginx -p /srv/ -t` (arguments with spaces quoted).
std::string command_text(const std::vector<std::string> &argv);

// The output made one line: trimmed, blank lines dropped, lines joined by " | ", at most
// `max_chars` (the end is kept: servers print the decisive error last).
std::string one_line(const std::string &output, std::size_t max_chars = 2000);

// "exited with status 1", "was killed by signal 9 (Killed)", or the start error.
std::string describe_outcome(const CommandResult &result);

}  // namespace certhook::plugins
