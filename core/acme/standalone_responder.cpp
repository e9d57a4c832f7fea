#include "acme/standalone_responder.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <charconv>
#include <map>
#include <mutex>
#include <thread>

#include "acme/problem.hpp"

namespace certhook::acme {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr std::string_view prefix = "/.well-known/acme-challenge/";

tcp::endpoint parse_listen(const std::string &listen) {
  auto bad = [&] {
    return AcmeError("challenge: listen \"" + listen +
                     "\" is not host:port with an IP address (e.g. \"0.0.0.0:80\" or \"[::]:80\"); fix [challenge] listen");
  };
  auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) throw bad();
  std::string host = listen.substr(0, colon);
  std::string port_text = listen.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535) throw bad();
  if (host == "localhost") host = "127.0.0.1";
  boost::system::error_code aec;
  auto addr = asio::ip::make_address(host, aec);
  if (aec) throw bad();
  return tcp::endpoint(addr, static_cast<unsigned short>(port));
}

std::string describe(const boost::system::error_code &ec) {
  if (ec == asio::error::address_in_use) return "address in use";
  if (ec == asio::error::access_denied) return "permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)";
  if (ec == boost::system::errc::address_not_available) return "address not available on this host";
  return ec.message();
}

}  // namespace

struct StandaloneResponder::Impl {
  std::string listen;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::thread thread;
  std::mutex mutex;
  std::map<std::string, std::string, std::less<>> tokens;
  std::atomic<int> served{0};
  bool running = false;

  // One connection: read requests (keep-alive), answer each, until the peer closes.
  struct Session : std::enable_shared_from_this<Session> {
    Session(tcp::socket s, Impl &o) : stream(std::move(s)), owner(o) {}
    beast::tcp_stream stream;
    Impl &owner;
    beast::flat_buffer buffer;
    http::request<http::empty_body> req;
    http::response<http::string_body> res;

    void read() {
      req = {};
      stream.expires_after(std::chrono::seconds(10));
      http::async_read(stream, buffer, req, [self = shared_from_this()](beast::error_code ec, std::size_t) {
        if (ec) return self->close();
        self->respond();
      });
    }

    void respond() {
      res = {};
      res.version(req.version());
      res.keep_alive(req.keep_alive());
      res.set(http::field::server, "certhook");
      std::string_view target(req.target().data(), req.target().size());
      std::string body;
      bool found = false;
      if ((req.method() == http::verb::get || req.method() == http::verb::head) && target.starts_with(prefix)) {
        std::string_view token = target.substr(prefix.size());
        std::lock_guard lock(owner.mutex);
        if (auto it = owner.tokens.find(token); it != owner.tokens.end()) {
          body = it->second;
          found = true;
        }
      }
      if (found) {
        res.result(http::status::ok);
        res.set(http::field::content_type, "text/plain");
        owner.served.fetch_add(1);
      } else {
        res.result(http::status::not_found);
        body = "not found\n";
      }
      res.body() = req.method() == http::verb::head ? std::string() : std::move(body);
      res.prepare_payload();
      http::async_write(stream, res, [self = shared_from_this()](beast::error_code ec, std::size_t) {
        if (ec || !self->res.keep_alive()) return self->close();
        self->read();
      });
    }

    void close() {
      beast::error_code ignored;
      stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
      stream.socket().close(ignored);
    }
  };

  void accept() {
    acceptor.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
      if (!ec) std::make_shared<Session>(std::move(socket), *this)->read();
      accept();
    });
  }
};

StandaloneResponder::StandaloneResponder(std::string listen) : impl_(std::make_unique<Impl>()) {
  impl_->listen = std::move(listen);
}

StandaloneResponder::~StandaloneResponder() { stop(); }

void StandaloneResponder::add(const std::string &token, const std::string &key_authorization) {
  std::lock_guard lock(impl_->mutex);
  impl_->tokens[token] = key_authorization;
}

void StandaloneResponder::start() {
  if (impl_->running) return;
  tcp::endpoint ep = parse_listen(impl_->listen);
  boost::system::error_code ec;
  auto fail = [&] {
    boost::system::error_code ignored;
    impl_->acceptor.close(ignored);
    return AcmeError("challenge: cannot listen on " + impl_->listen + ": " + describe(ec));
  };
  if (impl_->acceptor.open(ep.protocol(), ec)) throw fail();
  impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (ep.address().is_v6()) impl_->acceptor.set_option(asio::ip::v6_only(false), ec);
  if (impl_->acceptor.bind(ep, ec)) throw fail();
  if (impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec)) throw fail();
  impl_->io.restart();
  impl_->accept();
  impl_->running = true;
  impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
  spdlog::debug("challenge: serving http-01 on {}", impl_->listen);
}

void StandaloneResponder::stop() noexcept {
  if (!impl_ || !impl_->running) return;
  asio::post(impl_->io, [impl = impl_.get()] {
    boost::system::error_code ignored;
    impl->acceptor.close(ignored);
  });
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  boost::system::error_code ignored;
  impl_->acceptor.close(ignored);
  impl_->running = false;
  {
    std::lock_guard lock(impl_->mutex);
    impl_->tokens.clear();
  }
  spdlog::debug("challenge: stopped http-01 responder on {}", impl_->listen);
}

unsigned short StandaloneResponder::port() const {
  boost::system::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

int StandaloneResponder::requests_served() const { return impl_->served.load(); }

}  // namespace certhook::acme
