// The webhook plugin against real local HTTP and HTTPS servers (plain sockets + OpenSSL, in this
// file), driven through the real certhook-plugin-host.
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tempdir.hpp"
#include "command.hpp"
#include "testcerts.hpp"

namespace fs = std::filesystem;
using certhook::test::Pem;
using certhook::test::TempDir;
using nlohmann::json;

namespace {

const std::string kHost = std::string(CERTHOOK_BUILD_DIR) + "/bin/certhook-plugin-host";
const std::string kPlugin = std::string(CERTHOOK_BUILD_DIR) + "/lib/certhook/plugins/webhook.so";
const std::string kSecret = "s3cr3t-value-never-logged";

// Programs run to completion with stdout+stderr captured.
using RunResult = certhook::test::CommandResult;
RunResult run(const std::vector<std::string> &argv) { return certhook::test::run_command(argv); }

std::string hmac_hex(const std::string &key, const std::string &data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char *>(data.data()), data.size(), md, &len);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

// ---- a small HTTP/1.1 server on 127.0.0.1, optionally TLS ----------------------------------
struct Reply {
  int status = 200;
  std::string headers;   // extra header lines, each ending in \r\n
  std::string body = "ok";
};

Reply reply(int status, std::string headers = {}, std::string body = "ok") {
  return Reply{status, std::move(headers), std::move(body)};
}

struct Seen {
  std::string method, target, body;
  std::map<std::string, std::string> headers;   // lowercase names
};

class HttpServer {
 public:
  // Replies are used in order; the last one repeats. `tls` = the served certificate, if any.
  explicit HttpServer(std::vector<Reply> script, const Pem *tls = nullptr) : script_(std::move(script)) {
    // A client that rejects our certificate closes after the server-side TLS 1.3 handshake has
    // completed: the reply then hits a closed socket, and SIGPIPE would kill the whole test.
    ::signal(SIGPIPE, SIG_IGN);
    if (tls) ctx_ = make_ctx(*tls);
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0 || ::listen(fd_, 16) != 0)
      throw std::runtime_error("test server: bind/listen failed");
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr *>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { loop(); });
  }
  ~HttpServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
    if (ctx_) SSL_CTX_free(ctx_);
  }
  HttpServer(const HttpServer &) = delete;
  HttpServer &operator=(const HttpServer &) = delete;

  std::string url(const std::string &path = "/hook") const {
    return std::string(ctx_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_) + path;
  }
  int port() const { return port_; }
  std::vector<Seen> seen() {
    std::lock_guard<std::mutex> lock(mutex_);
    return seen_;
  }

 private:
  static SSL_CTX *make_ctx(const Pem &leaf) {
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    BIO *cb = BIO_new_mem_buf(leaf.cert.data(), static_cast<int>(leaf.cert.size()));
    X509 *cert = PEM_read_bio_X509(cb, nullptr, nullptr, nullptr);
    BIO *kb = BIO_new_mem_buf(leaf.key.data(), static_cast<int>(leaf.key.size()));
    EVP_PKEY *key = PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr);
    SSL_CTX_use_certificate(ctx, cert);
    SSL_CTX_use_PrivateKey(ctx, key);
    X509_free(cert);
    EVP_PKEY_free(key);
    BIO_free(cb);
    BIO_free(kb);
    return ctx;
  }

  void loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      timeval tv{5, 0};
      ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      serve(c);
      ::close(c);
    }
  }

  void serve(int c) {
    SSL *ssl = nullptr;
    if (ctx_) {
      ssl = SSL_new(ctx_);
      SSL_set_fd(ssl, c);
      if (SSL_accept(ssl) != 1) {   // e.g. the client refused our certificate
        SSL_free(ssl);
        ERR_clear_error();
        return;
      }
    }
    auto read_some = [&](char *buf, int n) -> int {
      return ssl ? SSL_read(ssl, buf, n) : static_cast<int>(::read(c, buf, static_cast<size_t>(n)));
    };
    std::string data;
    char buf[4096];
    size_t header_end;
    while ((header_end = data.find("\r\n\r\n")) == std::string::npos) {
      int n = read_some(buf, sizeof buf);
      if (n <= 0) break;
      data.append(buf, static_cast<size_t>(n));
    }
    Seen s;
    if (header_end != std::string::npos) {
      std::istringstream head(data.substr(0, header_end));
      std::string line;
      std::getline(head, line);
      std::istringstream request_line(line);
      request_line >> s.method >> s.target;
      while (std::getline(head, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string name = line.substr(0, colon);
        std::transform(name.begin(), name.end(), name.begin(), [](unsigned char ch) { return std::tolower(ch); });
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        auto &slot = s.headers[name];   // a repeated header shows up as "first, second"
        slot = slot.empty() ? value : slot + ", " + value;
      }
      size_t length = s.headers.count("content-length") ? std::stoul(s.headers["content-length"]) : 0;
      s.body = data.substr(header_end + 4);
      while (s.body.size() < length) {
        int n = read_some(buf, sizeof buf);
        if (n <= 0) break;
        s.body.append(buf, static_cast<size_t>(n));
      }
      Reply r;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        r = script_[std::min(seen_.size(), script_.size() - 1)];
        seen_.push_back(s);
      }
      std::string out = "HTTP/1.1 " + std::to_string(r.status) + " X\r\nContent-Length: " +
                        std::to_string(r.body.size()) + "\r\nConnection: close\r\n" + r.headers +
                        "\r\n" + r.body;
      if (ssl) SSL_write(ssl, out.data(), static_cast<int>(out.size()));
      else (void)!::write(c, out.data(), out.size());
    }
    if (ssl) {
      SSL_shutdown(ssl);
      SSL_free(ssl);
    }
  }

  std::vector<Reply> script_;
  SSL_CTX *ctx_ = nullptr;
  int fd_ = -1, port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mutex_;
  std::vector<Seen> seen_;
};

