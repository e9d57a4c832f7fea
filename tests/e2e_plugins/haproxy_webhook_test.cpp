// Issue 6 through the certhook binary: HAProxy hot update over its runtime API (no reload, PIDs
// unchanged, verified by a handshake, file on disk replaced) and webhook retry rules against a
// local HTTP server.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include "e2e.hpp"
#include "servers.hpp"

using namespace certhook::test;
namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

TEST(E2eHaproxy, RunHotUpdatesWithoutReloadAndVerifies) {
  CerthookEnv env{"eh"};
  Pem ca = make_ca();
  const std::string name = "h0.test";
  Pem a = make_leaf(ca, {.names = {name}}), b = make_leaf(ca, {.names = {name}});
  const fs::path lineage = env.dir() / "src" / name;
  write_lineage(lineage, a, ca);
  // HAProxy reads chain and key from one file: the crt path the plugin's cert_file names.
  const fs::path crt = env.dir() / "haproxy" / (name + ".pem");
  write_text(crt, a.cert + ca.cert + a.key, 0600);
  HaproxyServer server({{name, crt, {}}});
  ASSERT_EQ(handshake_fingerprint(server.port(), name), fingerprint_of(a.cert));
  const pid_t master = server.master_pid();
  auto workers = server.worker_pids();
  std::sort(workers.begin(), workers.end());
  ASSERT_FALSE(workers.empty());

  env.write_config(
      "[[hook]]\nname = \"lb\"\ntype = \"haproxy\"\nretry = { attempts = 1 }\nverify = { connect = " +
          toml_str(server.connect()) + ", timeout = \"5s\" }\n[hook.options]\nsocket = " +
          toml_str(server.admin_socket().string()) + "\ncert_file = " +
          toml_str((env.dir() / "haproxy" / "{name}.pem").string()) + "\n\n[[certificate]]\nname = " +
          toml_str(name) + "\nsource = " + toml_str(lineage.string()) + "\nhooks = [\"lb\"]\n",
      {first_party_plugin_dir()});
  // The lineage now holds B (as certbot's renewal would leave it); HAProxy still serves A.
  write_lineage(lineage, b, ca);

  CliRun r = env.certhook({"run"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_TRUE(contains(r.out, "deployed: h0.test: lb\n")) << r.describe();
  EXPECT_EQ(env.hook_record(name, "lb")["deployed_fingerprint"], fingerprint_of(b.cert));
  // Served at once by the same processes, no reload.
  EXPECT_EQ(handshake_fingerprint(server.port(), name), fingerprint_of(b.cert));
  EXPECT_EQ(server.master_pid(), master);
  auto after = server.worker_pids();
  std::sort(after.begin(), after.end());
  EXPECT_EQ(after, workers);
  EXPECT_EQ(server.reload_count(), 0);
  // The file on disk is B too (chain and key in one PEM), so a later reload keeps serving it.
  const std::string on_disk = read_text(crt);
  EXPECT_TRUE(contains(on_disk, b.cert)) << on_disk;
  EXPECT_TRUE(contains(on_disk, b.key));
  EXPECT_FALSE(contains(on_disk, a.cert));

  // Nothing left to do on the next run.
  r = env.certhook({"run"});
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_TRUE(contains(r.out, "nothing to do")) << r.describe();
}

// ---- a plain HTTP/1.1 server on 127.0.0.1 answering with scripted status codes -------------
class ScriptedHttp {
 public:
  explicit ScriptedHttp(std::vector<int> statuses) : statuses_(std::move(statuses)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0 || ::listen(fd_, 16) != 0)
      throw std::runtime_error("test HTTP server: bind/listen failed");
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr *>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { loop(); });
  }
  ~ScriptedHttp() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
  std::vector<json> bodies() {
    std::lock_guard lock(mutex_);
    return bodies_;
  }

 private:
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
    std::string data;
    char buf[4096];
    std::size_t end;
    while ((end = data.find("\r\n\r\n")) == std::string::npos) {
      ssize_t n = ::read(c, buf, sizeof buf);
      if (n <= 0) return;
      data.append(buf, static_cast<std::size_t>(n));
    }
    std::size_t length = 0;
    std::string head = data.substr(0, end);
    std::transform(head.begin(), head.end(), head.begin(), [](unsigned char ch) { return std::tolower(ch); });
    if (auto p = head.find("content-length:"); p != std::string::npos)
      length = std::stoul(head.substr(p + 15));
    while (data.size() < end + 4 + length) {
      ssize_t n = ::read(c, buf, sizeof buf);
      if (n <= 0) break;
      data.append(buf, static_cast<std::size_t>(n));
    }
    int status;
    {
      std::lock_guard lock(mutex_);
      bodies_.push_back(json::parse(data.substr(end + 4), nullptr, false));
      status = statuses_[std::min(bodies_.size(), statuses_.size()) - 1];
    }
    std::string reply = "HTTP/1.1 " + std::to_string(status) + " Scripted\r\nContent-Type: text/plain\r\n"
                        "Content-Length: 8\r\nConnection: close\r\n\r\nscripted";
    (void)!::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);   // the client may be gone: no SIGPIPE
  }

  std::vector<int> statuses_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::vector<json> bodies_;
  std::thread thread_;
};

