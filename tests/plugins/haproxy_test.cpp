// The haproxy plugin against a real HAProxy 2.6 (master-worker, admin stats socket), driven
// through the real certhook-plugin-host. What HAProxy serves is checked with an independent TLS
// handshake (OpenSSL), never through the plugin.
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
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
using namespace std::chrono_literals;

namespace {

const std::string kHost = std::string(CERTHOOK_BUILD_DIR) + "/bin/certhook-plugin-host";
const std::string kPlugin = std::string(CERTHOOK_BUILD_DIR) + "/lib/certhook/plugins/haproxy.so";

// ---- processes -----------------------------------------------------------------------------
// Programs run to completion with stdout+stderr captured.
using RunResult = certhook::test::CommandResult;
RunResult run(const std::vector<std::string> &argv) { return certhook::test::run_command(argv); }

bool alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z';
}

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// ---- an independent look at HAProxy --------------------------------------------------------
// One command on a Unix stats socket, read to EOF (test-side, independent of the plugin).
std::string cli(const fs::path &socket, const std::string &command) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, socket.c_str(), sizeof a.sun_path - 1);
  if (::connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0) {
    ::close(fd);
    return "connect failed";
  }
  std::string out = command + "\n";
  (void)!::write(fd, out.data(), out.size());
  std::string reply;
  char buf[4096];
  pollfd p{fd, POLLIN, 0};
  while (::poll(&p, 1, 5000) > 0) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    reply.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return reply;
}

// One command on the master CLI (-S): it answers after the write side is shut down.
std::string master_cli(const fs::path &socket, const std::string &command) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, socket.c_str(), sizeof a.sun_path - 1);
  std::string reply;
  if (::connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0) {
    std::string out = command + "\n";
    (void)!::write(fd, out.data(), out.size());
    ::shutdown(fd, SHUT_WR);
    char buf[4096];
    pollfd p{fd, POLLIN, 0};
    while (::poll(&p, 1, 2000) > 0) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) break;
      reply.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return reply;
}

// SHA-256 (lowercase hex) of the leaf certificate HAProxy presents for `sni`, or "" on failure.
std::string served_fingerprint(int port, const std::string &sni) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  std::string result;
  if (::connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0) {
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    SSL_set_tlsext_host_name(ssl, sni.c_str());
    if (SSL_connect(ssl) == 1) {
      if (X509 *peer = SSL_get1_peer_certificate(ssl)) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned len = 0;
        X509_digest(peer, EVP_sha256(), md, &len);
        static constexpr char hex[] = "0123456789abcdef";
        for (unsigned i = 0; i < len; ++i) {
          result += hex[md[i] >> 4];
          result += hex[md[i] & 15];
        }
        X509_free(peer);
      }
    }
    SSL_free(ssl);
  }
  ::close(fd);
  SSL_CTX_free(ctx);
  ERR_clear_error();
  return result;
}

// ---- a private HAProxy (master-worker) in a short temp dir ---------------------------------
class Haproxy {
 public:
  explicit Haproxy(const fs::path &dir) : dir_(dir), port_(free_port()) {}
  ~Haproxy() { stop(); }