struct HostCall {
  int exit_code = -1;
  json result;
  std::string output;
  std::string message() const { return result.is_object() ? result.value("message", "") : ""; }
};

class WebhookPluginTest : public ::testing::Test {
 protected:
  HostCall call(const json &options, unsigned attempt = 1, const std::string &verb = "deploy") {
    static int n = 0;
    ++n;
    json request = {{"hook", "notify"},
                    {"options", options},
                    {"attempt", attempt},
                    {"dry_run", verb == "preflight"},
                    {"certificates",
                     {{{"name", "example.com"},
                       {"domains", {"example.com", "www.example.com"}},
                       {"lineage", (work_ / "live").string()},
                       {"cert_path", (work_ / "live/cert.pem").string()},
                       {"key_path", (work_ / "live/privkey.pem").string()},
                       {"chain_path", (work_ / "live/chain.pem").string()},
                       {"fullchain_path", (work_ / "live/fullchain.pem").string()},
                       {"fingerprint", fingerprint_},
                       {"not_after", "2031-05-06T07:08:09Z"},
                       {"reason", "renewed"}}}}};
    fs::path req = work_ / ("req" + std::to_string(n) + ".json");
    fs::path res = work_ / ("res" + std::to_string(n) + ".json");
    certhook::test::write_text(req, request.dump());
    HostCall out;
    auto r = run({kHost, "call", kPlugin, verb, req.string(), res.string()});
    out.exit_code = r.exit_code;
    out.output = r.output;
    std::ifstream in(res);
    if (in) out.result = json::parse(in, nullptr, false);
    return out;
  }

  void SetUp() override {
    ca_ = certhook::test::make_ca();
    Pem leaf = certhook::test::make_leaf(ca_);
    certhook::test::write_lineage(work_ / "live", leaf, ca_);
    fingerprint_ = certhook::test::fingerprint_of(leaf.cert);
  }

  TempDir work_{"wh"};
  Pem ca_;
  std::string fingerprint_;
};

