// hooks.d discovery: order, what runs, what is skipped (with warnings) and what is refused.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plan/hooks_d.hpp"
#include "tempdir.hpp"

using namespace certhook;
using certhook::test::TempDir;
using certhook::test::write_text;

namespace {

std::vector<std::string> keys(const std::vector<HooksDirEntry> &es) {
  std::vector<std::string> out;
  for (const auto &e : es) out.push_back(e.key);
  return out;
}

std::string dump(const Diagnostics &ds) {
  std::string out;
  for (const auto &d : ds) out += "  " + d.to_string() + "\n";
  return out;
}

const Diagnostic *find(const Diagnostics &ds, const std::string &key) {
  for (const auto &d : ds)
    if (d.key == key) return &d;
  return nullptr;
}

const char *script = "#!/bin/sh\nexit 0\n";

}  // namespace

TEST(HooksD, LexicalOrderWhateverTheExtension) {
  TempDir dir;
  for (const char *name : {"b", "10-x", "reload.sh", "2-y", "Z", "a.py", "_u"})
    write_text(dir / "hooks.d/deploy" / name, script, 0755);
  write_text(dir / "hooks.d/pre/stop", script, 0700);
  write_text(dir / "hooks.d/post/start", script, 0755);
  HooksDirListing l = scan_hooks_dir(dir / "hooks.d");
  EXPECT_TRUE(l.errors.empty()) << dump(l.errors);
  EXPECT_TRUE(l.warnings.empty()) << dump(l.warnings);
  EXPECT_EQ(keys(l.deploy),
            (std::vector<std::string>{"hooks.d/deploy/10-x", "hooks.d/deploy/2-y", "hooks.d/deploy/Z",
                                      "hooks.d/deploy/_u", "hooks.d/deploy/a.py", "hooks.d/deploy/b",
                                      "hooks.d/deploy/reload.sh"}));
  EXPECT_EQ(l.deploy[6].path, dir / "hooks.d/deploy/reload.sh");
  EXPECT_EQ(keys(l.pre), std::vector<std::string>{"hooks.d/pre/stop"});
  EXPECT_EQ(keys(l.post), std::vector<std::string>{"hooks.d/post/start"});
}

TEST(HooksD, SkippedNamesWarnEach) {
  TempDir dir;
  for (const char *name : {"run", "x~", "run.dpkg-old", "run.dpkg-dist", "run.dpkg-new",
                           "run.rpmnew", "run.rpmsave", ".hidden"})
    write_text(dir / "hooks.d/deploy" / name, script, 0755);
  HooksDirListing l = scan_hooks_dir(dir / "hooks.d");
  EXPECT_EQ(keys(l.deploy), std::vector<std::string>{"hooks.d/deploy/run"});
  EXPECT_TRUE(l.errors.empty()) << dump(l.errors);
  ASSERT_EQ(l.warnings.size(), 7u) << dump(l.warnings);
  const Diagnostic *backup = find(l.warnings, "hooks.d/deploy/x~");
  ASSERT_TRUE(backup);
  EXPECT_EQ(backup->severity, Severity::warning);
  EXPECT_EQ(backup->where.file, (dir / "hooks.d/deploy/x~").string());
  EXPECT_NE(backup->message.find("editor backup"), std::string::npos) << backup->message;
  const Diagnostic *old = find(l.warnings, "hooks.d/deploy/run.dpkg-old");
  ASSERT_TRUE(old);
  EXPECT_NE(old->message.find("package-manager leftover"), std::string::npos);
  ASSERT_TRUE(find(l.warnings, "hooks.d/deploy/.hidden"));
  EXPECT_NE(find(l.warnings, "hooks.d/deploy/.hidden")->message.find("hidden"), std::string::npos);
}

TEST(HooksD, NonExecutableAndNonRegularWarned) {
  TempDir dir;
  write_text(dir / "hooks.d/deploy/plain", script, 0644);
  std::filesystem::create_directories(dir / "hooks.d/deploy/subdir");
  ASSERT_EQ(::mkfifo((dir / "hooks.d/deploy/fifo").c_str(), 0700), 0);
  std::filesystem::create_symlink("/nonexistent/target", dir / "hooks.d/deploy/dangling");
  write_text(dir / "target", script, 0755);
  std::filesystem::create_symlink(dir / "target", dir / "hooks.d/deploy/linked");
  HooksDirListing l = scan_hooks_dir(dir / "hooks.d");
  EXPECT_EQ(keys(l.deploy), std::vector<std::string>{"hooks.d/deploy/linked"});
  EXPECT_EQ(l.deploy[0].path, dir / "hooks.d/deploy/linked");   // the link, not its target
  EXPECT_TRUE(l.errors.empty()) << dump(l.errors);
  ASSERT_EQ(l.warnings.size(), 4u) << dump(l.warnings);
  EXPECT_NE(find(l.warnings, "hooks.d/deploy/plain")->message.find("not executable; make it executable (chmod +x"),
            std::string::npos);
  EXPECT_NE(find(l.warnings, "hooks.d/deploy/subdir")->message.find("a directory"), std::string::npos);
  EXPECT_NE(find(l.warnings, "hooks.d/deploy/fifo")->message.find("not a regular file"), std::string::npos);
  EXPECT_NE(find(l.warnings, "hooks.d/deploy/dangling")->message.find("dangling symlink"), std::string::npos);
}

