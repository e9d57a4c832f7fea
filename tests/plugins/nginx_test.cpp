// The nginx plugin against a real nginx on 127.0.0.1, driven through certhook-plugin-host.
#include "server_fixture.hpp"

using namespace certhook;
using namespace certhook::test;
using namespace std::chrono_literals;

using NginxPlugin = ServerFixture<NginxServer>;

TEST_F(NginxPlugin, DeployServesTheNewCertificate) {
  start(1);
  ASSERT_EQ(served(0), old_fp(0));
  install_new(0);
  auto r = call("nginx", "deploy", options());
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(r.status, "ok");
  auto v = wait_new(0);
  EXPECT_TRUE(v.ok) << v.message;
  EXPECT_EQ(server->reload_count(), 1);
}

TEST_F(NginxPlugin, TenCertificatesOneReload) {
  start(10);
  for (int i = 0; i < 10; ++i) install_new(i);
  auto r = call("nginx", "deploy", options(), 10);
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  for (int i = 0; i < 10; ++i) {
    auto v = wait_new(i);
    EXPECT_TRUE(v.ok) << names[static_cast<size_t>(i)] << ": " << v.message;
  }
  EXPECT_EQ(server->reload_count(), 1);
  EXPECT_NE(r.message.find("10 in all"), std::string::npos) << r.message;
}

TEST_F(NginxPlugin, BrokenConfigFailsWithNginxMessageAndKeepsServing) {
  start(1);
  install_new(0);
  break_config();
  auto r = call("nginx", "deploy", options());
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_EQ(r.status, "failed");
  // nginx's own words, naming the file and line
  EXPECT_NE(r.message.find("[emerg] unknown directive \"this\""), std::string::npos) << r.message;
  EXPECT_NE(r.message.find(server->config_path().string() + ":"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("not reloaded"), std::string::npos) << r.message;
  EXPECT_EQ(server->reload_count(), 0);
  EXPECT_EQ(served(0), old_fp(0));

  server->restore_config();
  r = call("nginx", "deploy", options());
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  auto v = wait_new(0);
  EXPECT_TRUE(v.ok) << v.message;
  EXPECT_EQ(server->reload_count(), 1);
}

TEST_F(NginxPlugin, WithoutConfigTestTheReloadStillRefusesABrokenConfig) {
  start(1);
  install_new(0);
  break_config();
  auto r = call("nginx", "deploy", options({{"test_config", false}}));
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_NE(r.message.find("reload failed"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("-s reload"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("[emerg]"), std::string::npos) << r.message;
  EXPECT_EQ(server->reload_count(), 0);
  EXPECT_EQ(served(0), old_fp(0));
}

TEST_F(NginxPlugin, PreflightOnlyTestsTheConfig) {
  start(1);
  install_new(0);
  auto r = call("nginx", "preflight", options());
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(r.message, "nginx: configuration test passed");
  break_config();
  r = call("nginx", "preflight", options());
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_NE(r.message.find("[emerg]"), std::string::npos) << r.message;
  EXPECT_EQ(server->reload_count(), 0);
  EXPECT_EQ(served(0), old_fp(0));
}

TEST_F(NginxPlugin, VerificationFailsWhenTheServerNeverPicksItUp) {
  start(1);
  install_new(0);
  auto r = call("nginx", "deploy", options({{"reload_command", {"/bin/true"}}}));
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  auto v = wait_new(0, 500ms);
  EXPECT_FALSE(v.ok);
  EXPECT_NE(v.message.find(new_fp(0)), std::string::npos) << v.message;
  EXPECT_NE(v.message.find(old_fp(0)), std::string::npos) << v.message;
  EXPECT_EQ(server->reload_count(), 0);
}

TEST_F(NginxPlugin, ReloadCommandReplacesSignalReload) {
  start(1);
  install_new(0);
  // What an operator would write for a service manager; here the same binary, spelled out.
  std::vector<std::string> reload{server->binary()};
  for (const auto &a : server->args()) reload.push_back(a);
  reload.push_back("-s");
  reload.push_back("reload");
  auto r = call("nginx", "deploy", options({{"reload_command", reload}, {"test_config", false}}));
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  auto v = wait_new(0);
  EXPECT_TRUE(v.ok) << v.message;
  EXPECT_EQ(server->reload_count(), 1);
}

TEST_F(NginxPlugin, MissingBinaryIsPermanent) {
  start(1);
  auto r = call("nginx", "deploy", options({{"binary", "/nonexistent/nginx"}}));
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_EQ(r.status, "permanent");
  EXPECT_NE(r.message.find("/nonexistent/nginx"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("binary"), std::string::npos) << r.message;
}

TEST_F(NginxPlugin, EmptyReloadCommandIsRefused) {
  start(1);
  auto r = call("nginx", "deploy", options({{"reload_command", nlohmann::json::array()}}));
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_NE(r.message.find("reload_command is empty"), std::string::npos) << r.message;
  EXPECT_EQ(server->reload_count(), 0);
}

TEST_F(NginxPlugin, FailingReloadCommandReportsItsOutputAndStatus) {
  start(1);
  auto r = call("nginx", "deploy",
                options({{"reload_command", {"/bin/sh", "-c", "echo one; echo reload refused >&2; exit 3"}}}));
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_NE(r.message.find("exited with status 3: one | reload refused"), std::string::npos)
      << r.message;
}

// A command that leaves a background process holding its output pipe (as a daemon it starts
// would) must not hold up the hook: the call ends when the command itself exits.
TEST_F(NginxPlugin, ABackgroundProcessHoldingTheOutputDoesNotStallTheHook) {
  start(1);
  const auto marker = work / "background-finished";
  const std::string script = "(sleep 5; touch " + marker.string() + ") & echo started";
  auto r = call("nginx", "deploy", options({{"reload_command", {"/bin/sh", "-c", script}}}));
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_FALSE(std::filesystem::exists(marker)) << "the hook waited for the background process";
}
