// Placeholder until this subcommand's issue lands: refuses clearly rather than pretending.
#include <iostream>

#include "cli/commands.hpp"
#include "util/exit_status.hpp"

namespace certhook::cli {

int cmd_issue(const GlobalOptions &, const IssueOptions &) {
  std::cerr << "certhook: issue: not available in this build yet\n";
  return exit_usage;
}

}  // namespace certhook::cli
