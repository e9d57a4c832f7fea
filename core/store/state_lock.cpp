#include "store/state_lock.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace certhook {
namespace {

std::string read_holder(int fd) {
  char buf[256] = {};
  ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  std::string s = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == '\0')) s.pop_back();
  return s.empty() ? "another certhook" : s;
}

}  // namespace

std::optional<StateLock> StateLock::acquire(const std::filesystem::path &state_dir, bool wait,
                                            const std::string &command, std::string *holder) {
  std::filesystem::create_directories(state_dir);
  auto path = state_dir / "lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    throw std::system_error(errno, std::generic_category(), path.string() + ": cannot open the state lock");
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    std::string who = read_holder(fd);
    if (!wait) {
      if (holder) *holder = who;
      ::close(fd);
      return std::nullopt;
    }
    spdlog::info("{}: held by {}; waiting", path.string(), who);
    while (::flock(fd, LOCK_EX) != 0) {
      if (errno != EINTR) {
        int err = errno;
        ::close(fd);
        throw std::system_error(err, std::generic_category(), path.string() + ": cannot lock");
      }
    }
  }
  std::string me = "pid " + std::to_string(::getpid()) + " (certhook " + command + ")\n";
  if (::ftruncate(fd, 0) == 0) {
    [[maybe_unused]] ssize_t n = ::pwrite(fd, me.data(), me.size(), 0);
  }
  return StateLock(fd);
}

StateLock::~StateLock() {
  if (fd_ >= 0) {
    [[maybe_unused]] int r = ::ftruncate(fd_, 0);
    ::close(fd_);  // releases the flock
  }
}

}  // namespace certhook
