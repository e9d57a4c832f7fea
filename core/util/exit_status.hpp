// The exit-status contract (DESIGN.md §5).
#pragma once

namespace certhook {

enum ExitStatus : int {
  exit_ok = 0,        // success, whether or not anything changed
  exit_failed = 1,    // something failed at run time; everything unaffected still ran
  exit_usage = 2,     // bad usage, or a configuration that cannot be loaded; nothing was done
};

}  // namespace certhook
