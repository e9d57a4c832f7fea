// Issuance against a real Pebble (50% nonce rejection, no validation sleep, default authz reuse).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <random>
#include <spdlog/spdlog.h>
#include <thread>

#include "acme/account_store.hpp"
#include "acme/issue.hpp"
#include "pebble.hpp"
#include "testcerts.hpp"
#include "store/live_store.hpp"
#include "tempdir.hpp"

using namespace certhook;
namespace fs = std::filesystem;

namespace {

unsigned mode_of(const fs::path &p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

// Names nobody has validated before in this Pebble, so authorizations start pending.
std::string fresh_domain(const std::string &label) {
  static std::mt19937 rng{std::random_device{}()};
  return label + "-" + std::to_string(rng() % 1000000) + ".certhook.test";
}

// A plain static file server for the webroot test (what nginx would be in production).
class StaticServer {
 public:
  StaticServer(unsigned short port, fs::path root) : root_(std::move(root)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    if (::bind(fd_, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0 || ::listen(fd_, 64) != 0)
      throw std::runtime_error("static server: cannot listen");
    thread_ = std::thread([this] { run(); });
  }
  ~StaticServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  int served() const { return served_; }

 private:
  void run() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      std::string req;
      char buf[2048];
      while (req.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        req.append(buf, static_cast<std::size_t>(n));
      }
      std::string path = req.substr(4, req.find(' ', 4) - 4);   // "GET <path> HTTP/1.1"
      std::string reply;
      std::error_code ec;
      fs::path file = root_ / fs::path(path).relative_path();
      if (path.find("..") == std::string::npos && fs::is_regular_file(file, ec)) {
        std::string body = test::read_text(file);
        reply = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
        ++served_;
      } else {
        reply = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      }
      (void)::write(c, reply.data(), reply.size());
      ::close(c);
    }
  }
  fs::path root_;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<int> served_{0};
  std::thread thread_;
};

}  // namespace

class PebbleIssue : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    spdlog::set_level(spdlog::level::debug);
    pebble_ = new test::Pebble();
  }
  static void TearDownTestSuite() {
    delete pebble_;
    pebble_ = nullptr;
  }

  IssueRequest request(const std::string &name, std::vector<std::string> domains) const {
    IssueRequest r;
    r.name = name;
    r.domains = std::move(domains);
    r.acme.directory = pebble_->directory_url();
    r.acme.ca_bundle = pebble_->ca_bundle();
    r.acme.contact = {"mailto:ops@certhook.test"};
    r.challenge.mode = ChallengeSettings::Mode::standalone;
    r.challenge.listen = "127.0.0.1:" + std::to_string(pebble_->http_port());
    r.state_dir = state_.path();
    r.poll_timeout = std::chrono::seconds(30);
    return r;
  }

  void expect_no_live(const std::string &name) const {
    EXPECT_FALSE(live_dir(state_.path(), name).has_value());
    EXPECT_FALSE(fs::exists(state_.path() / "live" / name));
  }

  static test::Pebble *pebble_;
  test::TempDir state_{"st"};
};

test::Pebble *PebbleIssue::pebble_ = nullptr;

TEST_F(PebbleIssue, IssuesTwoNamesOverStandaloneHttp01) {
  std::string a = fresh_domain("a"), b = fresh_domain("b");
  IssueOutcome out = issue_certificate(request("site", {a, b}));
  ASSERT_TRUE(out.ok) << out.error << "\n" << pebble_->logs();
  fs::path live = state_.path() / "live" / "site";
  EXPECT_EQ(out.live_dir, live);
  ASSERT_TRUE(fs::is_symlink(live));
  std::vector<std::string> want = {a, b};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(test::dns_names(test::read_text(live / "cert.pem")), want);
  // The chain verifies against Pebble's issuing root (fetched from the management interface).
  EXPECT_EQ(test::verify_chain(test::read_text(live / "cert.pem"), test::read_text(live / "chain.pem"), pebble_->root_pem()), "");
  EXPECT_EQ(test::read_text(live / "fullchain.pem"), test::read_text(live / "cert.pem") + test::read_text(live / "chain.pem"));
  // Modes: key 0600, key directories 0700.
  EXPECT_EQ(mode_of(live / "privkey.pem"), 0600u);
  EXPECT_EQ(mode_of(fs::canonical(live)), 0700u);
  // The account: key 0600 in a 0700 dir named by the directory URL's hash, registration with its URL.
  fs::path acct = acme::account_dir(state_.path(), pebble_->directory_url());
  EXPECT_EQ(mode_of(acct), 0700u);
  EXPECT_EQ(mode_of(acct / "account.key"), 0600u);
  EXPECT_NE(test::read_text(acct / "registration.json").find("\"url\": \"https://127.0.0.1:"), std::string::npos);
  // The challenge responder is gone once issuance is over.
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(pebble_->http_port());
  EXPECT_NE(::connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr), 0);
  ::close(fd);
}

