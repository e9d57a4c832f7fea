// discover_plugins: every refusal becomes a diagnostic naming the file and the host's message.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "plugin/catalog.hpp"
#include "plugin/pins.hpp"
#include "support.hpp"
#include "tempdir.hpp"

using namespace certhook;
using certhook::test::fixture;
using certhook::test::TempDir;
using certhook::test::write_text;
namespace fs = std::filesystem;

namespace {

struct CatalogTest : ::testing::Test {
  test::UseBuiltHost host;
  TempDir dir;
  fs::path plugins = dir / "plugins";
  fs::path state = dir / "state";
  GlobalSettings settings;

  void SetUp() override {
    fs::create_directories(plugins);
    ::chmod(plugins.c_str(), 0755);
    settings.plugin_dirs = {dir / "missing", plugins};
  }
  fs::path add(const std::string &name, const std::string &as = "") {
    fs::path to = plugins / ((as.empty() ? name : as) + ".so");
    fs::copy_file(fixture(name), to, fs::copy_options::overwrite_existing);
    ::chmod(to.c_str(), 0644);
    return to;
  }
  static std::string problem_for(const Catalog &c, const fs::path &file) {
    for (const auto &d : c.problems)
      if (d.where.file == file.string()) return d.message;
    return "(no diagnostic for " + file.string() + ")";
  }
};

}  // namespace

TEST_F(CatalogTest, MissingDirContributesNothing) {
  settings.plugin_dirs = {dir / "missing"};
  Catalog c = discover_plugins(settings, state);
  EXPECT_TRUE(c.plugins.empty());
  EXPECT_TRUE(c.problems.empty());
}

TEST_F(CatalogTest, RefusedPluginsAreDiagnosticsNamingTheFile) {
  write_text(plugins / "x.so", "text\n");
  add("no_entry");
  add("abi2");
  add("minor99");
  add("short_descriptor");
  add("hello");
  add("recorder");
  write_text(plugins / "notes.txt", "ignored: not *.so\n");
  Catalog c = discover_plugins(settings, state);
  ASSERT_EQ(c.names(), (std::vector<std::string>{"hello", "recorder"}));
  EXPECT_EQ(c.find("recorder")->version, "2.1.0");
  EXPECT_TRUE(c.find("recorder")->batching);
  EXPECT_EQ(c.find("hello")->options.size(), 2u);
  EXPECT_FALSE(c.find("hello")->pinned);
  EXPECT_EQ(c.find("hello")->sha256.size(), 64u);
  EXPECT_EQ(c.find("nginx"), nullptr);
  ASSERT_EQ(c.problems.size(), 5u);
  ASSERT_EQ(c.refused.size(), 5u);
  EXPECT_EQ(problem_for(c, plugins / "x.so"),
            "not a shared library (no ELF header); build plugins with certhook_add_plugin() from the certhook SDK");
  EXPECT_EQ(problem_for(c, plugins / "no_entry.so"),
            "not a certhook plugin: it exports no certhook_plugin_entry (define it with CERTHOOK_PLUGIN_EXPORT)");
  EXPECT_EQ(problem_for(c, plugins / "abi2.so"),
            "built for plugin ABI 2.0, this certhook speaks ABI 1.0; rebuild the plugin against this certhook's SDK");
  EXPECT_NE(problem_for(c, plugins / "minor99.so").find("built for plugin ABI 1.99, newer than"), std::string::npos);
  EXPECT_NE(problem_for(c, plugins / "short_descriptor.so").find("descriptor is 8 bytes"), std::string::npos);
  // The diagnostic line reads "FILE: problem".
  for (const auto &d : c.problems) EXPECT_EQ(d.to_string().rfind(d.where.file + ": ", 0), 0u) << d.to_string();
}

TEST_F(CatalogTest, DuplicateNameFirstFileWinsAndTheOtherNamesBoth) {
  auto a = add("dup_a");
  auto b = add("dup_b");
  Catalog c = discover_plugins(settings, state);
  ASSERT_EQ(c.names(), std::vector<std::string>{"dup"});
  EXPECT_EQ(c.find("dup")->file, a);
  EXPECT_EQ(problem_for(c, b), "plugin name \"dup\" is already provided by " + a.string() +
                                   ", which wins; remove or rename one of them");
}

