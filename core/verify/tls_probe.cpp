#include "verify/tls_probe.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <thread>
#include <utility>

namespace certhook {
namespace {

using Clock = std::chrono::steady_clock;

struct Endpoint {
  std::string host;
  std::string port;
  std::string text;  // as given, for messages
};

[[noreturn]] void fail(const Endpoint &ep, const std::string &problem) {
  throw VerifyError("verify: " + ep.text + ": " + problem);
}

Endpoint parse_endpoint(const std::string &connect) {
  Endpoint ep;
  ep.text = connect;
  auto bad = [&]() -> Endpoint {
    throw VerifyError("verify: \"" + connect +
                      "\": not an address; write host:port, e.g. 127.0.0.1:443 or [::1]:443");
  };
  std::size_t colon;
  if (!connect.empty() && connect.front() == '[') {
    auto close = connect.find(']');
    if (close == std::string::npos || close + 1 >= connect.size() || connect[close + 1] != ':')
      return bad();
    ep.host = connect.substr(1, close - 1);
    colon = close + 1;
  } else {
    colon = connect.rfind(':');
    if (colon == std::string::npos || connect.find(':') != colon) return bad();
    ep.host = connect.substr(0, colon);
  }
  ep.port = connect.substr(colon + 1);
  if (ep.host.empty() || ep.port.empty() || ep.port.size() > 5 ||
      !std::all_of(ep.port.begin(), ep.port.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return bad();
  long port = std::stol(ep.port);
  if (port < 1 || port > 65535) return bad();
  return ep;
}

bool is_ip_literal(const std::string &name) {
  unsigned char buf[sizeof(struct in6_addr)];
  return ::inet_pton(AF_INET, name.c_str(), buf) == 1 || ::inet_pton(AF_INET6, name.c_str(), buf) == 1;
}

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 1 << 30));
}

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { if (fd_ >= 0) ::close(fd_); }
  Fd(Fd &&o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd &operator=(Fd &&o) noexcept { std::swap(fd_, o.fd_); return *this; }
  Fd(const Fd &) = delete;
  Fd &operator=(const Fd &) = delete;
  int get() const { return fd_; }
 private:
  int fd_;
};

// Waits until fd is ready for `events`; false on timeout.
bool wait_fd(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    int r = ::poll(&p, 1, remaining_ms(deadline));
    if (r > 0) return true;
    if (r == 0) return false;
    if (errno != EINTR) return true;  // let the following call report the error
  }
}

std::string describe_errno(int err) {
  std::string s = err == ECONNREFUSED ? "connection refused" : std::strerror(err);
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

std::string format_timeout(Duration timeout) { return format_duration(timeout); }

// Non-blocking connect to the first address that accepts, within the deadline.
Fd connect_tcp(const Endpoint &ep, Clock::time_point deadline, Duration timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV;
  addrinfo *res = nullptr;
  int rc = ::getaddrinfo(ep.host.c_str(), ep.port.c_str(), &hints, &res);
  if (rc != 0) fail(ep, std::string("cannot resolve ") + ep.host + ": " + ::gai_strerror(rc));
  std::unique_ptr<addrinfo, void (*)(addrinfo *)> list(res, ::freeaddrinfo);
  std::string last = "no address";
  for (addrinfo *ai = res; ai; ai = ai->ai_next) {
    Fd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol));
    if (fd.get() < 0) { last = describe_errno(errno); continue; }
    if (::connect(fd.get(), ai->ai_addr, ai->ai_addrlen) == 0) return fd;
    if (errno != EINPROGRESS) { last = describe_errno(errno); continue; }
    if (!wait_fd(fd.get(), POLLOUT, deadline))
      fail(ep, "timed out after " + format_timeout(timeout) + " connecting");
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err == 0) return fd;
    last = describe_errno(err);
  }
  fail(ep, last);
}

std::string openssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    const char *reason = ERR_reason_error_string(e);
    std::string text = reason ? reason : "error " + std::to_string(e);
    if (out.find(text) == std::string::npos) out += (out.empty() ? "" : "; ") + text;
  }
  return out;
}

// OpenSSL writes with write(2): a server that resets the connection would raise SIGPIPE, which
// kills a process that has not ignored it. Block it on this thread for the probe and consume one
// raised meanwhile, restoring the caller's mask afterwards.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~SigpipeGuard() {
    if (!was_pending_) {
      timespec zero{0, 0};
      while (sigtimedwait(&pipe_, nullptr, &zero) == SIGPIPE) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeGuard(const SigpipeGuard &) = delete;
  SigpipeGuard &operator=(const SigpipeGuard &) = delete;

 private:
  sigset_t pipe_{}, old_{};
  bool was_pending_ = false;
};

struct CtxFree { void operator()(SSL_CTX *c) const { SSL_CTX_free(c); } };
struct SslFree { void operator()(SSL *s) const { SSL_free(s); } };
struct X509Free { void operator()(X509 *x) const { X509_free(x); } };
using Ctx = std::unique_ptr<SSL_CTX, CtxFree>;