  // `crt_list` lines are written to DIR/list.txt; the bind serves it with SNI selection.
  void start(const std::string &extra_global = {}) {
    std::ofstream cfg(dir_ / "haproxy.cfg");
    cfg << "global\n"
        << "  stats socket " << (dir_ / "admin.sock").string() << " mode 600 level admin\n"
        << "  stats socket " << (dir_ / "oper.sock").string() << " mode 600 level operator\n"
        << "  pidfile " << (dir_ / "haproxy.pid").string() << "\n"
        << extra_global
        << "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n"
        << "frontend fe\n  bind 127.0.0.1:" << port_ << " ssl crt-list "
        << (dir_ / "list.txt").string() << "\n  default_backend be\n"
        << "backend be\n  server s1 127.0.0.1:9\n";
    cfg.close();
    auto r = run({"/usr/sbin/haproxy", "-D", "-W", "-f", (dir_ / "haproxy.cfg").string(), "-S",
                  (dir_ / "master.sock").string() + ",mode,600"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    for (int i = 0; i < 500 && master_ == 0; ++i) {
      std::ifstream pid(dir_ / "haproxy.pid");
      if (!(pid >> master_)) {
        master_ = 0;
        std::this_thread::sleep_for(10ms);
      }
    }
    ASSERT_NE(master_, 0) << "haproxy wrote no pidfile";
    for (int i = 0; i < 500 && (workers().empty() || !fs::exists(dir_ / "admin.sock") ||
                                served_fingerprint(port_, "probe").empty());
         ++i)
      std::this_thread::sleep_for(10ms);
    ASSERT_FALSE(workers().empty());
    // The master handles SIGUSR2 only once its event loop runs; its CLI answering shows that.
    for (int i = 0; i < 500 && master_cli(dir_ / "master.sock", "show proc").find("worker") == std::string::npos; ++i)
      std::this_thread::sleep_for(10ms);
  }

  void stop() {
    if (master_ == 0) return;
    ::kill(master_, SIGTERM);
    for (int i = 0; i < 500 && alive(master_); ++i) std::this_thread::sleep_for(10ms);
    if (alive(master_)) ::kill(master_, SIGKILL);
    master_ = 0;
  }

  std::set<pid_t> workers() const {
    std::set<pid_t> out;
    std::error_code ec;
    for (const auto &task : fs::directory_iterator("/proc/" + std::to_string(master_) + "/task", ec)) {
      std::ifstream children(task.path() / "children");
      pid_t p;
      while (children >> p) out.insert(p);
    }
    return out;
  }

  // A real reload (SIGUSR2 to the master); returns once every old worker has exited.
  void reload() {
    auto before = workers();
    ::kill(master_, SIGUSR2);
    for (int i = 0; i < 1000; ++i) {
      std::this_thread::sleep_for(10ms);
      auto now = workers();
      bool old_gone = true;
      for (pid_t p : before) old_gone = old_gone && !alive(p);
      if (old_gone && !now.empty()) return;
    }
    FAIL() << "reload did not replace the workers; master says:\n"
           << master_cli(dir_ / "master.sock", "show proc");
  }

  pid_t master() const { return master_; }
  int port() const { return port_; }
  fs::path socket() const { return dir_ / "admin.sock"; }

 private:
  fs::path dir_;
  int port_;
  pid_t master_ = 0;
};

// The combined PEM HAProxy reads: fullchain + key.
std::string combined(const Pem &leaf, const Pem &ca) { return leaf.cert + ca.cert + leaf.key; }

struct HostCall {
  int exit_code = -1;
  json result;
  std::string output;
};

class HaproxyPluginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = certhook::test::make_ca();
    a_ = certhook::test::make_leaf(ca_, {.names = {"site.test"}});
    b_ = certhook::test::make_leaf(ca_, {.names = {"site.test"}});
    other_ = certhook::test::make_leaf(ca_, {.names = {"other.test"}});
    certhook::test::write_text(dir_ / "site.pem", combined(a_, ca_), 0600);
    certhook::test::write_text(dir_ / "other.pem", combined(other_, ca_), 0600);
    certhook::test::write_text(dir_ / "list.txt",
                               (dir_ / "site.pem").string() + "\n" + (dir_ / "other.pem").string() + "\n");
    haproxy_.start();
  }