TEST_F(CatalogTest, DuplicateAcrossDirsFollowsDirOrder) {
  fs::path second = dir / "second";
  fs::create_directories(second);
  fs::copy_file(fixture("dup_a"), second / "a.so");
  add("dup_b", "z");
  settings.plugin_dirs = {plugins, second};
  Catalog c = discover_plugins(settings, state);
  ASSERT_NE(c.find("dup"), nullptr);
  EXPECT_EQ(c.find("dup")->file, plugins / "z.so");
  EXPECT_NE(problem_for(c, second / "a.so").find("already provided by " + (plugins / "z.so").string()),
            std::string::npos);
}

TEST_F(CatalogTest, WritablePluginFileOrDirIsRefused) {
  auto hello = add("hello");
  ::chmod(hello.c_str(), 0666);
  Catalog c = discover_plugins(settings, state);
  EXPECT_TRUE(c.plugins.empty());
  EXPECT_EQ(problem_for(c, hello), "refused: world-writable; fix with: chmod go-w " + hello.string());

  ::chmod(hello.c_str(), 0644);
  ::chmod(plugins.c_str(), 0775);
  c = discover_plugins(settings, state);
  EXPECT_TRUE(c.plugins.empty());
  EXPECT_EQ(problem_for(c, plugins),
            "refused: group-writable; fix with: chmod go-w " + plugins.string() + " (no plugin in it is loaded)");
  ::chmod(plugins.c_str(), 0755);
}

TEST_F(CatalogTest, PinnedPluginWhoseBytesChangedIsRefused) {
  auto hello = add("hello");
  write_pins(state, {{pin_key(hello), file_sha256(hello)}});
  Catalog ok = discover_plugins(settings, state);
  ASSERT_NE(ok.find("hello"), nullptr);
  EXPECT_TRUE(ok.find("hello")->pinned);

  add("recorder", "hello");   // same file name, other bytes
  Catalog changed = discover_plugins(settings, state);
  EXPECT_EQ(changed.find("hello"), nullptr);
  EXPECT_EQ(changed.find("recorder"), nullptr);
  std::string p = problem_for(changed, hello);
  EXPECT_EQ(p.rfind("changed since it was pinned (sha256 " + file_sha256(hello) + ", pinned ", 0), 0u) << p;
  EXPECT_NE(p.find("reinstall it with certhook plugin install"), std::string::npos) << p;
}

TEST_F(CatalogTest, CorruptPinsFileIsReportedAndDiscoveryGoesOn) {
  add("hello");
  write_text(pins_path(state), "{oops");
  Catalog c = discover_plugins(settings, state);
  EXPECT_NE(c.find("hello"), nullptr);
  ASSERT_EQ(c.problems.size(), 1u);
  EXPECT_EQ(c.problems[0].where.file, pins_path(state).string());
  EXPECT_NE(c.problems[0].message.find("not a JSON object"), std::string::npos) << c.problems[0].message;
}

TEST_F(CatalogTest, HostPathComesFromTheEnvironment) {
  EXPECT_EQ(plugin_host_path(), fs::path(CERTHOOK_PLUGIN_HOST_BINARY));
  ::setenv("CERTHOOK_PLUGIN_HOST", "/nonexistent/certhook-plugin-host", 1);
  add("hello");
  Catalog c = discover_plugins(settings, state);
  EXPECT_TRUE(c.plugins.empty());
  EXPECT_NE(problem_for(c, plugins / "hello.so").find("/nonexistent/certhook-plugin-host: cannot run"),
            std::string::npos)
      << problem_for(c, plugins / "hello.so");
  ::setenv("CERTHOOK_PLUGIN_HOST", CERTHOOK_PLUGIN_HOST_BINARY, 1);
}

TEST_F(CatalogTest, PluginCrashingWhileLoadingIsRefused) {
  auto crash = add("entry_crash");
  add("hello");
  Catalog c = discover_plugins(settings, state);
  EXPECT_EQ(c.names(), std::vector<std::string>{"hello"});
  EXPECT_EQ(problem_for(c, crash), "the plugin crashed while loading (Segmentation fault); fix or remove the plugin");
}

TEST_F(CatalogTest, PluginHangingWhileLoadingIsKilledAtTheTimeout) {
  try {
    describe_plugin(fixture("entry_hang"), std::chrono::milliseconds(300));
    FAIL() << "expected a refusal";
  } catch (const std::runtime_error &e) {
    EXPECT_EQ(std::string(e.what()), fixture("entry_hang").string() +
                                         ": the plugin did not load within 300ms (its entry point hangs); fix or "
                                         "remove the plugin");
  }
}
