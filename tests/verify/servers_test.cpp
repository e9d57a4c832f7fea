// The test launchers themselves: each serves its sites by SNI, exposes what plugin tests need, and
// stops exactly its own processes.
#include <gtest/gtest.h>

#include <thread>

#include "servers.hpp"
#include "testcerts.hpp"
#include "verify/tls_probe.hpp"

using namespace certhook;
using namespace certhook::test;
using namespace std::chrono_literals;

namespace {

struct Sites {
  TempDir dir{"sv"};
  Pem ca = make_ca();
  std::vector<Pem> leaves;
  std::vector<TlsSite> sites;
  explicit Sites(int n, bool combined = false) {
    for (int i = 0; i < n; ++i) {
      std::string name = "s" + std::to_string(i) + ".test";
      leaves.push_back(make_leaf(ca, {.names = {name}}));
      auto lineage = dir / name;
      write_lineage(lineage, leaves.back(), ca);
      if (combined) {
        write_text(lineage / "combined.pem", leaves.back().cert + ca.cert + leaves.back().key, 0600);
        sites.push_back({name, lineage / "combined.pem", {}});
      } else {
        sites.push_back({name, lineage / "fullchain.pem", lineage / "privkey.pem"});
      }
    }
  }
  std::string fp(int i) const { return fingerprint_of(leaves[static_cast<size_t>(i)].cert); }
};

template <class Server>
void expect_serves_by_sni(Server &server, const Sites &s) {
  for (int i = 0; i < static_cast<int>(s.sites.size()); ++i)
    EXPECT_EQ(served_fingerprint(server.connect(), s.sites[static_cast<size_t>(i)].server_name, 5s),
              s.fp(i));
  // No SNI: the first site is the default.
  EXPECT_EQ(served_fingerprint(server.connect(), "", 5s), s.fp(0));
}

template <class Server>
void expect_stops_own_processes(std::unique_ptr<Server> server) {
  pid_t pid = server->pid();
  auto children = server->child_pids();
  EXPECT_FALSE(children.empty());
  auto port = server->port();
  server.reset();
  EXPECT_FALSE(process_alive(pid));
  for (pid_t c : children) EXPECT_FALSE(process_alive(c)) << c;
  EXPECT_FALSE(accepts_connections(port));
}

}  // namespace

TEST(Servers, NginxServesSitesAndStops) {
  Sites s(3);
  auto nginx = std::make_unique<NginxServer>(s.sites);
  EXPECT_TRUE(nginx->running());
  expect_serves_by_sni(*nginx, s);
  EXPECT_EQ(nginx->reload_count(), 0);
  EXPECT_EQ(nginx->args().front(), "-p");
  EXPECT_TRUE(std::filesystem::exists(nginx->error_log()));
  expect_stops_own_processes(std::move(nginx));
}

TEST(Servers, ApacheServesSitesAndStops) {
  Sites s(3);
  auto apache = std::make_unique<ApacheServer>(s.sites);
  expect_serves_by_sni(*apache, s);
  EXPECT_EQ(apache->reload_count(), 0);
  expect_stops_own_processes(std::move(apache));
}

TEST(Servers, HaproxyServesSitesExposesSocketsAndStops) {
  Sites s(3, true);
  auto haproxy = std::make_unique<HaproxyServer>(s.sites);
  expect_serves_by_sni(*haproxy, s);
  EXPECT_EQ(haproxy->master_pid(), haproxy->pid());
  // Certificate names as the runtime API knows them: the paths in the crt-list.
  auto certs = haproxy->admin("show ssl cert");
  for (const auto &site : s.sites) EXPECT_NE(certs.find(site.cert.string()), std::string::npos) << certs;
  EXPECT_NE(haproxy->master("show proc").find("worker"), std::string::npos);

  auto workers = haproxy->worker_pids();
  ASSERT_EQ(workers.size(), 1u);
  haproxy->reload();
  for (int i = 0; i < 500 && haproxy->reload_count() == 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(haproxy->reload_count(), 1) << read_text(haproxy->output_log());
  EXPECT_EQ(haproxy->master_pid(), haproxy->pid());
  expect_serves_by_sni(*haproxy, s);
  expect_stops_own_processes(std::move(haproxy));
}

TEST(Servers, BrokenStartIsReportedWithTheServerOwnWords) {
  Sites s(1);
  s.sites[0].key = s.dir / "missing.key";
  try {
    NginxServer nginx(s.sites);
    FAIL() << "expected nginx to refuse to start";
  } catch (const std::runtime_error &e) {
    EXPECT_NE(std::string(e.what()).find("missing.key"), std::string::npos) << e.what();
  }
}
