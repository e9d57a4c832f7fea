// hooks.d discovery (DESIGN §6 "hooks.d"): which executables of hooks_dir/{pre,deploy,post} run,
// in which order, and what was skipped or refused.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "util/diagnostic.hpp"

namespace certhook {

namespace fs = std::filesystem;

struct HooksDirEntry {
  std::string key;   // journal key, e.g. "hooks.d/deploy/reload.sh"
  fs::path path;     // hooks_dir/deploy/reload.sh (not resolved: a symlink stays a symlink)
};

struct HooksDirListing {
  std::vector<HooksDirEntry> pre, deploy, post;   // each in lexical (C-locale, byte) order
  Diagnostics warnings;   // skipped entries: hidden, backups, package leftovers, not executable...
  Diagnostics errors;     // refused: unsafe permissions or ownership, unreadable directories
};

// Every executable regular file, or symlink to one, runs whatever its name's extension.
// Skipped with a warning: hidden files, "*~", "*.dpkg-old", "*.dpkg-dist", "*.dpkg-new",
// "*.rpmnew", "*.rpmsave", non-executable and non-regular entries, dangling symlinks.
// Refused with an error (the entry, or a whole phase/hooks dir, contributes nothing): a
// group/world-writable or foreign-owned hooks dir, phase dir or file (util/permissions.hpp).
// A missing hooks dir or phase dir contributes nothing and is not reported.
// Diagnostics carry the path in where.file and the journal-style key ("hooks.d/deploy/x").
HooksDirListing scan_hooks_dir(const fs::path &dir);

}  // namespace certhook