TEST_F(PebbleIssue, IssuesOverWebrootAndCleansUp) {
  test::TempDir web{"wr"};
  StaticServer server(pebble_->http_port(), web.path());
  IssueRequest r = request("web", {fresh_domain("w")});
  r.challenge.mode = ChallengeSettings::Mode::webroot;
  r.challenge.webroot = web.path();
  IssueOutcome out = issue_certificate(r);
  ASSERT_TRUE(out.ok) << out.error << "\n" << pebble_->logs();
  EXPECT_GT(server.served(), 0);
  EXPECT_FALSE(fs::exists(web.path() / ".well-known"));   // token files and the dirs it created are gone
  EXPECT_EQ(test::verify_chain(test::read_text(out.live_dir / "cert.pem"), test::read_text(out.live_dir / "chain.pem"),
                         pebble_->root_pem()), "");
}

TEST_F(PebbleIssue, ReuseKeyKeepsTheKeyAndTheDefaultMakesANewOne) {
  std::string d = fresh_domain("k");
  IssueRequest r = request("keys", {d});
  r.key_type = KeyType::ecdsa_p384;
  IssueOutcome first = issue_certificate(r);
  ASSERT_TRUE(first.ok) << first.error;
  fs::path live = state_.path() / "live" / "keys";
  std::string key1 = test::read_text(live / "privkey.pem");
  std::string cert1 = test::read_text(live / "cert.pem");
  EXPECT_EQ(fs::read_symlink(live), fs::path("../archive/keys/1"));

  fs::path account_key = acme::account_dir(state_.path(), pebble_->directory_url()) / "account.key";
  std::string account_pem = test::read_text(account_key);

  r.reuse_key = true;
  IssueOutcome second = issue_certificate(r);
  ASSERT_TRUE(second.ok) << second.error;
  EXPECT_TRUE(second.reused_key);
  EXPECT_EQ(test::read_text(live / "privkey.pem"), key1);
  EXPECT_NE(test::read_text(live / "cert.pem"), cert1);
  EXPECT_EQ(fs::read_symlink(live), fs::path("../archive/keys/2"));   // swapped to the new version

  r.reuse_key = false;
  IssueOutcome third = issue_certificate(r);
  ASSERT_TRUE(third.ok) << third.error;
  EXPECT_FALSE(third.reused_key);
  EXPECT_NE(test::read_text(live / "privkey.pem"), key1);
  EXPECT_EQ(fs::read_symlink(live), fs::path("../archive/keys/3"));
  // the account was reused, not re-created
  EXPECT_EQ(test::read_text(account_key), account_pem);
  // older versions are kept, complete
  EXPECT_EQ(test::read_text(state_.path() / "archive" / "keys" / "1" / "privkey.pem"), key1);
}

TEST_F(PebbleIssue, RsaKeyType) {
  IssueRequest r = request("rsa", {fresh_domain("r")});
  r.key_type = KeyType::rsa_2048;
  IssueOutcome out = issue_certificate(r);
  ASSERT_TRUE(out.ok) << out.error;
  EXPECT_NE(test::read_text(out.live_dir / "privkey.pem").find("BEGIN PRIVATE KEY"), std::string::npos);
}

TEST_F(PebbleIssue, InvalidDomainIsRejectedWithTheProblem) {
  IssueOutcome out = issue_certificate(request("bad", {"bad_name!"}));
  ASSERT_FALSE(out.ok);
  EXPECT_EQ(out.error.rfind("acme: urn:ietf:params:acme:error:", 0), 0u) << out.error;
  EXPECT_NE(out.error.find("bad_name!"), std::string::npos) << out.error;
  expect_no_live("bad");
}

TEST_F(PebbleIssue, ChallengePortInUseFailsClearly) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;   // earlier validations may have left the port in TIME_WAIT
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(pebble_->http_port());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  IssueOutcome out = issue_certificate(request("busy", {fresh_domain("p")}));
  ::close(fd);
  ASSERT_FALSE(out.ok);
  EXPECT_EQ(out.error, "challenge: cannot listen on 127.0.0.1:" + std::to_string(pebble_->http_port()) + ": address in use");
  expect_no_live("busy");
}

