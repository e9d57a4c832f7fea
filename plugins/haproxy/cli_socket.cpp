#include "cli_socket.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace certhook::haproxy {
namespace {

using Clock = std::chrono::steady_clock;

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd &) = delete;
  Fd &operator=(const Fd &) = delete;
};

bool starts_with(const std::string &s, const char *prefix) {
  return s.rfind(prefix, 0) == 0;
}

// Milliseconds left until `deadline`, at least 0.
int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

// Waits for `events` on fd until the deadline; false on timeout.
bool wait_for(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, remaining_ms(deadline));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

// Non-blocking connect bounded by the deadline; returns the errno of a failure (0 on success).
int connect_with_deadline(int fd, const sockaddr *addr, socklen_t len, Clock::time_point deadline) {
  if (::connect(fd, addr, len) == 0) return 0;
  if (errno != EINPROGRESS && errno != EAGAIN) return errno;
  if (!wait_for(fd, POLLOUT, deadline)) return ETIMEDOUT;
  int err = 0;
  socklen_t n = sizeof err;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &n) != 0) return errno;
  return err;
}

}  // namespace

CliSocket::CliSocket(std::string address, std::chrono::milliseconds timeout)
    : address_(std::move(address)), timeout_(timeout) {}

int CliSocket::connect_socket() const {
  const auto deadline = Clock::now() + timeout_;
  std::string a = address_;
  bool unix_socket = false;
  if (starts_with(a, "unix@")) {
    a = a.substr(5);
    unix_socket = true;
  } else if (starts_with(a, "ipv4@") || starts_with(a, "ipv6@")) {
    a = a.substr(5);
  } else if (!a.empty() && (a[0] == '/' || a[0] == '.' || a.find(':') == std::string::npos)) {
    unix_socket = true;
  }
  if (unix_socket) {
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    if (a.size() >= sizeof sun.sun_path)
      throw Unreachable(address_ + ": socket path is " + std::to_string(a.size()) +
                        " bytes, longer than the 107 a Unix socket allows; use a shorter path");
    std::memcpy(sun.sun_path, a.c_str(), a.size() + 1);
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) throw Unreachable(address_ + ": socket: " + std::strerror(errno));
    int err = connect_with_deadline(fd, reinterpret_cast<const sockaddr *>(&sun), sizeof sun, deadline);
    if (err != 0) {
      ::close(fd);
      throw Unreachable(address_ + ": cannot connect: " + std::strerror(err));
    }
    return fd;
  }
  // host:port, with [v6]:port allowed
  std::string host, port;
  if (!a.empty() && a[0] == '[') {
    auto close = a.find(']');
    if (close == std::string::npos || close + 1 >= a.size() || a[close + 1] != ':')
      throw Unreachable(address_ + ": not a socket path or host:port (e.g. 127.0.0.1:9999)");
    host = a.substr(1, close - 1);
    port = a.substr(close + 2);
  } else {
    auto colon = a.rfind(':');
    host = a.substr(0, colon);
    port = a.substr(colon + 1);
  }
  if (host.empty() || port.empty())
    throw Unreachable(address_ + ": not a socket path or host:port (e.g. 127.0.0.1:9999)");
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo *list = nullptr;
  int gai = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &list);
  if (gai != 0) throw Unreachable(address_ + ": cannot resolve: " + ::gai_strerror(gai));
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(list, &::freeaddrinfo);
  int last = ECONNREFUSED;
  for (auto *ai = list; ai; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) {
      last = errno;
      continue;
    }
    last = connect_with_deadline(fd, ai->ai_addr, ai->ai_addrlen, deadline);
    if (last == 0) return fd;
    ::close(fd);
  }
  throw Unreachable(address_ + ": cannot connect: " + std::strerror(last));
}

std::string CliSocket::run(const std::string &command, const std::string &payload) const {
  Fd fd(connect_socket());
  const auto deadline = Clock::now() + timeout_;
  std::string out = command;
  if (out.empty() || out.back() != '\n') out += '\n';
  out += payload;
  std::size_t sent = 0;
  while (sent < out.size()) {
    ssize_t n = ::send(fd.fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!wait_for(fd.fd, POLLOUT, deadline))
        throw ExchangeError(address_ + ": timed out after " + std::to_string(timeout_.count()) +
                            " ms sending a command");
      continue;
    }
    throw ExchangeError(address_ + ": send failed: " + std::strerror(errno));
  }
  std::string reply;
  char buf[8192];
  for (;;) {
    ssize_t n = ::recv(fd.fd, buf, sizeof buf, 0);
    if (n > 0) {
      reply.append(buf, static_cast<std::size_t>(n));
      if (reply.size() > (4u << 20))
        throw ExchangeError(address_ + ": reply larger than 4 MiB; is this HAProxy's stats socket?");
      continue;
    }
    if (n == 0) break;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!wait_for(fd.fd, POLLIN, deadline))
        throw ExchangeError(address_ + ": no complete reply within " +
                            std::to_string(timeout_.count()) + " ms to `" +
                            command.substr(0, command.find('\n')) +
                            "` (a master CLI socket needs `@1` prefixes; point socket at the "
                            "stats socket instead)");
      continue;
    }
    throw ExchangeError(address_ + ": receive failed: " + std::strerror(errno));
  }
  while (!reply.empty() && (reply.back() == '\n' || reply.back() == '\r' || reply.back() == ' '))
    reply.pop_back();
  return reply;
}

}  // namespace certhook::haproxy