Ctx make_context() {
  Ctx ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) throw VerifyError("verify: cannot create a TLS context: " + openssl_errors());
  // Fingerprints are compared, not trust: accept any chain. Never resume a session (a resumed
  // session would show the certificate of an earlier handshake, not the one served now).
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_TICKET);
  return ctx;
}

std::string probe(SSL_CTX *ctx, const Endpoint &ep, const std::string &server_name,
                  Duration timeout) {
  if (timeout < Duration(1)) timeout = Duration(1);
  const auto deadline = Clock::now() + timeout;
  SigpipeGuard no_sigpipe;
  Fd fd = connect_tcp(ep, deadline, timeout);
  ERR_clear_error();
  std::unique_ptr<SSL, SslFree> ssl(SSL_new(ctx));
  if (!ssl) fail(ep, "cannot create a TLS session: " + openssl_errors());
  if (!server_name.empty() && !is_ip_literal(server_name) &&
      SSL_set_tlsext_host_name(ssl.get(), server_name.c_str()) != 1)
    fail(ep, "cannot send server name \"" + server_name + "\": " + openssl_errors());
  SSL_set_fd(ssl.get(), fd.get());
  for (;;) {
    int r = SSL_connect(ssl.get());
    if (r == 1) break;
    int err = SSL_get_error(ssl.get(), r);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      if (!wait_fd(fd.get(), err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline))
        fail(ep, "handshake failed: timed out after " + format_timeout(timeout));
      continue;
    }
    std::string why = openssl_errors();
    if (why.empty())
      why = err == SSL_ERROR_SYSCALL && errno != 0 ? describe_errno(errno)
            : err == SSL_ERROR_ZERO_RETURN || err == SSL_ERROR_SYSCALL
                ? "the server closed the connection (is this port speaking TLS?)"
                : "error " + std::to_string(err);
    fail(ep, "handshake failed: " + why);
  }
  std::unique_ptr<X509, X509Free> leaf(SSL_get1_peer_certificate(ssl.get()));
  if (!leaf) fail(ep, "handshake completed but the server sent no certificate");
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(leaf.get(), EVP_sha256(), md, &len) != 1)
    fail(ep, "cannot hash the served certificate: " + openssl_errors());
  SSL_shutdown(ssl.get());  // best effort close_notify; the socket is non-blocking
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned i = 0; i < len; ++i) {
    out += digits[md[i] >> 4];
    out += digits[md[i] & 15];
  }
  return out;
}

}  // namespace

std::string normalize_fingerprint(const std::string &fingerprint) {
  std::string out;
  for (char c : fingerprint)
    if (c != ':' && !std::isspace(static_cast<unsigned char>(c)))
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string served_fingerprint(const std::string &connect, const std::string &server_name,
                               Duration timeout) {
  Endpoint ep = parse_endpoint(connect);
  Ctx ctx = make_context();
  return probe(ctx.get(), ep, server_name, timeout);
}

VerifyOutcome wait_for_fingerprint(const std::string &connect, const std::string &server_name,
                                   const std::string &expected, Duration timeout) {
  VerifyOutcome out;
  const auto start = Clock::now();
  const auto deadline = start + std::max(timeout, Duration(1));
  const std::string want = normalize_fingerprint(expected);
  const std::string sni = server_name.empty() ? "" : " (server name " + server_name + ")";
  auto finish = [&](bool ok, std::string message) {
    out.ok = ok;
    out.message = std::move(message);
    out.elapsed = std::chrono::duration_cast<Duration>(Clock::now() - start);
    return out;
  };
  Endpoint ep;
  Ctx ctx;
  try {
    ep = parse_endpoint(connect);
    ctx = make_context();
  } catch (const VerifyError &e) {
    return finish(false, e.what());
  }
  std::string last_error;
  auto interval = std::chrono::milliseconds(10);
  for (;;) {
    ++out.handshakes;
    try {
      out.served = probe(ctx.get(), ep, server_name, Duration(std::max(remaining_ms(deadline), 1)));
      last_error.clear();
      if (out.served == want) return finish(true, "");
    } catch (const VerifyError &e) {
      last_error = e.what();
    }
    if (Clock::now() + interval >= deadline) break;
    std::this_thread::sleep_for(interval);
    interval = std::min(interval * 3 / 2, std::chrono::milliseconds(250));
  }
  const std::string waited = format_duration(std::chrono::duration_cast<Duration>(timeout));
  if (!last_error.empty())
    return finish(false, last_error + " (expected " + want + "; gave up after " + waited + ", " +
                             std::to_string(out.handshakes) + " handshakes" +
                             (out.served.empty() ? "" : "; earlier served " + out.served) + ")");
  return finish(false, "verify: " + ep.text + sni + ": serves " + out.served + ", expected " + want +
                           " (still after " + waited + ", " + std::to_string(out.handshakes) +
                           " handshakes)");
}

}  // namespace certhook