TEST(HooksD, GroupWritableFileRefused) {
  TempDir dir;
  write_text(dir / "hooks.d/deploy/ok", script, 0755);
  write_text(dir / "hooks.d/deploy/open", script, 0775);
  HooksDirListing l = scan_hooks_dir(dir / "hooks.d");
  EXPECT_EQ(keys(l.deploy), std::vector<std::string>{"hooks.d/deploy/ok"});
  ASSERT_EQ(l.errors.size(), 1u) << dump(l.errors);
  const auto path = (dir / "hooks.d/deploy/open").string();
  EXPECT_EQ(l.errors[0].where.file, path);
  EXPECT_EQ(l.errors[0].key, "hooks.d/deploy/open");
  EXPECT_NE(l.errors[0].message.find("group-writable; fix with: chmod go-w " + path), std::string::npos)
      << l.errors[0].message;
}

TEST(HooksD, GroupWritablePhaseDirRefused) {
  TempDir dir;
  write_text(dir / "hooks.d/deploy/a", script, 0755);
  write_text(dir / "hooks.d/post/b", script, 0755);
  ::chmod((dir / "hooks.d/deploy").c_str(), 0775);
  HooksDirListing l = scan_hooks_dir(dir / "hooks.d");
  EXPECT_TRUE(l.deploy.empty());
  EXPECT_EQ(keys(l.post), std::vector<std::string>{"hooks.d/post/b"});
  ASSERT_EQ(l.errors.size(), 1u) << dump(l.errors);
  EXPECT_EQ(l.errors[0].where.file, (dir / "hooks.d/deploy").string());
  EXPECT_NE(l.errors[0].message.find("chmod go-w"), std::string::npos);
}

TEST(HooksD, WorldWritableHooksDirRefused) {
  TempDir dir;
  write_text(dir / "hooks.d/deploy/a", script, 0755);
  ::chmod((dir / "hooks.d").c_str(), 0777);
  HooksDirListing l = scan_hooks_dir(dir / "hooks.d");
  EXPECT_TRUE(l.deploy.empty());
  ASSERT_EQ(l.errors.size(), 1u) << dump(l.errors);
  EXPECT_EQ(l.errors[0].key, "hooks.d");
  EXPECT_NE(l.errors[0].message.find("world-writable"), std::string::npos);
}

TEST(HooksD, ForeignOwnedFileRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to chown";
  TempDir dir;
  write_text(dir / "hooks.d/deploy/theirs", script, 0755);
  ASSERT_EQ(::chown((dir / "hooks.d/deploy/theirs").c_str(), 4242, 4242), 0);
  HooksDirListing l = scan_hooks_dir(dir / "hooks.d");
  EXPECT_TRUE(l.deploy.empty());
  ASSERT_EQ(l.errors.size(), 1u) << dump(l.errors);
  EXPECT_NE(l.errors[0].message.find("owned by uid 4242"), std::string::npos);
}

TEST(HooksD, MissingDirsContributeNothing) {
  TempDir dir;
  HooksDirListing l = scan_hooks_dir(dir / "absent");
  EXPECT_TRUE(l.pre.empty() && l.deploy.empty() && l.post.empty());
  EXPECT_TRUE(l.errors.empty() && l.warnings.empty());
  std::filesystem::create_directories(dir / "hooks.d/deploy");   // no pre/ nor post/
  write_text(dir / "hooks.d/deploy/a", script, 0755);
  l = scan_hooks_dir(dir / "hooks.d");
  EXPECT_EQ(l.deploy.size(), 1u);
  EXPECT_TRUE(l.errors.empty() && l.warnings.empty());
}

TEST(HooksD, FileInPlaceOfDirIsAnError) {
  TempDir dir;
  write_text(dir / "hooks.d", "oops");
  HooksDirListing l = scan_hooks_dir(dir / "hooks.d");
  ASSERT_EQ(l.errors.size(), 1u);
  EXPECT_NE(l.errors[0].message.find("not a directory"), std::string::npos);
}
