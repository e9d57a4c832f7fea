// certhook plugin list | info | install | verify through the built certhook binary.
// These need only [certhook] plugin_dirs and state_dir, which `certhook plugin` reads itself;
// none of them needs the full config loader.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "plugin/pins.hpp"
#include "support.hpp"
#include "tempdir.hpp"

using namespace certhook;
using certhook::test::fixture;
using certhook::test::read_text;
using certhook::test::TempDir;
using certhook::test::write_text;
namespace fs = std::filesystem;

namespace {

struct PluginCli : ::testing::Test {
  TempDir dir;
  fs::path config = dir / "certhook.toml";
  fs::path plugins = dir / "plugins";   // created by install
  fs::path state = dir / "state";

  void SetUp() override {
    // Relative paths resolve against the config file's directory.
    write_text(config, "[certhook]\nstate_dir = \"state\"\nplugin_dirs = [\"plugins\", \"/nonexistent/plugins\"]\n");
  }
  CapturedRun certhook(std::vector<std::string> args) {
    std::vector<std::string> argv = {CERTHOOK_BINARY, "--config", config.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_captured(argv, std::chrono::seconds(60));
  }
  static bool contains(const std::string &text, const std::string &part) {
    return text.find(part) != std::string::npos;
  }
};

}  // namespace

TEST_F(PluginCli, InstallCopiesPinsAndListsIt) {
  CapturedRun r = certhook({"plugin", "install", fixture("hello").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const fs::path installed = plugins / "hello.so";
  EXPECT_TRUE(contains(r.out, "installed hello 1.0.0 as " + installed.string())) << r.out;
  struct stat st {};
  ASSERT_EQ(::stat(installed.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
  EXPECT_EQ(read_text(installed), read_text(fixture("hello")));
  auto pins = nlohmann::json::parse(read_text(state / "plugins" / "pins.json"));
  EXPECT_EQ(pins, nlohmann::json({{pin_key(installed), file_sha256(fixture("hello"))}}));
  // No temp file left in the plugin dir.
  int entries = 0;
  for ([[maybe_unused]] auto &e : fs::directory_iterator(plugins)) ++entries;
  EXPECT_EQ(entries, 1);

  CapturedRun list = certhook({"plugin", "list"});
  EXPECT_EQ(list.exit_code, 0) << list.err;
  EXPECT_TRUE(contains(list.out, "NAME   VERSION  ABI  PINNED  FILE\n")) << list.out;
  EXPECT_TRUE(contains(list.out, "hello  1.0.0    1.0  pinned  " + installed.string() + "\n")) << list.out;

  CapturedRun json = certhook({"--json", "plugin", "list"});
  auto j = nlohmann::json::parse(json.out);
  ASSERT_EQ(j["plugins"].size(), 1u);
  EXPECT_EQ(j["plugins"][0]["name"], "hello");
  EXPECT_EQ(j["plugins"][0]["pinned"], true);
  EXPECT_EQ(j["plugins"][0]["abi"], "1.0");
}

TEST_F(PluginCli, InstallAgainReplacesAndRepins) {
  ASSERT_EQ(certhook({"plugin", "install", fixture("hello").string()}).exit_code, 0);
  ASSERT_EQ(certhook({"plugin", "install", fixture("hello").string()}).exit_code, 0);
  EXPECT_EQ(certhook({"plugin", "verify"}).exit_code, 0);
}

TEST_F(PluginCli, InfoShowsTheSchema) {
  ASSERT_EQ(certhook({"plugin", "install", fixture("recorder").string()}).exit_code, 0);
  CapturedRun r = certhook({"plugin", "info", "recorder"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "recorder 2.1.0 — records every call\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "batching: yes")) << r.out;
  EXPECT_TRUE(contains(r.out, "KEY     TYPE         REQUIRED  DEFAULT         SECRET  HELP\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "record  path         yes       -               no      file every call is appended to\n"))
      << r.out;
  EXPECT_TRUE(contains(r.out, "wait    duration     no        \"1m30s\"         no      a duration\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "token   string       no        ********        yes     a secret\n")) << r.out;
  EXPECT_FALSE(contains(r.out, "tok-default")) << r.out;

  CapturedRun json = certhook({"--json", "plugin", "info", "recorder"});
  auto j = nlohmann::json::parse(json.out);
  EXPECT_EQ(j["name"], "recorder");
  ASSERT_EQ(j["options"].size(), 8u);
  EXPECT_EQ(j["options"][5], nlohmann::json({{"key", "tags"}, {"type", "string list"}, {"required", false},
                                              {"secret", false}, {"default", "[\"a\", \"b\"]"},
                                              {"help", "some words"}}));

  CapturedRun typo = certhook({"plugin", "info", "recordr"});
  EXPECT_EQ(typo.exit_code, 2);
  EXPECT_EQ(typo.err, "certhook: plugin: no installed plugin named \"recordr\"; did you mean \"recorder\"?\n");
}

TEST_F(PluginCli, InstallRefusesWithTheHostsMessageAndInstallsNothing) {
  CapturedRun r = certhook({"plugin", "install", fixture("abi2").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "certhook: plugin: " + fixture("abi2").string() +
                       ": built for plugin ABI 2.0, this certhook speaks ABI 1.0; rebuild the plugin against "
                       "this certhook's SDK (nothing installed)\n");
  EXPECT_FALSE(fs::exists(plugins / "abi2.so"));
  EXPECT_FALSE(fs::exists(state / "plugins" / "pins.json"));

  write_text(dir / "x.so", "text");
  r = certhook({"plugin", "install", (dir / "x.so").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "not a shared library (no ELF header)")) << r.err;

  r = certhook({"--json", "plugin", "install", (dir / "missing.so").string()});
  EXPECT_EQ(r.exit_code, 1);
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["ok"], false);
  EXPECT_TRUE(contains(j["errors"][0]["message"], "missing.so: not a regular file")) << r.out;
}

TEST_F(PluginCli, InstallRefusesANameClash) {
  ASSERT_EQ(certhook({"plugin", "install", fixture("dup_a").string()}).exit_code, 0);
  CapturedRun r = certhook({"plugin", "install", fixture("dup_b").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "plugin \"dup\" is already installed as " + (plugins / "dup_a.so").string()))
      << r.err;
  EXPECT_FALSE(fs::exists(plugins / "dup_b.so"));

  // The same file name holding another plugin is refused too.
  fs::copy_file(fixture("hello"), dir / "dup_a.so");
  r = certhook({"plugin", "install", (dir / "dup_a.so").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, (plugins / "dup_a.so").string() + " already holds plugin \"dup\", not \"hello\""))
      << r.err;
}

TEST_F(PluginCli, VerifyNamesChangedAndMissingPlugins) {
  CapturedRun none = certhook({"plugin", "verify"});
  EXPECT_EQ(none.exit_code, 0);
  EXPECT_EQ(none.out, "no pinned plugins\n");

  ASSERT_EQ(certhook({"plugin", "install", fixture("hello").string()}).exit_code, 0);
  ASSERT_EQ(certhook({"plugin", "install", fixture("recorder").string()}).exit_code, 0);
  CapturedRun ok = certhook({"plugin", "verify"});
  EXPECT_EQ(ok.exit_code, 0) << ok.out;

  { std::ofstream(plugins / "hello.so", std::ios::app) << "tampered"; }
  fs::remove(plugins / "recorder.so");
  CapturedRun bad = certhook({"plugin", "verify"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_TRUE(contains(bad.out, pin_key(plugins / "hello.so") + ": CHANGED since it was pinned")) << bad.out;
  EXPECT_TRUE(contains(bad.out, (plugins / "recorder.so").string() + ": MISSING")) << bad.out;

  CapturedRun json = certhook({"--json", "plugin", "verify"});
  EXPECT_EQ(json.exit_code, 1);
  auto j = nlohmann::json::parse(json.out);
  EXPECT_EQ(j["ok"], false);
  EXPECT_EQ(j["plugins"].size(), 2u);

  // The changed plugin is refused by discovery, and list says why.
  CapturedRun list = certhook({"plugin", "list"});
  EXPECT_EQ(list.exit_code, 0);
  EXPECT_TRUE(contains(list.out, "refused: " + (plugins / "hello.so").string() + ": changed since it was pinned"))
      << list.out;
}

TEST_F(PluginCli, ConfigProblemsAreUsageErrors) {
  write_text(config, "[certhook]\nplugin_dirs = \"plugins\"\n");
  CapturedRun r = certhook({"plugin", "list"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, config.string() + ":2:15: certhook.plugin_dirs: expected an array")) << r.err;

  fs::remove(config);
  r = certhook({"plugin", "list"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "no such config file")) << r.err;
}

TEST_F(PluginCli, InstallWithNoWaitRefusesWhileTheStateLockIsHeld) {
  fs::create_directories(state);
  int fd = ::open((state / "lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX), 0);
  CapturedRun r = certhook({"--no-wait", "plugin", "install", fixture("hello").string()});
  ::close(fd);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "another certhook holds the state lock")) << r.err;
  EXPECT_FALSE(fs::exists(plugins / "hello.so"));
  EXPECT_EQ(certhook({"--no-wait", "plugin", "install", fixture("hello").string()}).exit_code, 0);
}

TEST_F(PluginCli, SecretDefaultsAreNotShown) {
  ASSERT_EQ(certhook({"plugin", "install", fixture("recorder").string()}).exit_code, 0);
  // recorder's secret option `token` has the default "tok-default".
  CapturedRun r = certhook({"--json", "plugin", "info", "recorder"});
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["options"][7]["secret"], true);
  EXPECT_EQ(j["options"][7]["default"], "********");
  EXPECT_FALSE(contains(r.out, "tok-default")) << r.out;
}
