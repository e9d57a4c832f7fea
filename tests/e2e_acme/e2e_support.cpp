#include "e2e_support.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include "tempdir.hpp"

extern char **environ;

namespace certhook::test {

namespace fs = std::filesystem;

// ---- running certhook ----

CertHookProcess::CertHookProcess(const std::vector<std::string> &args, const fs::path &log_dir) {
  static std::atomic<int> counter{0};
  int n = ++counter;
  out_ = log_dir / ("certhook-" + std::to_string(n) + ".out");
  err_ = log_dir / ("certhook-" + std::to_string(n) + ".err");
  std::vector<std::string> argv = {CERTHOOK_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char *> cargv;
  for (auto &a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  int rc = ::posix_spawn(&pid_, cargv[0], &fa, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw std::runtime_error(std::string("e2e: cannot start certhook: ") + std::strerror(rc));
}

CertHookProcess::~CertHookProcess() {
  if (pid_ > 0) kill9();
}

void CertHookProcess::collect(int status) {
  pid_ = -1;
  if (WIFEXITED(status)) result_.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result_.signal = WTERMSIG(status);
  result_.out = read_text(out_);
  result_.err = read_text(err_);
}

bool CertHookProcess::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    collect(status);
    return false;
  }
  return true;
}

void CertHookProcess::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  collect(status);
}

CertHookRun CertHookProcess::wait(std::chrono::seconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() > until) {
      kill9();
      result_.err += "\n(e2e: killed after " + std::to_string(timeout.count()) + " s)";
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return result_;
}

CertHookRun run_certhook(const std::vector<std::string> &args, const fs::path &log_dir) {
  CertHookProcess p(args, log_dir);
  return p.wait();
}

// ---- loopback servers ----

namespace {

int listen_on(std::uint16_t port, std::uint16_t *bound) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (::bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0 || ::listen(fd, 64) != 0) {
    int e = errno;
    ::close(fd);
    throw std::runtime_error("e2e: cannot listen on 127.0.0.1:" + std::to_string(port) + ": " + std::strerror(e));
  }
  if (bound) {
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len);
    *bound = ntohs(a.sin_port);
  }
  return fd;
}

int accept_within(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, ms) <= 0) return -1;
  return ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
}

}  // namespace

StaticServer::StaticServer(std::uint16_t port, fs::path root) : root_(std::move(root)) {
  fd_ = listen_on(port, nullptr);
  thread_ = std::thread([this] { serve(); });
}

StaticServer::~StaticServer() {
  stop_ = true;
  release();
  thread_.join();
  ::close(fd_);
}

void StaticServer::hold() {
  std::lock_guard lock(mutex_);
  held_ = true;
}

void StaticServer::release() {
  {
    std::lock_guard lock(mutex_);
    held_ = false;
  }
  cv_.notify_all();
}

void StaticServer::serve() {
  while (!stop_) {
    int c = accept_within(fd_, 50);
    if (c < 0) continue;
    answer(c);
    ::close(c);
  }
}

void StaticServer::answer(int c) {
  std::string req;
  char buf[2048];
  while (req.find("\r\n\r\n") == std::string::npos && req.size() < 65536) {
    pollfd p{c, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) return;
    ssize_t n = ::read(c, buf, sizeof buf);
    if (n <= 0) return;
    req.append(buf, static_cast<std::size_t>(n));
  }
  ++arrivals_;
  {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return !held_; });
  }
  std::string reply;
  auto sp1 = req.find(' '), sp2 = req.find(' ', sp1 + 1);
  std::string path = sp1 == std::string::npos || sp2 == std::string::npos ? "" : req.substr(sp1 + 1, sp2 - sp1 - 1);
  std::error_code ec;
  fs::path file = root_ / fs::path(path).relative_path();
  if (!path.empty() && path.find("..") == std::string::npos && fs::is_regular_file(file, ec)) {
    std::string body = read_text(file);
    reply = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) +
            "\r\nConnection: close\r\n\r\n" + body;
    ++served_;
  } else {
    reply = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  }
  (void)!::write(c, reply.data(), reply.size());
}

ConnectionCounter::ConnectionCounter() {
  fd_ = listen_on(0, &port_);
  thread_ = std::thread([this] {
    while (!stop_) {
      int c = accept_within(fd_, 50);
      if (c < 0) continue;
      ++count_;
      ::close(c);
    }
  });
}

ConnectionCounter::~ConnectionCounter() {
  stop_ = true;
  thread_.join();
  ::close(fd_);
}

unsigned mode_of(const fs::path &p, bool follow) {
  struct stat st {};
  int rc = follow ? ::stat(p.c_str(), &st) : ::lstat(p.c_str(), &st);
  if (rc != 0) return 0;
  return st.st_mode & 07777;
}

std::vector<std::string> read_lines(const fs::path &p) {
  std::vector<std::string> out;
  std::ifstream in(p);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

}  // namespace certhook::test