TEST_F(WebhookPluginTest, PostsASignedJsonDescriptionWithoutKeyMaterial) {
  HttpServer server({reply(200)});
  auto r = call({{"url", server.url()},
                 {"method", "POST"},
                 {"headers", {{"X-Env", "test"}, {"Authorization", "Bearer abc"}}},
                 {"secret", kSecret},
                 {"timeout", 5000}});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.result.value("status", ""), "ok");
  auto seen = server.seen();
  ASSERT_EQ(seen.size(), 1u);
  Seen s = seen[0];
  EXPECT_EQ(s.method, "POST");
  EXPECT_EQ(s.target, "/hook");
  EXPECT_EQ(s.headers["content-type"], "application/json");
  EXPECT_EQ(s.headers["x-env"], "test");
  EXPECT_EQ(s.headers["authorization"], "Bearer abc");
  EXPECT_EQ(s.headers["x-certhook-signature"], "sha256=" + hmac_hex(kSecret, s.body));

  json body = json::parse(s.body);
  EXPECT_EQ(body["certificate"], "example.com");
  EXPECT_EQ(body["domains"], json({"example.com", "www.example.com"}));
  EXPECT_EQ(body["fingerprint"], fingerprint_);
  EXPECT_EQ(body["not_after"], "2031-05-06T07:08:09Z");
  EXPECT_EQ(body["reason"], "renewed");
  EXPECT_EQ(body["hook"], "notify");
  EXPECT_EQ(body["attempt"], 1);
  EXPECT_EQ(body.size(), 7u) << s.body;
  EXPECT_EQ(s.body.find("PRIVATE KEY"), std::string::npos);
  EXPECT_EQ(s.body.find("privkey"), std::string::npos);
  EXPECT_EQ(r.output.find(kSecret), std::string::npos);
}

TEST_F(WebhookPluginTest, AConfiguredContentTypeReplacesTheDefault) {
  HttpServer server({reply(204, "", "")});
  auto r = call({{"url", server.url()}, {"headers", {{"content-type", "application/vnd.ops+json"}}},
                 {"method", "PUT"}, {"timeout", 5000}});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto seen = server.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "PUT");
  EXPECT_EQ(seen[0].headers["content-type"], "application/vnd.ops+json");
  EXPECT_EQ(seen[0].headers.count("x-certhook-signature"), 0u) << "no secret, no signature";
}

TEST_F(WebhookPluginTest, ServerErrorsAndTooManyRequestsFailForRetry) {
  HttpServer server({reply(503, "", "busy"), reply(429), reply(200)});
  json opts = {{"url", server.url()}, {"secret", kSecret}, {"timeout", 5000}};
  auto first = call(opts, 1);
  EXPECT_EQ(first.exit_code, 1) << first.output;
  EXPECT_EQ(first.result.value("status", ""), "failed");
  EXPECT_NE(first.message().find("HTTP 503"), std::string::npos) << first.message();
  auto second = call(opts, 2);
  EXPECT_EQ(second.exit_code, 1) << second.output;
  EXPECT_NE(second.message().find("HTTP 429"), std::string::npos) << second.message();
  auto third = call(opts, 3);
  EXPECT_EQ(third.exit_code, 0) << third.output;

  auto seen = server.seen();
  ASSERT_EQ(seen.size(), 3u) << "one request per call: certhook does the retrying";
  for (unsigned i = 0; i < 3; ++i) EXPECT_EQ(json::parse(seen[i].body)["attempt"], i + 1);
  for (const auto *c : {&first, &second, &third}) {
    EXPECT_EQ(c->output.find(kSecret), std::string::npos);
    EXPECT_EQ(c->message().find(kSecret), std::string::npos);
  }
}

TEST_F(WebhookPluginTest, ClientErrorIsPermanentAndNamesTheStatus) {
  HttpServer server({reply(404, "", "no such hook")});
  auto r = call({{"url", server.url("/hook?token=" + kSecret)}, {"secret", kSecret}, {"timeout", 5000}});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_EQ(r.result.value("status", ""), "permanent");
  EXPECT_NE(r.message().find("HTTP 404"), std::string::npos) << r.message();
  EXPECT_EQ(server.seen().size(), 1u);
  EXPECT_EQ(r.output.find(kSecret), std::string::npos) << r.output;
  EXPECT_EQ(r.message().find(kSecret), std::string::npos) << r.message();
}

