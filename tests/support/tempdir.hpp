// A short-lived directory under /tmp with a short name (Unix socket paths must stay < 108 bytes).
#pragma once
#include <filesystem>
#include <string>

namespace certhook::test {

class TempDir {
 public:
  explicit TempDir(const std::string &prefix = "ch");
  ~TempDir();
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;
  const std::filesystem::path &path() const { return path_; }
  std::filesystem::path operator/(const std::string &name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// Writes content to path (creating parents), with the given mode.
void write_text(const std::filesystem::path &path, const std::string &content, unsigned mode = 0644);
std::string read_text(const std::filesystem::path &path);

}  // namespace certhook::test
