#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <future>
#include <thread>
#include <vector>

#include "acme/problem.hpp"
#include "acme/standalone_responder.hpp"
#include "acme/webroot_responder.hpp"
#include "pebble.hpp"
#include "tempdir.hpp"

using namespace certhook;
using namespace certhook::acme;
namespace fs = std::filesystem;

namespace {
// A raw HTTP/1.1 GET; returns the whole response text.
std::string http_get(unsigned short port, const std::string &path) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0) {
    ::close(fd);
    return "connect failed";
  }
  std::string req = "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  (void)::write(fd, req.data(), req.size());
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return out;
}
}  // namespace

TEST(StandaloneResponder, ServesTokensConcurrentlyAndStops) {
  unsigned short port = test::free_port();
  StandaloneResponder r("127.0.0.1:" + std::to_string(port));
  r.add("tok1", "tok1.thumb");
  r.start();
  r.add("tok2", "tok2.thumb");
  // Several near-simultaneous requests, as Pebble's vantage points send them.
  std::vector<std::future<std::string>> replies;
  for (int i = 0; i < 8; ++i)
    replies.push_back(std::async(std::launch::async, [&, i] {
      return http_get(port, i % 2 ? "/.well-known/acme-challenge/tok2" : "/.well-known/acme-challenge/tok1");
    }));
  for (int i = 0; i < 8; ++i) {
    std::string reply = replies[static_cast<std::size_t>(i)].get();
    EXPECT_NE(reply.find("200 OK"), std::string::npos) << reply;
    EXPECT_TRUE(reply.ends_with(i % 2 ? "tok2.thumb" : "tok1.thumb")) << reply;
  }
  EXPECT_NE(http_get(port, "/.well-known/acme-challenge/nope").find("404"), std::string::npos);
  EXPECT_NE(http_get(port, "/other").find("404"), std::string::npos);
  EXPECT_EQ(r.requests_served(), 8);
  r.stop();
  EXPECT_EQ(http_get(port, "/.well-known/acme-challenge/tok1"), "connect failed");
}

TEST(StandaloneResponder, PortInUseIsAClearError) {
  unsigned short port = test::free_port();
  StandaloneResponder first("127.0.0.1:" + std::to_string(port));
  first.start();
  StandaloneResponder second("127.0.0.1:" + std::to_string(port));
  try {
    second.start();
    FAIL() << "expected an error";
  } catch (const AcmeError &e) {
    EXPECT_EQ(std::string(e.what()), "challenge: cannot listen on 127.0.0.1:" + std::to_string(port) + ": address in use");
  }
}

TEST(StandaloneResponder, BadListenAddressIsAClearError) {
  StandaloneResponder r("example.com");
  try {
    r.start();
    FAIL() << "expected an error";
  } catch (const AcmeError &e) {
    EXPECT_NE(std::string(e.what()).find("challenge: listen \"example.com\" is not host:port"), std::string::npos)
        << e.what();
  }
}

TEST(WebrootResponder, WritesTokenFilesAndRemovesThemAndItsDirs) {
  test::TempDir web;
  fs::path dir = web.path() / ".well-known" / "acme-challenge";
  {
    WebrootResponder r(web.path());
    r.add("tokA", "tokA.thumb");
    r.start();
    EXPECT_EQ(test::read_text(dir / "tokA"), "tokA.thumb");
    struct stat st {};
    ASSERT_EQ(::stat((dir / "tokA").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0644u);
    r.stop();
    EXPECT_FALSE(fs::exists(dir / "tokA"));
    EXPECT_FALSE(fs::exists(web.path() / ".well-known"));
  }
  // Existing directories (and other files in them) are left alone; removal also happens in the
  // destructor, i.e. on failure paths.
  test::write_text(dir / "keep", "operator");
  {
    WebrootResponder r(web.path());
    r.add("tokB", "tokB.thumb");
  }
  EXPECT_FALSE(fs::exists(dir / "tokB"));
  EXPECT_EQ(test::read_text(dir / "keep"), "operator");
}

TEST(WebrootResponder, RejectsMissingWebrootAndUnsafeTokens) {
  WebrootResponder r("/nonexistent/webroot");
  try {
    r.add("tok", "tok.x");
    FAIL() << "expected an error";
  } catch (const AcmeError &e) {
    EXPECT_NE(std::string(e.what()).find("challenge: webroot /nonexistent/webroot is not a directory"), std::string::npos)
        << e.what();
  }
  test::TempDir web;
  WebrootResponder w(web.path());
  EXPECT_THROW(w.add("../../etc/passwd", "x"), AcmeError);
}