  // Runs `certhook-plugin-host call haproxy.so VERB` for a lineage directory.
  HostCall call(const std::string &verb, const json &options, const fs::path &lineage,
                const std::string &name = "site") {
    static std::atomic<int> counter{0};
    const int n = ++counter;
    json request = {{"hook", "haproxy-hot"},
                    {"options", options},
                    {"attempt", 1},
                    {"dry_run", verb == "preflight"},
                    {"certificates",
                     {{{"name", name},
                       {"domains", {name + ".test"}},
                       {"lineage", lineage.string()},
                       {"cert_path", (lineage / "cert.pem").string()},
                       {"key_path", (lineage / "privkey.pem").string()},
                       {"chain_path", (lineage / "chain.pem").string()},
                       {"fullchain_path", (lineage / "fullchain.pem").string()},
                       {"fingerprint", "00"},
                       {"not_after", "2030-01-01T00:00:00Z"},
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

  json options(const std::string &cert_file = "{name}.pem") const {
    return {{"socket", haproxy_.socket().string()},
            {"cert_file", (dir_ / cert_file).string()},
            {"write_file", true},
            {"timeout", 5000}};
  }

  fs::path lineage(const std::string &name, const Pem &leaf) {
    fs::path d = work_ / name;
    certhook::test::write_lineage(d, leaf, ca_);
    return d;
  }

  std::string served(const std::string &sni = "site.test") { return served_fingerprint(haproxy_.port(), sni); }
  std::string open_transaction() { return cli(haproxy_.socket(), "show ssl cert"); }

  TempDir dir_{"hx"};     // HAProxy's files (short: socket paths)
  TempDir work_{"hw"};    // lineages, requests, results
  Haproxy haproxy_{dir_.path()};
  Pem ca_, a_, b_, other_;
};

TEST_F(HaproxyPluginTest, HotUpdatesTheServedCertificateWithoutReload) {
  ASSERT_EQ(served(), certhook::test::fingerprint_of(a_.cert));
  const pid_t master = haproxy_.master();
  const auto workers = haproxy_.workers();

  auto r = call("deploy", options(), lineage("b", b_));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.result.value("status", ""), "ok");

  EXPECT_EQ(served(), certhook::test::fingerprint_of(b_.cert));
  EXPECT_EQ(haproxy_.master(), master);
  EXPECT_EQ(haproxy_.workers(), workers) << "the update must not reload HAProxy";
  EXPECT_EQ(certhook::test::read_text(dir_ / "site.pem"), combined(b_, ca_));
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "site.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(open_transaction().find("# transaction"), std::string::npos);

  haproxy_.reload();   // a real reload reads the file on disk
  EXPECT_NE(haproxy_.workers(), workers);
  EXPECT_EQ(served(), certhook::test::fingerprint_of(b_.cert));
  EXPECT_EQ(served("other.test"), certhook::test::fingerprint_of(other_.cert));
}

TEST_F(HaproxyPluginTest, AddsACertificateHaproxyDoesNotKnowToTheCrtList) {
  Pem fresh = certhook::test::make_leaf(ca_, {.names = {"fresh.test"}});
  ASSERT_NE(served("fresh.test"), certhook::test::fingerprint_of(fresh.cert));

  // without crt_list the plugin refuses, naming the fix, and creates nothing
  auto refused = call("deploy", options(), lineage("fresh", fresh), "fresh");
  EXPECT_EQ(refused.exit_code, 2) << refused.output;
  EXPECT_NE(refused.result.value("message", "").find("crt_list"), std::string::npos) << refused.output;
  EXPECT_EQ(cli(haproxy_.socket(), "show ssl cert").find("fresh.pem"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ / "fresh.pem"));

  json opts = options();
  opts["crt_list"] = (dir_ / "list.txt").string();
  auto r = call("deploy", opts, lineage("fresh", fresh), "fresh");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(served("fresh.test"), certhook::test::fingerprint_of(fresh.cert));
  EXPECT_EQ(served("site.test"), certhook::test::fingerprint_of(a_.cert));
  EXPECT_EQ(certhook::test::read_text(dir_ / "fresh.pem"), combined(fresh, ca_));
  EXPECT_NE(certhook::test::read_text(dir_ / "list.txt").find((dir_ / "fresh.pem").string()),
            std::string::npos);

  // a second deploy replaces it in place and does not list it twice
  Pem fresh2 = certhook::test::make_leaf(ca_, {.names = {"fresh.test"}});
  r = call("deploy", opts, lineage("fresh2", fresh2), "fresh");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(served("fresh.test"), certhook::test::fingerprint_of(fresh2.cert));
  std::string listing = cli(haproxy_.socket(), "show ssl crt-list " + (dir_ / "list.txt").string());
  auto first = listing.find("fresh.pem");
  ASSERT_NE(first, std::string::npos) << listing;
  EXPECT_EQ(listing.find("fresh.pem", first + 1), std::string::npos) << listing;

  haproxy_.reload();   // the crt-list file on disk keeps it
  EXPECT_EQ(served("fresh.test"), certhook::test::fingerprint_of(fresh2.cert));
}

TEST_F(HaproxyPluginTest, PemWithBlankLinesAndCrlfDeploys) {
  fs::path d = lineage("crlf", b_);
  auto mangle = [](const std::string &pem) {
    std::string out = "\r\n";
    for (char c : pem) {
      if (c == '\n') out += "\r\n";
      else out += c;
    }
    return out + "\r\n\n";
  };
  certhook::test::write_text(d / "fullchain.pem", mangle(b_.cert) + "\n\n" + mangle(ca_.cert));
  certhook::test::write_text(d / "privkey.pem", "\n" + mangle(b_.key), 0600);

  auto r = call("deploy", options(), d);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(served(), certhook::test::fingerprint_of(b_.cert));
  EXPECT_EQ(certhook::test::read_text(dir_ / "site.pem"), combined(b_, ca_));
  EXPECT_EQ(open_transaction().find("# transaction"), std::string::npos);
}

TEST_F(HaproxyPluginTest, MismatchedKeyIsAbortedAndNothingChanges) {
  fs::path d = lineage("bad", b_);
  certhook::test::write_text(d / "privkey.pem", other_.key, 0600);   // not B's key
  const std::string before = certhook::test::read_text(dir_ / "site.pem");

  auto r = call("deploy", options(), d);
  EXPECT_NE(r.exit_code, 0) << r.output;
  const std::string message = r.result.value("message", "");
  EXPECT_NE(message.find("commit ssl cert"), std::string::npos) << message;
  EXPECT_NE(message.find("inconsistencies between private key and certificate"), std::string::npos) << message;

  EXPECT_EQ(served(), certhook::test::fingerprint_of(a_.cert));
  EXPECT_EQ(certhook::test::read_text(dir_ / "site.pem"), before);
  EXPECT_EQ(open_transaction().find("# transaction"), std::string::npos) << open_transaction();
  for (const auto &e : fs::directory_iterator(dir_.path()))
    EXPECT_EQ(e.path().filename().string().find(".certhook-"), std::string::npos) << e.path();

  auto next = call("deploy", options(), lineage("b", b_));
  ASSERT_EQ(next.exit_code, 0) << next.output;
  EXPECT_EQ(served(), certhook::test::fingerprint_of(b_.cert));
}

TEST_F(HaproxyPluginTest, RefusesAForeignTransactionAndClearsItsOwnStaleOne) {
  // Someone else's transaction on other.pem
  std::string set = "set ssl cert " + (dir_ / "other.pem").string() + " <<\n" + combined(other_, ca_);
  ASSERT_NE(cli(haproxy_.socket(), set).find("Transaction created"), std::string::npos);

  auto r = call("deploy", options(), lineage("b", b_));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  const std::string message = r.result.value("message", "");
  EXPECT_NE(message.find((dir_ / "other.pem").string()), std::string::npos) << message;
  EXPECT_NE(message.find("abort ssl cert"), std::string::npos) << message;
  EXPECT_NE(open_transaction().find("*" + (dir_ / "other.pem").string()), std::string::npos)
      << "a foreign transaction is left alone";
  EXPECT_EQ(served(), certhook::test::fingerprint_of(a_.cert));
  ASSERT_NE(cli(haproxy_.socket(), "abort ssl cert " + (dir_ / "other.pem").string()).find("aborted"),
            std::string::npos);

  // A stale transaction for our own name (an earlier attempt that died) is aborted and replaced.
  set = "set ssl cert " + (dir_ / "site.pem").string() + " <<\n" + combined(other_, ca_);
  ASSERT_NE(cli(haproxy_.socket(), set).find("Transaction created"), std::string::npos);
  r = call("deploy", options(), lineage("b", b_));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(served(), certhook::test::fingerprint_of(b_.cert));
  EXPECT_EQ(open_transaction().find("# transaction"), std::string::npos);
}

TEST_F(HaproxyPluginTest, ConcurrentDeploysToOneHaproxyAreSerialised) {
  Pem other2 = certhook::test::make_leaf(ca_, {.names = {"other.test"}});
  fs::path site = lineage("b", b_), other = lineage("o2", other2);
  std::vector<std::thread> threads;
  std::vector<HostCall> results(6);
  for (size_t i = 0; i < results.size(); ++i)
    threads.emplace_back([&, i] {
      results[i] = i % 2 ? call("deploy", options(), other, "other") : call("deploy", options(), site, "site");
    });
  for (auto &t : threads) t.join();
  for (const auto &r : results) EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(served("site.test"), certhook::test::fingerprint_of(b_.cert));
  EXPECT_EQ(served("other.test"), certhook::test::fingerprint_of(other2.cert));
  EXPECT_EQ(certhook::test::read_text(dir_ / "other.pem"), combined(other2, ca_));
}

TEST_F(HaproxyPluginTest, PreflightAcceptsAnAdminSocketAndChangesNothing) {
  auto r = call("preflight", options(), lineage("b", b_));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(served(), certhook::test::fingerprint_of(a_.cert));
  EXPECT_EQ(certhook::test::read_text(dir_ / "site.pem"), combined(a_, ca_));
}

TEST_F(HaproxyPluginTest, OperatorLevelSocketFailsClearly) {
  json opts = options();
  opts["socket"] = (dir_ / "oper.sock").string();
  auto pre = call("preflight", opts, lineage("b", b_));
  EXPECT_EQ(pre.exit_code, 2) << pre.output;
  EXPECT_NE(pre.result.value("message", "").find("level admin"), std::string::npos) << pre.output;

  auto r = call("deploy", opts, lineage("b", b_));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.result.value("message", "").find("Permission denied"), std::string::npos) << r.output;
  EXPECT_NE(r.result.value("message", "").find("level admin"), std::string::npos) << r.output;
  EXPECT_EQ(served(), certhook::test::fingerprint_of(a_.cert));
  EXPECT_EQ(certhook::test::read_text(dir_ / "site.pem"), combined(a_, ca_));
}

TEST_F(HaproxyPluginTest, MissingSocketFailsClearlyOrFallsBackToReloadCommand) {
  json opts = options();
  opts["socket"] = (dir_ / "missing.sock").string();
  auto pre = call("preflight", opts, lineage("b", b_));
  EXPECT_EQ(pre.exit_code, 1) << pre.output;
  EXPECT_NE(pre.result.value("message", "").find("missing.sock: cannot connect"), std::string::npos) << pre.output;

  auto r = call("deploy", opts, lineage("b", b_));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  const std::string message = r.result.value("message", "");
  EXPECT_NE(message.find("missing.sock: cannot connect: No such file or directory"), std::string::npos) << message;
  EXPECT_NE(message.find("reload_command"), std::string::npos) << message;
  EXPECT_EQ(certhook::test::read_text(dir_ / "site.pem"), combined(a_, ca_));

  // A fallback never writes a pair HAProxy could not load (it cannot vet it first here).
  fs::path marker = work_ / "reloaded";
  opts["reload_command"] = {"/usr/bin/touch", marker.string()};
  fs::path bad = lineage("bad", b_);
  certhook::test::write_text(bad / "privkey.pem", other_.key, 0600);
  r = call("deploy", opts, bad);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.result.value("message", "").find("does not match"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(marker));
  EXPECT_EQ(certhook::test::read_text(dir_ / "site.pem"), combined(a_, ca_));

  // With a fallback: the file is written, then the reload command reloads HAProxy.
  const auto workers = haproxy_.workers();
  opts["reload_command"] = {"/bin/kill", "-USR2", std::to_string(haproxy_.master())};
  r = call("deploy", opts, lineage("b", b_));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(certhook::test::read_text(dir_ / "site.pem"), combined(b_, ca_));
  std::string seen;
  for (int i = 0; i < 300 && seen != certhook::test::fingerprint_of(b_.cert); ++i) {
    std::this_thread::sleep_for(10ms);
    seen = served();
  }
  EXPECT_EQ(seen, certhook::test::fingerprint_of(b_.cert));
  EXPECT_NE(haproxy_.workers(), workers);
}

}  // namespace
