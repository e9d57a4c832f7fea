// The state-directory lock (DESIGN §2): held for the whole of any command that changes state, so
// the timer, a manual run and certbot's hook never overlap.
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <utility>

namespace certhook {

class StateLock {
 public:
  // Takes STATE/lock. When another certhook holds it: with wait, blocks (after logging who holds
  // it); without, returns nullopt and sets *holder to "pid N (command)".
  static std::optional<StateLock> acquire(const std::filesystem::path &state_dir, bool wait,
                                          const std::string &command, std::string *holder);
  StateLock(StateLock &&other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  StateLock &operator=(StateLock &&other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  StateLock(const StateLock &) = delete;
  ~StateLock();

 private:
  explicit StateLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace certhook
