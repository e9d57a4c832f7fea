// Issue 5 through the certhook binary: real nginx and Apache instances serving certificate A from
// path-source lineages; certhook deploys B through the nginx / apache plugin with `verify`, and
// handshakes made here (independent of certhook's probe) show what is served.
#include <memory>
#include <sstream>
#include <thread>

#include "e2e.hpp"
#include "servers.hpp"

using namespace certhook::test;
namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

template <class Server> struct Traits;
template <> struct Traits<NginxServer> {
  static constexpr const char *plugin = "nginx";
  static constexpr const char *broken = "[emerg] unknown directive \"this\"";
  static constexpr const char *no_reload = "reload_command = [\"/bin/true\"]\n";
};
template <> struct Traits<ApacheServer> {
  static constexpr const char *plugin = "apache";
  static constexpr const char *broken = "Invalid command 'this'";
  // Apache's plugin watches the parent for `settle` after a reload_command: keep that short.
  static constexpr const char *no_reload = "reload_command = [\"/bin/true\"]\nsettle = \"200ms\"\n";
};

template <class Server>
struct E2eWebServer : ::testing::Test {
  CerthookEnv env{"ew"};
  Pem ca = make_ca();
  std::vector<std::string> names;
  std::vector<Pem> a, b;
  std::unique_ptr<Server> server;
  static constexpr const char *plugin = Traits<Server>::plugin;

  fs::path lineage(std::size_t i) const { return env.dir() / "src" / names[i]; }
  std::string fp_a(std::size_t i) const { return fingerprint_of(a[i].cert); }
  std::string fp_b(std::size_t i) const { return fingerprint_of(b[i].cert); }
  void install_b(std::size_t i) { write_lineage(lineage(i), b[i], ca); }
  std::string served(std::size_t i) const { return handshake_fingerprint(server->port(), names[i]); }
  // Polls: nginx's old workers keep serving the old certificate briefly after a reload.
  std::string served_eventually(std::size_t i, const std::string &want) const {
    return wait_for_handshake(server->port(), names[i], want, 3s);
  }

  // n sites s0.test ... serving certificate A from DIR/src/<name>.
  void start(std::size_t n) {
    std::vector<TlsSite> sites;
    for (std::size_t i = 0; i < n; ++i) {
      names.push_back("s" + std::to_string(i) + ".test");
      a.push_back(make_leaf(ca, {.names = {names.back()}}));
      b.push_back(make_leaf(ca, {.names = {names.back()}}));
      write_lineage(lineage(i), a.back(), ca);
      sites.push_back({names.back(), lineage(i) / "fullchain.pem", lineage(i) / "privkey.pem"});
    }
    server = std::make_unique<Server>(std::move(sites));
    ASSERT_EQ(served(0), fp_a(0));
  }

  // One hook "web" of the server's type (verify on, one attempt) enabled for every site.
  void configure(const std::string &extra_options = "", const std::string &verify_timeout = "5s") {
    std::string body = "[[hook]]\nname = \"web\"\ntype = " + toml_str(plugin) +
                       "\nretry = { attempts = 1 }\nverify = { connect = " + toml_str(server->connect()) +
                       ", timeout = " + toml_str(verify_timeout) + " }\n[hook.options]\nbinary = " +
                       toml_str(server->binary()) + "\nargs = " + toml_list(server->args()) + "\n" +
                       extra_options + "\n";
    for (std::size_t i = 0; i < names.size(); ++i)
      body += "[[certificate]]\nname = " + toml_str(names[i]) + "\nsource = " + toml_str(lineage(i).string()) +
              "\nhooks = [\"web\"]\n\n";
    env.write_config(body, {first_party_plugin_dir()});
  }

  // First run: deploys (and verifies) A everywhere, with one reload unless reload_command is a
  // no-op. Verification passes at once (A is served already), so wait for the server to log the
  // reload before a test counts from here.
  void deploy_a(bool reloads = true) {
    const int before = server->reload_count();
    CliRun r = env.certhook({"run"});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    for (std::size_t i = 0; i < names.size(); ++i)
      ASSERT_EQ(env.hook_record(names[i], "web")["deployed_fingerprint"], fp_a(i));
    const auto end = std::chrono::steady_clock::now() + 5s;
    while (reloads && server->reload_count() == before && std::chrono::steady_clock::now() < end)
      std::this_thread::sleep_for(10ms);
    ASSERT_EQ(server->reload_count(), before + (reloads ? 1 : 0));
  }
};

using Servers = ::testing::Types<NginxServer, ApacheServer>;
TYPED_TEST_SUITE(E2eWebServer, Servers);