TEST_F(WebhookPluginTest, HttpsNeedsTheServersCaUnlessCaBundleTrustsIt) {
  Pem server_ca = certhook::test::make_ca("webhook test CA");
  Pem leaf = certhook::test::make_leaf(server_ca, {.names = {"127.0.0.1"}});
  certhook::test::write_text(work_ / "ca.pem", server_ca.cert);
  HttpServer server({reply(200)}, &leaf);

  auto untrusted = call({{"url", server.url()}, {"timeout", 5000}});
  EXPECT_EQ(untrusted.exit_code, 1) << untrusted.output;
  EXPECT_NE(untrusted.message().find("ca_bundle"), std::string::npos) << untrusted.message();
  EXPECT_TRUE(server.seen().empty()) << "no request may be sent over an unverified connection";

  auto other_ca = call({{"url", server.url()}, {"ca_bundle", (work_ / "live/chain.pem").string()},
                        {"timeout", 5000}});
  EXPECT_EQ(other_ca.exit_code, 1) << other_ca.output;
  EXPECT_TRUE(server.seen().empty());

  // preflight checks reachability and trust but notifies nobody
  auto pre_untrusted = call({{"url", server.url()}, {"timeout", 5000}}, 1, "preflight");
  EXPECT_EQ(pre_untrusted.exit_code, 1) << pre_untrusted.output;
  EXPECT_NE(pre_untrusted.message().find("ca_bundle"), std::string::npos) << pre_untrusted.message();
  auto pre = call({{"url", server.url()}, {"ca_bundle", (work_ / "ca.pem").string()},
                   {"timeout", 5000}}, 1, "preflight");
  EXPECT_EQ(pre.exit_code, 0) << pre.output;
  EXPECT_TRUE(server.seen().empty()) << "preflight must not send a request";

  auto trusted = call({{"url", server.url()}, {"ca_bundle", (work_ / "ca.pem").string()},
                       {"timeout", 5000}});
  EXPECT_EQ(trusted.exit_code, 0) << trusted.output;
  ASSERT_EQ(server.seen().size(), 1u);
  EXPECT_EQ(json::parse(server.seen()[0].body)["certificate"], "example.com");
}

TEST_F(WebhookPluginTest, RedirectIsNotFollowed) {
  HttpServer elsewhere({reply(200)});
  HttpServer server({reply(302, "Location: " + elsewhere.url("/elsewhere") + "\r\n", "")});
  auto r = call({{"url", server.url()}, {"secret", kSecret}, {"timeout", 5000}});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.message().find("HTTP 302"), std::string::npos) << r.message();
  EXPECT_NE(r.message().find("not followed"), std::string::npos) << r.message();
  EXPECT_EQ(server.seen().size(), 1u);
  EXPECT_TRUE(elsewhere.seen().empty()) << "the body and signature must not go elsewhere";
}

TEST_F(WebhookPluginTest, UnreachableEndpointFailsForRetry) {
  int port;
  {
    HttpServer gone({reply(200)});
    port = gone.port();
  }
  auto pre = call({{"url", "http://127.0.0.1:" + std::to_string(port) + "/hook"}, {"timeout", 5000}},
                  1, "preflight");
  EXPECT_EQ(pre.exit_code, 1) << pre.output;
  auto r = call({{"url", "http://127.0.0.1:" + std::to_string(port) + "/hook"}, {"timeout", 5000}});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.message().find("127.0.0.1:" + std::to_string(port)), std::string::npos) << r.message();
}

TEST_F(WebhookPluginTest, BadOptionsAreRefusedBeforeSending) {
  HttpServer server({reply(200)});
  auto header = call({{"url", server.url()}, {"headers", {{"X-Bad", "a\r\nInjected: yes"}}}});
  EXPECT_EQ(header.exit_code, 2) << header.output;
  EXPECT_NE(header.message().find("X-Bad"), std::string::npos) << header.message();
  auto bundle = call({{"url", server.url()}, {"ca_bundle", (work_ / "missing.pem").string()}});
  EXPECT_EQ(bundle.exit_code, 2) << bundle.output;
  EXPECT_NE(bundle.message().find("missing.pem"), std::string::npos) << bundle.message();
  EXPECT_TRUE(server.seen().empty());
}

}  // namespace
