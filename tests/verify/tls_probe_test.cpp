// The TLS probe against a real nginx on 127.0.0.1 and against sockets that do not speak TLS.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "servers.hpp"
#include "testcerts.hpp"
#include "verify/tls_probe.hpp"

using namespace certhook;
using namespace std::chrono_literals;

namespace {

struct TwoSites : ::testing::Test {
  test::TempDir certs{"vc"};
  test::Pem ca = test::make_ca();
  test::Pem a = test::make_leaf(ca, {.names = {"a.test"}});
  test::Pem b = test::make_leaf(ca, {.names = {"b.test"}, .kind = test::KeyKind::rsa_2048});
  std::unique_ptr<test::NginxServer> nginx;

  void SetUp() override {
    test::write_lineage(certs / "a", a, ca);
    test::write_lineage(certs / "b", b, ca);
    nginx = std::make_unique<test::NginxServer>(std::vector<test::TlsSite>{
        {"a.test", certs / "a" / "fullchain.pem", certs / "a" / "privkey.pem"},
        {"b.test", certs / "b" / "fullchain.pem", certs / "b" / "privkey.pem"}});
  }
};

// A listening socket on 127.0.0.1 (the kernel completes TCP handshakes; nobody speaks TLS).
struct Listener {
  int fd = -1;
  std::uint16_t port = 0;
  Listener() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(fd, 8), 0);
    ::getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len);
    port = ntohs(addr.sin_port);
  }
  ~Listener() { ::close(fd); }
  std::string connect() const { return "127.0.0.1:" + std::to_string(port); }
};

}  // namespace

TEST_F(TwoSites, ServedFingerprintFollowsServerName) {
  EXPECT_EQ(served_fingerprint(nginx->connect(), "a.test", 5s), test::fingerprint_of(a.cert));
  EXPECT_EQ(served_fingerprint(nginx->connect(), "b.test", 5s), test::fingerprint_of(b.cert));
  // No SNI (empty, or an IP literal, which SNI cannot carry): the default server answers.
  EXPECT_EQ(served_fingerprint(nginx->connect(), "", 5s), test::fingerprint_of(a.cert));
  EXPECT_EQ(served_fingerprint(nginx->connect(), "127.0.0.1", 5s), test::fingerprint_of(a.cert));
}

TEST_F(TwoSites, WaitSucceedsAtOnceWhenServed) {
  auto fp = test::fingerprint_of(b.cert);
  std::string shouted;
  for (std::size_t i = 0; i < fp.size(); i += 2) shouted += (i ? ":" : "") + fp.substr(i, 2);
  for (auto &ch : shouted) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  auto out = wait_for_fingerprint(nginx->connect(), "b.test", shouted, 5s);
  EXPECT_TRUE(out.ok) << out.message;
  EXPECT_EQ(out.handshakes, 1);
  EXPECT_EQ(out.served, fp);
}

TEST_F(TwoSites, WaitFailsNamingBothFingerprints) {
  auto expected = test::fingerprint_of(b.cert);
  auto served = test::fingerprint_of(a.cert);
  auto out = wait_for_fingerprint(nginx->connect(), "a.test", expected, 300ms);
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.served, served);
  EXPECT_GT(out.handshakes, 1) << "it must poll, not look once";
  EXPECT_NE(out.message.find(expected), std::string::npos) << out.message;
  EXPECT_NE(out.message.find(served), std::string::npos) << out.message;
  EXPECT_NE(out.message.find(nginx->connect()), std::string::npos) << out.message;
}

TEST(TlsProbe, ConnectionRefusedIsNamed) {
  auto port = test::free_port();  // nothing listens there
  const std::string where = "127.0.0.1:" + std::to_string(port);
  try {
    served_fingerprint(where, "a.test", 2s);
    FAIL() << "expected VerifyError";
  } catch (const VerifyError &e) {
    EXPECT_EQ(std::string(e.what()), "verify: " + where + ": connection refused");
  }
  auto out = wait_for_fingerprint(where, "a.test", "abcd", 100ms);
  EXPECT_FALSE(out.ok);
  EXPECT_NE(out.message.find("connection refused"), std::string::npos) << out.message;
  EXPECT_NE(out.message.find("expected abcd"), std::string::npos) << out.message;
}

TEST(TlsProbe, SilentServerTimesOutInHandshake) {
  Listener quiet;
  try {
    served_fingerprint(quiet.connect(), "a.test", 200ms);
    FAIL() << "expected VerifyError";
  } catch (const VerifyError &e) {
    EXPECT_EQ(std::string(e.what()),
              "verify: " + quiet.connect() + ": handshake failed: timed out after 200ms");
  }
}

TEST(TlsProbe, PlainTextServerFailsHandshake) {
  Listener plain;
  std::thread server([&] {
    int c = ::accept(plain.fd, nullptr, nullptr);
    if (c < 0) return;
    char buf[512];
    (void)!::read(c, buf, sizeof buf);
    const char reply[] = "HTTP/1.0 400 Bad Request\r\n\r\n";
    (void)!::write(c, reply, sizeof reply - 1);
    ::close(c);
  });
  try {
    served_fingerprint(plain.connect(), "a.test", 2s);
    ADD_FAILURE() << "expected VerifyError";
  } catch (const VerifyError &e) {
    std::string what = e.what();
    EXPECT_EQ(what.rfind("verify: " + plain.connect() + ": handshake failed: ", 0), 0u) << what;
    EXPECT_GT(what.size(), ("verify: " + plain.connect() + ": handshake failed: ").size()) << what;
  }
  server.join();
}

TEST(TlsProbe, MalformedAddressIsRejected) {
  for (const char *bad : {"127.0.0.1", "host:", ":443", "host:99999", "host:44a", "[::1]443", "a:b:c"}) {
    try {
      served_fingerprint(bad, "", 1s);
      ADD_FAILURE() << bad << " accepted";
    } catch (const VerifyError &e) {
      EXPECT_NE(std::string(e.what()).find("host:port"), std::string::npos) << e.what();
    }
  }
}

TEST(TlsProbe, NormalizesFingerprints) {
  EXPECT_EQ(normalize_fingerprint("AB:cd:0F"), "abcd0f");
  EXPECT_EQ(normalize_fingerprint("abcd"), "abcd");
}