TYPED_TEST(E2eWebServer, RunDeploysTheRewrittenLineageAndVerifiesIt) {
  this->start(1);
  this->configure();
  this->deploy_a();
  const int reloads = this->server->reload_count();
  this->install_b(0);

  CliRun r = this->env.certhook({"run"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_TRUE(contains(r.out, "deployed: s0.test: web\n")) << r.describe();
  EXPECT_EQ(this->env.hook_record("s0.test", "web")["deployed_fingerprint"], this->fp_b(0));
  EXPECT_EQ(this->served_eventually(0, this->fp_b(0)), this->fp_b(0));
  EXPECT_EQ(this->server->reload_count(), reloads + 1);
}

TYPED_TEST(E2eWebServer, TenChangedCertificatesOneReloadAllVerified) {
  this->start(10);
  this->configure();
  this->deploy_a();
  const int reloads = this->server->reload_count();
  for (std::size_t i = 0; i < 10; ++i) this->install_b(i);

  CliRun run;
  json j = this->env.certhook_json({"run"}, &run);
  ASSERT_EQ(run.exit_code, 0) << run.describe();
  EXPECT_EQ(j["deployed"].size(), 10u) << j.dump(2);
  EXPECT_EQ(j["failed"], json::array()) << j.dump(2);
  EXPECT_EQ(this->server->reload_count(), reloads + 1) << "one reload for the whole batch";
  for (std::size_t i = 0; i < 10; ++i) {
    EXPECT_EQ(this->env.hook_record(this->names[i], "web")["deployed_fingerprint"], this->fp_b(i)) << i;
    EXPECT_EQ(this->served_eventually(i, this->fp_b(i)), this->fp_b(i)) << this->names[i];
  }
}

TYPED_TEST(E2eWebServer, BrokenConfigFailsWithTheServersMessageAndTheNextRunDeploys) {
  this->start(1);
  this->configure();
  this->deploy_a();
  const int reloads = this->server->reload_count();
  this->install_b(0);
  const std::string config = read_text(this->server->config_path());
  write_text(this->server->config_path(), config + "this is not a directive;\n");

  CliRun r = this->env.certhook({"run"});
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  const std::string line = failed_line(r.out, "s0.test", "web");
  EXPECT_TRUE(contains(line, Traits<TypeParam>::broken)) << r.describe();
  EXPECT_TRUE(contains(line, this->server->config_path().string())) << line;
  // Still pending: the journal keeps A as deployed and records the failure.
  json rec = this->env.hook_record("s0.test", "web");
  EXPECT_EQ(rec["deployed_fingerprint"], this->fp_a(0)) << rec.dump();
  EXPECT_EQ(rec["attempts"], 1) << rec.dump();
  EXPECT_TRUE(contains(rec["last_error"].get<std::string>(), Traits<TypeParam>::broken)) << rec.dump();
  json status = this->env.certhook_json({"status"});
  EXPECT_EQ(status["certificates"][0]["hooks"][0]["state"], "failed") << status.dump(2);
  EXPECT_EQ(this->server->reload_count(), reloads);
  EXPECT_EQ(this->served(0), this->fp_a(0)) << "the old certificate is still served";

  this->server->restore_config();
  r = this->env.certhook({"run"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_TRUE(contains(r.out, "deployed: s0.test: web\n")) << r.describe();
  EXPECT_EQ(this->env.hook_record("s0.test", "web")["deployed_fingerprint"], this->fp_b(0));
  EXPECT_EQ(this->env.hook_record("s0.test", "web")["attempts"], 0);
  EXPECT_EQ(this->served_eventually(0, this->fp_b(0)), this->fp_b(0));
  EXPECT_EQ(this->server->reload_count(), reloads + 1);
}

TYPED_TEST(E2eWebServer, VerificationFailsWhenTheServerNeverPicksItUp) {
  this->start(1);
  this->configure(Traits<TypeParam>::no_reload, "1s");
  this->deploy_a(false);   // verify passes: the server serves A already
  this->install_b(0);

  CliRun r = this->env.certhook({"run"});
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  const std::string line = failed_line(r.out, "s0.test", "web");
  EXPECT_TRUE(contains(line, this->fp_b(0))) << "expected fingerprint missing: " << r.describe();
  EXPECT_TRUE(contains(line, this->fp_a(0))) << "served fingerprint missing: " << r.describe();
  json rec = this->env.hook_record("s0.test", "web");
  EXPECT_EQ(rec["deployed_fingerprint"], this->fp_a(0)) << rec.dump();
  EXPECT_EQ(this->server->reload_count(), 0);
  EXPECT_EQ(this->served(0), this->fp_a(0));
}

TYPED_TEST(E2eWebServer, DeployDryRunRunsOnlyTheConfigTest) {
  this->start(1);
  this->configure();
  this->deploy_a();
  const int reloads = this->server->reload_count();
  this->install_b(0);
  const fs::path journal = this->env.state() / "journal" / "s0.test.json";
  const std::string before = read_text(journal);

  CliRun r = this->env.certhook({"deploy", "s0.test", "--dry-run"});
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_TRUE(contains(r.out, "would deploy: s0.test: web\n")) << r.describe();
  EXPECT_FALSE(contains(r.out, "deployed:")) << "nothing was deployed: " << r.describe();
  json j = this->env.certhook_json({"deploy", "s0.test", "--dry-run"});
  EXPECT_EQ(j["dry_run"], true) << j.dump(2);
  EXPECT_EQ(j["deployed"], json::array({{{"certificate", "s0.test"}, {"hook", "web"}}})) << j.dump(2);
  EXPECT_EQ(this->server->reload_count(), reloads);
  EXPECT_EQ(read_text(journal), before);
  EXPECT_EQ(this->served(0), this->fp_a(0));

  // The config test really runs: a broken config fails the dry run with the server's words.
  write_text(this->server->config_path(), read_text(this->server->config_path()) + "this is not a directive;\n");
  r = this->env.certhook({"deploy", "s0.test", "--dry-run"});
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_TRUE(contains(failed_line(r.out, "s0.test", "web"), Traits<TypeParam>::broken)) << r.describe();
  EXPECT_EQ(this->server->reload_count(), reloads);
  EXPECT_EQ(read_text(journal), before);
  EXPECT_EQ(this->served(0), this->fp_a(0));
  this->server->restore_config();
}

}  // namespace
