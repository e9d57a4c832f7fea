#include "util/permissions.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace certhook {
namespace {

std::optional<std::string> check_stat(const std::string &shown, const struct stat &st) {
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    const char *who = (st.st_mode & S_IWOTH) ? "world" : "group";
    return shown + ": refused: " + who + "-writable; fix with: chmod go-w " + shown;
  }
  uid_t me = ::geteuid();
  if (st.st_uid != 0 && st.st_uid != me) {
    return shown + ": refused: owned by uid " + std::to_string(st.st_uid) +
           ", neither root nor the user running certhook; fix with: chown root " + shown;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> unsafe_permissions(const std::filesystem::path &path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return path.string() + ": cannot stat: " + std::strerror(errno);
  if (auto problem = check_stat(path.string(), st)) return problem;
  struct stat lst {};
  if (::lstat(path.c_str(), &lst) == 0 && S_ISLNK(lst.st_mode)) {
    // The link's own mode is always 0777 on Linux; only its owner matters.
    if (lst.st_uid != 0 && lst.st_uid != ::geteuid())
      return path.string() + ": refused: symlink owned by uid " + std::to_string(lst.st_uid) +
             "; fix with: chown -h root " + path.string();
  }
  return std::nullopt;
}

}  // namespace certhook
