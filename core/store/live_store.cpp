#include "store/live_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <random>
#include <system_error>
#include <vector>

#include "config/config.hpp"
#include "util/atomic_file.hpp"

namespace certhook {

namespace {

[[noreturn]] void fail(const fs::path &path, const std::string &problem, int err = 0) {
  std::string msg = "live store: " + path.string() + ": " + problem;
  if (err) msg += ": " + std::string(std::strerror(err));
  throw LiveStoreError(msg);
}


void ensure_dir(const fs::path &dir, mode_t mode) {
  if (::mkdir(dir.c_str(), mode) != 0 && errno != EEXIST) fail(dir, "cannot create directory", errno);
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) fail(dir, "cannot stat", errno);
  if (!S_ISDIR(st.st_mode)) fail(dir, "exists but is not a directory; move it away");
  if ((st.st_mode & 07777) != mode && ::chmod(dir.c_str(), mode) != 0) fail(dir, "cannot set mode", errno);
}

void write_synced(const fs::path &path, const std::string &content, mode_t mode) {
  try {
    write_new_file(path, content, mode, true);
  } catch (const std::system_error &e) {
    throw LiveStoreError(std::string("live store: ") + e.what());
  }
}

void sync_dir(const fs::path &dir) {
  try {
    sync_directory(dir);
  } catch (const std::system_error &e) {
    throw LiveStoreError(std::string("live store: ") + e.what());
  }
}

// Numbered version directories in archive/<name>, ascending.
std::vector<int> versions(const fs::path &archive) {
  std::vector<int> out;
  std::error_code ec;
  for (const auto &e : fs::directory_iterator(archive, ec)) {
    std::string s = e.path().filename().string();
    int n = 0;
    auto [end, err] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (err == std::errc() && end == s.data() + s.size() && n > 0) out.push_back(n);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string random_suffix() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char digits[] = "0123456789abcdefghijklmnopqrstuv";
  std::string s;
  auto v = rng();
  for (int i = 0; i < 10; ++i, v >>= 5) s += digits[v & 31];
  return s;
}

// Leftovers of an interrupted store_version: staging dirs and temp symlinks. Never live data.
void remove_leftovers(const fs::path &archive, const fs::path &live, const std::string &name) {
  std::error_code ec;
  for (const auto &e : fs::directory_iterator(archive, ec)) {
    if (e.path().extension() == ".partial") {
      std::error_code ignored;
      fs::remove_all(e.path(), ignored);
    }
  }
  std::string tmp_prefix = "." + name + ".tmp.";
  for (const auto &e : fs::directory_iterator(live, ec)) {
    if (e.path().filename().string().starts_with(tmp_prefix)) {
      std::error_code ignored;
      fs::remove(e.path(), ignored);
    }
  }
}

}  // namespace

StoredVersion store_version(const fs::path &state_dir, const std::string &name, const IssuedVersion &v,
                            int keep) {
  if (!valid_name(name)) fail(state_dir / "live" / name, "invalid certificate name; use [a-z0-9][a-z0-9._-]*");
  if (v.cert.empty() || v.privkey.empty()) fail(state_dir / "live" / name, "refusing to store a version without certificate or key");
  std::error_code ec;
  fs::create_directories(state_dir, ec);
  if (ec) fail(state_dir, "cannot create the state directory: " + ec.message());
  fs::path archive_root = state_dir / "archive";
  fs::path archive = archive_root / name;
  fs::path live_root = state_dir / "live";
  fs::path live = live_root / name;
  ensure_dir(archive_root, 0700);
  ensure_dir(archive, 0700);
  ensure_dir(live_root, 0755);

  struct stat st {};
  if (::lstat(live.c_str(), &st) == 0 && !S_ISLNK(st.st_mode))
    fail(live, "exists and is not a symlink (certhook keeps live/<name> as a symlink to archive/); move it away");

  remove_leftovers(archive, live_root, name);
  auto existing = versions(archive);
  int n = existing.empty() ? 1 : existing.back() + 1;
  fs::path staging = archive / (std::to_string(n) + ".partial");
  fs::path final_dir = archive / std::to_string(n);

  try {
    ensure_dir(staging, 0700);
    write_synced(staging / "cert.pem", v.cert, 0644);
    write_synced(staging / "chain.pem", v.chain, 0644);
    write_synced(staging / "fullchain.pem", v.fullchain.empty() ? v.cert + v.chain : v.fullchain, 0644);
    write_synced(staging / "privkey.pem", v.privkey, 0600);
    sync_dir(staging);
    if (::rename(staging.c_str(), final_dir.c_str()) != 0) fail(final_dir, "cannot rename the new version into place", errno);
    sync_dir(archive);
  } catch (...) {
    std::error_code ignored;
    fs::remove_all(staging, ignored);
    throw;
  }

  // Publish: a temp symlink renamed over live/<name> (rename is atomic; a symlink cannot be
  // replaced in place otherwise).
  fs::path target = fs::path("..") / "archive" / name / std::to_string(n);
  fs::path tmp_link = live_root / ("." + name + ".tmp." + random_suffix());
  if (::symlink(target.c_str(), tmp_link.c_str()) != 0) fail(tmp_link, "cannot create symlink", errno);
  if (::rename(tmp_link.c_str(), live.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp_link.c_str());
    fail(live, "cannot switch the live symlink", err);
  }
  sync_dir(live_root);

  // Prune old versions: keep the newest `keep` (the live one is the newest).
  if (keep < 1) keep = 1;
  auto all = versions(archive);
  for (std::size_t i = 0; i + static_cast<std::size_t>(keep) < all.size(); ++i) {
    if (all[i] == n) continue;
    std::error_code ignored;
    fs::remove_all(archive / std::to_string(all[i]), ignored);
  }
  return StoredVersion{live, final_dir, n};
}

std::optional<fs::path> live_dir(const fs::path &state_dir, const std::string &name) {
  if (!valid_name(name)) return std::nullopt;
  fs::path live = state_dir / "live" / name;
  std::error_code ec;
  if (fs::is_regular_file(live / "cert.pem", ec) && fs::is_regular_file(live / "privkey.pem", ec)) return live;
  return std::nullopt;
}

std::optional<std::string> previous_key(const fs::path &state_dir, const std::string &name) {
  auto dir = live_dir(state_dir, name);
  if (!dir) return std::nullopt;
  try {
    return read_file(*dir / "privkey.pem");
  } catch (const std::system_error &e) {
    throw LiveStoreError(std::string("live store: ") + e.what());
  }
}

}  // namespace certhook
