// The apache plugin against a real Apache httpd on 127.0.0.1, driven through certhook-plugin-host.
#include "server_fixture.hpp"

using namespace certhook;
using namespace certhook::test;
using namespace std::chrono_literals;

using ApachePlugin = ServerFixture<ApacheServer>;

TEST_F(ApachePlugin, DeployServesTheNewCertificate) {
  start(1);
  ASSERT_EQ(served(0), old_fp(0));
  install_new(0);
  auto r = call("apache", "deploy", options());
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(r.status, "ok");
  EXPECT_NE(r.message.find("PID " + std::to_string(server->pid())), std::string::npos) << r.message;
  auto v = wait_new(0);
  EXPECT_TRUE(v.ok) << v.message;
  EXPECT_EQ(server->reload_count(), 1);
  EXPECT_TRUE(server->running());
}

TEST_F(ApachePlugin, TenCertificatesOneGracefulRestart) {
  start(10);
  for (int i = 0; i < 10; ++i) install_new(i);
  auto r = call("apache", "deploy", options(), 10);
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  for (int i = 0; i < 10; ++i) {
    auto v = wait_new(i);
    EXPECT_TRUE(v.ok) << names[static_cast<size_t>(i)] << ": " << v.message;
  }
  EXPECT_EQ(server->reload_count(), 1);
}

TEST_F(ApachePlugin, BrokenConfigFailsWithApacheMessageAndKeepsServing) {
  start(1);
  install_new(0);
  break_config();
  auto r = call("apache", "deploy", options());
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_EQ(r.status, "failed");
  // Apache's own words, naming the file and line
  EXPECT_NE(r.message.find("Invalid command 'this'"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("of " + server->config_path().string()), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("not restarted"), std::string::npos) << r.message;
  EXPECT_EQ(server->reload_count(), 0);
  EXPECT_EQ(served(0), old_fp(0));

  server->restore_config();
  r = call("apache", "deploy", options());
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  auto v = wait_new(0);
  EXPECT_TRUE(v.ok) << v.message;
  EXPECT_EQ(server->reload_count(), 1);
}

// `apache2 -t` does not load the key pair; the graceful restart does, and the parent exits.
TEST_F(ApachePlugin, MismatchedKeyIsCaughtAfterTheGracefulRestart) {
  start(1);
  install_new(0);
  write_text(lineage(0) / "privkey.pem", old_certs[0].key, 0600);  // new cert, old key
  auto pre = call("apache", "preflight", options());
  EXPECT_EQ(pre.exit_code, 0) << "the config test cannot see this: " << describe(pre);
  auto r = call("apache", "deploy", options());
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_EQ(r.status, "failed");
  EXPECT_NE(r.message.find("exited during the graceful restart"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("AH02565"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("do not match"), std::string::npos) << r.message;
  EXPECT_FALSE(server->running());
}

TEST_F(ApachePlugin, PreflightOnlyTestsTheConfig) {
  start(1);
  install_new(0);
  auto r = call("apache", "preflight", options());
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(r.message, "apache: configuration test passed");
  break_config();
  r = call("apache", "preflight", options());
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_NE(r.message.find("Invalid command 'this'"), std::string::npos) << r.message;
  EXPECT_EQ(server->reload_count(), 0);
  EXPECT_EQ(served(0), old_fp(0));
}

TEST_F(ApachePlugin, VerificationFailsWhenTheServerNeverPicksItUp) {
  start(1);
  install_new(0);
  auto r = call("apache", "deploy", options({{"reload_command", {"/bin/true"}}, {"settle", 100}}));
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  auto v = wait_new(0, 500ms);
  EXPECT_FALSE(v.ok);
  EXPECT_NE(v.message.find(new_fp(0)), std::string::npos) << v.message;
  EXPECT_NE(v.message.find(old_fp(0)), std::string::npos) << v.message;
  EXPECT_EQ(server->reload_count(), 0);
}

TEST_F(ApachePlugin, EnvReachesTheCommands) {
  start(1);
  // A reload command that succeeds only when the hook's env arrived.
  nlohmann::json check = {"/bin/sh", "-c", "test \"$CERTHOOK_TEST_RUN_DIR\" = /run/x"};
  auto r = call("apache", "deploy", options({{"reload_command", check}, {"settle", 50}}));
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_NE(r.message.find("graceful restart failed"), std::string::npos) << r.message;
  r = call("apache", "deploy",
           options({{"reload_command", check}, {"settle", 50},
                    {"env", {{"CERTHOOK_TEST_RUN_DIR", "/run/x"}}}}));
  EXPECT_EQ(r.exit_code, 0) << describe(r);
}

TEST_F(ApachePlugin, NotRunningIsReportedWithThePidFile) {
  start(1);
  server->stop();
  auto r = call("apache", "deploy", options());
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_NE(r.message.find("not running"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find(server->pid_file().string()), std::string::npos) << r.message;
}

TEST_F(ApachePlugin, PidFileOptionSkipsTheConfigDump) {
  start(1);
  install_new(0);
  auto r = call("apache", "deploy",
                options({{"pid_file", server->pid_file().string()},
                         {"error_log", server->error_log().string()}}));
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  auto v = wait_new(0);
  EXPECT_TRUE(v.ok) << v.message;
}

TEST_F(ApachePlugin, MissingBinaryIsPermanent) {
  start(1);
  auto r = call("apache", "deploy", options({{"binary", "no-such-apachectl"}}));
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_NE(r.message.find("\"no-such-apachectl\" not found"), std::string::npos) << r.message;
}
