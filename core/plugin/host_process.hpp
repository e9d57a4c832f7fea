// Runs a short-lived helper (certhook-plugin-host describe) with posix_spawn: stdin /dev/null,
// stdout and stderr captured (bounded), descriptors 3+ closed, killed after `timeout`.
#pragma once
#include <chrono>
#include <string>
#include <vector>

namespace certhook {

struct CapturedRun {
  bool started = false;    // false: could not spawn (error in `error`)
  bool timed_out = false;  // killed with SIGKILL after the timeout
  int exit_code = -1;      // when it exited
  int signal = 0;          // when a signal ended it
  std::string out, err;    // at most 1 MiB each
  std::string error;
};

CapturedRun run_captured(const std::vector<std::string> &argv, std::chrono::milliseconds timeout);

}  // namespace certhook
