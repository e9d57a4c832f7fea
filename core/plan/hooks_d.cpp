#include "plan/hooks_d.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "util/permissions.hpp"

namespace certhook {
namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Why a file name is skipped, or nullptr when it is not.
const char *skipped_name(std::string_view name) {
  if (name.front() == '.') return "hidden file";
  if (ends_with(name, "~")) return "editor backup";
  static constexpr std::array<std::string_view, 5> leftovers = {
      ".dpkg-old", ".dpkg-dist", ".dpkg-new", ".rpmnew", ".rpmsave"};
  for (auto suffix : leftovers)
    if (ends_with(name, suffix)) return "package-manager leftover";
  return nullptr;
}

Diagnostic make(const fs::path &path, std::string key, std::string message, Severity sev) {
  return {{path.string(), 0, 0}, std::move(key), std::move(message), sev};
}

// unsafe_permissions says "PATH: problem; fix"; the path is already in where.file.
std::string without_path(const fs::path &path, std::string message) {
  std::string prefix = path.string() + ": ";
  if (message.rfind(prefix, 0) == 0) message.erase(0, prefix.size());
  return message;
}

// A directory that may contribute: exists, is a directory, has safe permissions.
bool usable_dir(const fs::path &dir, const std::string &key, HooksDirListing &out) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      struct stat lst {};
      if (::lstat(dir.c_str(), &lst) == 0)   // a dangling symlink is a mistake, not an absence
        out.errors.push_back(make(dir, key, "dangling symlink; fix or remove it", Severity::error));
      return false;
    }
    out.errors.push_back(make(dir, key, std::string("cannot access: ") + std::strerror(errno) +
                                            "; check its permissions",
                              Severity::error));
    return false;
  }
  if (!S_ISDIR(st.st_mode)) {
    out.errors.push_back(make(dir, key, "not a directory; hooks.d and its pre/, deploy/ and post/ "
                                        "must be directories",
                              Severity::error));
    return false;
  }
  if (auto problem = unsafe_permissions(dir)) {
    out.errors.push_back(make(dir, key, without_path(dir, *problem) +
                                            " (nothing in it runs until then)",
                              Severity::error));
    return false;
  }
  return true;
}

void scan_phase(const fs::path &dir, const std::string &phase, std::vector<HooksDirEntry> &entries,
                HooksDirListing &out) {
  const std::string phase_key = "hooks.d/" + phase;
  if (!usable_dir(dir, phase_key, out)) return;
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    names.push_back(it->path().filename().string());
  if (ec) {
    out.errors.push_back(make(dir, phase_key, "cannot list: " + ec.message() + "; check its permissions",
                              Severity::error));
    return;
  }
  std::sort(names.begin(), names.end());   // byte order: the C locale's collation
  for (const auto &name : names) {
    const fs::path path = dir / name;
    const std::string key = phase_key + "/" + name;
    auto warn = [&](const std::string &why) {
      out.warnings.push_back(make(path, key, why, Severity::warning));
    };
    if (const char *why = skipped_name(name)) {
      warn(std::string("skipped: ") + why + " (hidden files, *~, *.dpkg-old, *.dpkg-dist, *.dpkg-new, "
                                         "*.rpmnew and *.rpmsave never run)");
      continue;
    }
    struct stat lst {}, st {};
    if (::lstat(path.c_str(), &lst) != 0) continue;   // vanished while scanning
    if (::stat(path.c_str(), &st) != 0) {
      warn("skipped: dangling symlink; fix or remove it");
      continue;
    }
    if (!S_ISREG(st.st_mode)) {
      warn(std::string("skipped: ") + (S_ISDIR(st.st_mode) ? "a directory" : "not a regular file") +
           "; only executable files run");
      continue;
    }
    if (::access(path.c_str(), X_OK) != 0) {
      warn("skipped: not executable; make it executable (chmod +x " + path.string() +
           ") or move it out of " + dir.string());
      continue;
    }
    if (auto problem = unsafe_permissions(path)) {
      out.errors.push_back(make(path, key, without_path(path, *problem), Severity::error));
      continue;
    }
    entries.push_back({key, path});
  }
}

}  // namespace

HooksDirListing scan_hooks_dir(const fs::path &dir) {
  HooksDirListing out;
  if (!usable_dir(dir, "hooks.d", out)) return out;
  scan_phase(dir / "pre", "pre", out.pre, out);
  scan_phase(dir / "deploy", "deploy", out.deploy, out);
  scan_phase(dir / "post", "post", out.post, out);
  return out;
}

}  // namespace certhook