struct E2eWebhook : ::testing::Test {
  CerthookEnv env{"ek"};
  Pem ca = make_ca();
  Pem leaf = make_leaf(ca, {.names = {"w.test"}});

  void configure(const std::string &url) {
    write_lineage(env.dir() / "src" / "w.test", leaf, ca);
    env.write_config("[[hook]]\nname = \"notify\"\ntype = \"webhook\"\n"
                     "retry = { attempts = 3, delay = \"10ms\", max_delay = \"50ms\" }\n"
                     "[hook.options]\nurl = " + toml_str(url) +
                         "\n\n[[certificate]]\nname = \"w.test\"\nsource = " +
                         toml_str((env.dir() / "src" / "w.test").string()) + "\nhooks = [\"notify\"]\n",
                     {first_party_plugin_dir()});
  }
};

TEST_F(E2eWebhook, ServiceUnavailableIsRetriedThenDeployed) {
  ScriptedHttp http({503, 200});
  configure(http.url());
  CliRun r = env.certhook({"run"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_TRUE(contains(r.out, "deployed: w.test: notify\n")) << r.describe();
  EXPECT_TRUE(contains(r.err, "notify: attempt 1/3 failed: ")) << r.err;
  EXPECT_TRUE(contains(r.err, "503")) << r.err;
  auto bodies = http.bodies();
  ASSERT_EQ(bodies.size(), 2u) << "the server saw the first try and one retry";
  EXPECT_EQ(bodies[0]["attempt"], 1);
  EXPECT_EQ(bodies[1]["attempt"], 2);
  EXPECT_EQ(bodies[1]["certificate"], "w.test");
  EXPECT_EQ(bodies[1]["fingerprint"], fingerprint_of(leaf.cert));
  json rec = env.hook_record("w.test", "notify");
  EXPECT_EQ(rec["deployed_fingerprint"], fingerprint_of(leaf.cert)) << rec.dump();
  EXPECT_EQ(rec["attempts"], 0) << rec.dump();
}

TEST_F(E2eWebhook, NotFoundFailsWithoutRetry) {
  ScriptedHttp http({404, 200});
  configure(http.url());
  CliRun r = env.certhook({"run"});
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_TRUE(contains(failed_line(r.out, "w.test", "notify"), "404")) << r.describe();
  EXPECT_EQ(http.bodies().size(), 1u) << "a 4xx is permanent: no retry";
  json rec = env.hook_record("w.test", "notify");
  EXPECT_EQ(rec["deployed_fingerprint"], "") << rec.dump();
  EXPECT_EQ(rec["attempts"], 1) << rec.dump();
  EXPECT_TRUE(contains(rec["last_error"].get<std::string>(), "404")) << rec.dump();

  // The next run tries again (still pending), once.
  r = env.certhook({"run"});
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(http.bodies().size(), 2u);
  EXPECT_EQ(env.hook_record("w.test", "notify")["attempts"], 0);
}

}  // namespace
