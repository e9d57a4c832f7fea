#include "util/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <random>
#include <string>
#include <system_error>

namespace certhook {
namespace {

[[noreturn]] void fail(const std::string &what, const std::filesystem::path &path, int err) {
  throw std::system_error(err, std::generic_category(), path.string() + ": " + what);
}

std::string temp_suffix() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char digits[] = "0123456789abcdefghijklmnopqrstuv";
  std::string s = ".tmp.";
  auto v = rng();
  for (int i = 0; i < 10; ++i, v >>= 5) s += digits[v & 31];
  return s;
}

}  // namespace

void sync_directory(const std::filesystem::path &dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail("cannot open directory to sync it", dir, errno);
  if (::fsync(fd) != 0) {
    int err = errno;
    ::close(fd);
    fail("cannot sync directory", dir, err);
  }
  ::close(fd);
}

void write_new_file(const std::filesystem::path &path, std::string_view content, mode_t mode,
                    bool sync) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) fail("cannot create", path, errno);
  auto abandon = [&](const char *what) {
    int err = errno;
    ::close(fd);
    ::unlink(path.c_str());
    fail(what, path, err);
  };
  if (::fchmod(fd, mode) != 0) abandon("cannot set mode");
  std::size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      abandon("cannot write");
    }
    done += static_cast<std::size_t>(n);
  }
  if (sync && ::fsync(fd) != 0) abandon("cannot sync");
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(path.c_str());
    fail("cannot close", path, err);
  }
}

void write_file_atomic(const std::filesystem::path &path, std::string_view content, mode_t mode,
                       bool durable) {
  std::filesystem::path tmp = path;
  tmp += temp_suffix();
  write_new_file(tmp, content, mode, durable);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    fail("cannot rename temporary file into place", path, err);
  }
  if (durable) sync_directory(path.has_parent_path() ? path.parent_path() : ".");
}

std::string read_file(const std::filesystem::path &path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("cannot open", path, errno);
  std::string out;
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      fail("cannot read", path, err);
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

}  // namespace certhook
