// Runs a program to completion for a test: argv (no shell), stdout and stderr captured together.
#pragma once
#include <string>
#include <vector>

namespace certhook::test {

struct CommandResult {
  int exit_code = -1;   // 128 + signal when killed by one
  std::string output;   // stdout + stderr
};

// argv[0] is a path (no PATH search).
CommandResult run_command(const std::vector<std::string> &argv);

}  // namespace certhook::test