TEST_F(PebbleIssue, AcmeServerDownIsConnectionRefused) {
  IssueRequest r = request("down", {fresh_domain("d")});
  r.acme.directory = "https://127.0.0.1:" + std::to_string(test::free_port()) + "/dir";
  IssueOutcome out = issue_certificate(r);
  ASSERT_FALSE(out.ok);
  EXPECT_EQ(out.error.rfind("acme: cannot connect to " + r.acme.directory + ": connection refused", 0), 0u) << out.error;
  expect_no_live("down");
}

TEST_F(PebbleIssue, UntrustedDirectoryTlsNamesTheFix) {
  IssueRequest r = request("tls", {fresh_domain("t")});
  r.acme.ca_bundle.clear();
  IssueOutcome out = issue_certificate(r);
  ASSERT_FALSE(out.ok);
  EXPECT_NE(out.error.find("acme: " + r.acme.directory + ": the server's TLS certificate is not trusted"), std::string::npos)
      << out.error;
  EXPECT_NE(out.error.find("set [acme] ca_bundle"), std::string::npos) << out.error;
  expect_no_live("tls");
}

TEST_F(PebbleIssue, FailedValidationShowsTheChallengeProblem) {
  // Nothing answers on the validation port: the authorization becomes invalid.
  IssueRequest r = request("noanswer", {fresh_domain("n")});
  test::TempDir web{"wr"};
  r.challenge.mode = ChallengeSettings::Mode::webroot;   // files written, but no server serves them
  r.challenge.webroot = web.path();
  IssueOutcome out = issue_certificate(r);
  ASSERT_FALSE(out.ok);
  EXPECT_EQ(out.error.rfind("acme: urn:ietf:params:acme:error:", 0), 0u) << out.error;
  EXPECT_NE(out.error.find("http-01 validation failed"), std::string::npos) << out.error;
  EXPECT_FALSE(fs::exists(web.path() / ".well-known"));   // cleaned up on failure too
  expect_no_live("noanswer");
}

TEST_F(PebbleIssue, PollingStopsAtTheDeadlineWithAClearError) {
  // The validation port accepts connections but never answers: the authorization stays pending.
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(pebble_->http_port());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 16), 0);
  test::TempDir web{"wr"};
  IssueRequest r = request("slow", {fresh_domain("s")});
  r.challenge.mode = ChallengeSettings::Mode::webroot;
  r.challenge.webroot = web.path();
  r.poll_timeout = std::chrono::milliseconds(300);
  IssueOutcome out = issue_certificate(r);
  ::close(fd);
  ASSERT_FALSE(out.ok);
  EXPECT_NE(out.error.find("acme: slow: authorization for s-"), std::string::npos) << out.error;
  EXPECT_NE(out.error.find("after 300ms; the CA did not finish in time"), std::string::npos) << out.error;
  EXPECT_FALSE(fs::exists(web.path() / ".well-known"));
  expect_no_live("slow");
}

TEST_F(PebbleIssue, InvalidCertificateNameFailsBeforeAnyTraffic) {
  IssueOutcome out = issue_certificate(request("../escape", {fresh_domain("e")}));
  ASSERT_FALSE(out.ok);
  EXPECT_EQ(out.error.rfind("acme: certificate name \"../escape\" is invalid", 0), 0u) << out.error;
  EXPECT_FALSE(fs::exists(state_.path() / "accounts"));
}

TEST_F(PebbleIssue, ContactChangesUpdateTheAccount) {
  IssueRequest r = request("contact", {fresh_domain("c")});
  ASSERT_TRUE(issue_certificate(r).ok);
  fs::path reg = acme::account_dir(state_.path(), pebble_->directory_url()) / "registration.json";
  EXPECT_NE(test::read_text(reg).find("mailto:ops@certhook.test"), std::string::npos);
  r.acme.contact = {"mailto:new@certhook.test"};
  IssueOutcome out = issue_certificate(r);
  ASSERT_TRUE(out.ok) << out.error;
  EXPECT_NE(test::read_text(reg).find("mailto:new@certhook.test"), std::string::npos);
  EXPECT_EQ(test::read_text(reg).find("mailto:ops@certhook.test"), std::string::npos);
}
