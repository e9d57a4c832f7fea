// Runs one hook process and guarantees it ends: argv (never a shell), stdin closed, only
// descriptors 0-2 inherited, its own process group, bounded output capture, and at the timeout
// SIGTERM then SIGKILL to everything it started (its group, its descendants, and anything that
// carries its marker variable, which finds daemons that called setsid and were re-parented).
#pragma once
#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "util/duration.hpp"

namespace certhook::exec {

// Set in every hook's environment with a value unique to the hook run; the value starts with the
// state directory's marker so that a later certhook can find what a killed one left running.
inline constexpr const char *marker_variable = "CERTHOOK_INVOCATION";

struct ProcessSpec {
  std::vector<std::string> argv;         // argv[0] is resolved against PATH from `env` when bare
  std::vector<std::string> env;          // the complete environment, "KEY=value"
  std::filesystem::path cwd;             // empty: certhook's own
  Duration timeout = std::chrono::minutes(5);
  Duration kill_grace = std::chrono::seconds(5);
  std::string marker;                    // value of marker_variable (added to env by run_process)
  int stdin_fd = -1;                     // the child's stdin (e.g. a memfd); -1: /dev/null
  std::size_t output_limit = 64 * 1024;  // bytes of output kept for the result; the rest is counted
  // Called from the running thread for each complete line of output (stdout and stderr merged).
  std::function<void(std::string_view line)> on_line;
};

struct ProcessResult {
  enum class Outcome { exited, signaled, timed_out, spawn_failed } outcome = Outcome::spawn_failed;
  int exit_code = -1;          // exited
  int signal = 0;              // signaled
  std::string output;          // the first output_limit bytes
  std::size_t output_bytes = 0;
  std::string error;           // spawn_failed: why
  Duration elapsed{0};

  bool ok() const { return outcome == Outcome::exited && exit_code == 0; }
  // "exited with status 3", "killed by SIGSEGV", "timed out after 5m; killed", "cannot run X: ..."
  std::string describe() const;
};

// Blocking; safe to call from several threads at once.
ProcessResult run_process(const ProcessSpec &spec);

// Makes this process the child subreaper, so that descendants of hooks that daemonize are
// re-parented here (and can be found and reaped) instead of to init.
void become_subreaper();

// Reaps re-parented descendants that have exited and are not being waited for by run_process.
void reap_orphans();

// Stops every process whose environment carries marker_variable with a value that starts with
// `marker_prefix` (hooks left running by a certhook that was killed). Returns how many were signalled.
int stop_marked_processes(std::string_view marker_prefix, Duration grace);

// Resolves a bare program name against a PATH value; returns it unchanged when it has a '/'.
std::filesystem::path resolve_program(const std::string &program, std::string_view path_value);

}  // namespace certhook::exec
