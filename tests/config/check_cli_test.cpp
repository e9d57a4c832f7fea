// `certhook check` run as a process: exit status, text diagnostics and the --json shape.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

#include "tempdir.hpp"
#include "testcerts.hpp"

using certhook::test::TempDir;
using certhook::test::write_text;

namespace {

struct Proc {
  int status = -1;
  std::string out;   // stdout (stderr is folded in when asked)
};

Proc run(const std::string &args, bool with_stderr = false) {
  std::string cmd = std::string(CERTHOOK_BINARY) + " " + args + (with_stderr ? " 2>&1" : " 2>/dev/null");
  Proc r;
  FILE *p = ::popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string good_config(const TempDir &dir) {
  return "[certhook]\n"
         "state_dir = \"state\"\n"
         "hooks_dir = \"hooks.d\"\n"
         "plugin_dirs = []\n"
         "\n"
         "[[hook]]\n"
         "name = \"copy\"\n"
         "type = \"exec\"\n"
         "options = { command = [\"/bin/true\"] }\n"
         "\n"
         "[[certificate]]\n"
         "name = \"example.test\"\n"
         "domains = [\"example.test\"]\n"
         "hooks = [\"copy\"]\n"
         "\n"
         "[[certificate]]\n"
         "name = \"legacy\"\n"
         "source = \"" + (dir / "live/legacy").string() + "\"\n";
}

}  // namespace

TEST(CheckCli, GoodConfigExitsZero) {
  TempDir dir;
  auto ca = certhook::test::make_ca();
  certhook::test::write_lineage(dir / "live/legacy", certhook::test::make_leaf(ca), ca);
  write_text(dir / "hooks.d/deploy/reload.sh", "#!/bin/sh\n", 0755);
  write_text(dir / "certhook.toml", good_config(dir));
  Proc r = run("--config " + (dir / "certhook.toml").string() + " check", true);
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find(": ok"), std::string::npos) << r.out;

  Proc j = run("check --json --config " + (dir / "certhook.toml").string());
  EXPECT_EQ(j.status, 0) << j.out;
  auto doc = nlohmann::json::parse(j.out);
  EXPECT_EQ(doc["ok"], true);
  EXPECT_TRUE(doc["errors"].empty());
}

TEST(CheckCli, BadConfigExitsTwoWithDiagnosticsInLineOrder) {
  TempDir dir;
  write_text(dir / "certhook.toml",
             "[[certificate]]\n"
             "name = \"../x\"\n"
             "domains = [\"ex!ample.com\"]\n"
             "[certhook]\n"
             "max_paralel = 3\n"
             "hooks_dir = \"" + (dir / "hooks.d").string() + "\"\n");
  write_text(dir / "hooks.d/deploy/a~", "#!/bin/sh\n", 0755);
  const std::string file = (dir / "certhook.toml").string();
  Proc r = run("--config " + file + " check", true);
  EXPECT_EQ(r.status, 2) << r.out;
  auto name = r.out.find(file + ":2:8: certificate[1].name: invalid certificate name");
  auto domain = r.out.find(file + ":3:12: certificate[1].domains: invalid domain");
  auto key = r.out.find(file + ":5:1: certhook.max_paralel: unknown key \"max_paralel\"; did you mean "
                               "\"max_parallel\"?");
  ASSERT_NE(name, std::string::npos) << r.out;
  ASSERT_NE(domain, std::string::npos) << r.out;
  ASSERT_NE(key, std::string::npos) << r.out;
  EXPECT_LT(name, domain);
  EXPECT_LT(domain, key);

  Proc j = run("--json --config " + file + " check");
  EXPECT_EQ(j.status, 2);
  auto doc = nlohmann::json::parse(j.out);   // exactly one object
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(doc["ok"], false);
  ASSERT_EQ(doc["errors"].size(), 3u) << j.out;
  EXPECT_EQ(doc["errors"][0]["file"], file);
  EXPECT_EQ(doc["errors"][0]["line"], 2);
  EXPECT_EQ(doc["errors"][0]["column"], 8);
  EXPECT_EQ(doc["errors"][0]["key"], "certificate[1].name");
  EXPECT_EQ(doc["errors"][2]["line"], 5);
  ASSERT_EQ(doc["warnings"].size(), 1u) << j.out;   // the editor backup in hooks.d
  EXPECT_EQ(doc["warnings"][0]["key"], "hooks.d/deploy/a~");
}

TEST(CheckCli, MissingLineageAndKeyMismatchAreErrors) {
  TempDir dir;
  auto ca = certhook::test::make_ca();
  certhook::test::write_lineage(dir / "live/legacy", certhook::test::make_leaf(ca), ca);
  // Another leaf's key in place of the right one.
  write_text(dir / "live/legacy/privkey.pem", certhook::test::make_leaf(ca).key, 0600);
  write_text(dir / "certhook.toml",
             "[certhook]\nhooks_dir = \"hooks.d\"\n"
             "[[certificate]]\nname = \"legacy\"\nsource = \"live/legacy\"\n"
             "[[certificate]]\nname = \"gone\"\nsource = \"live/gone\"\n");
  Proc j = run("--json --config " + (dir / "certhook.toml").string() + " check");
  EXPECT_EQ(j.status, 2) << j.out;
  auto doc = nlohmann::json::parse(j.out);
  ASSERT_EQ(doc["errors"].size(), 2u) << j.out;
  EXPECT_EQ(doc["errors"][0]["line"], 5);
  EXPECT_EQ(doc["errors"][0]["column"], 10);
  EXPECT_NE(doc["errors"][0]["message"].get<std::string>().find("does not match"), std::string::npos);
  EXPECT_EQ(doc["errors"][1]["line"], 8);
  EXPECT_NE(doc["errors"][1]["message"].get<std::string>().find("live/gone"), std::string::npos);
}

TEST(CheckCli, MissingConfigFileExitsTwoNamingThePath) {
  TempDir dir;
  const std::string file = (dir / "absent.toml").string();
  Proc r = run("--config " + file + " check", true);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find(file + ": cannot read the configuration"), std::string::npos) << r.out;
  Proc j = run("--config " + file + " --json check");
  EXPECT_EQ(j.status, 2);
  auto doc = nlohmann::json::parse(j.out);
  EXPECT_EQ(doc["ok"], false);
  EXPECT_EQ(doc["errors"][0]["file"], file);
}

TEST(CheckCli, SyntaxErrorExitsTwo) {
  TempDir dir;
  write_text(dir / "certhook.toml", "[acme\n");
  Proc j = run("--json --config " + (dir / "certhook.toml").string() + " check");
  EXPECT_EQ(j.status, 2);
  auto doc = nlohmann::json::parse(j.out);
  ASSERT_EQ(doc["errors"].size(), 1u);
  EXPECT_EQ(doc["errors"][0]["line"], 1);
  EXPECT_NE(doc["errors"][0]["message"].get<std::string>().find("TOML syntax error"), std::string::npos);
}

TEST(CheckCli, ExampleConfigIsAccepted) {
  // docs/certhook.example.toml with its paths pointed at a temp dir.
  TempDir dir;
  std::string text = certhook::test::read_text(std::string(CERTHOOK_SOURCE_DIR) + "/docs/certhook.example.toml");
  auto replace_all = [&](const std::string &from, const std::string &to) {
    for (auto pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size()))
      text.replace(pos, from.size(), to);
  };
  replace_all("/etc/letsencrypt/live/legacy.example.com", (dir / "live/legacy").string());
  replace_all("/etc/certhook/hooks.d", (dir / "hooks.d").string());
  replace_all("/usr/local/bin/copy-certs", "/bin/true");
  // The first-party plugins as built, so their option schemas are checked for real.
  replace_all("/usr/lib/certhook/plugins", std::string(CERTHOOK_BUILD_DIR) + "/lib/certhook/plugins");
  auto ca = certhook::test::make_ca();
  certhook::test::LeafOptions lo;
  lo.names = {"legacy.example.com"};
  certhook::test::write_lineage(dir / "live/legacy", certhook::test::make_leaf(ca, lo), ca);
  write_text(dir / "certhook.toml", text);
  Proc r = run("--config " + (dir / "certhook.toml").string() + " check", true);
  EXPECT_EQ(r.status, 0) << r.out;
}

TEST(CheckCli, ExecProgramMustExist) {
  TempDir dir;
  write_text(dir / "certhook.toml",
             "[certhook]\nhooks_dir = \"hooks.d\"\n"
             "[[hook]]\nname = \"abs\"\ntype = \"exec\"\noptions = { command = [\"/nonexistent/copy\"] }\n"
             "[[hook]]\nname = \"rel\"\ntype = \"exec\"\noptions = { command = [\"bin/copy\"] }\n"
             "[[hook]]\nname = \"bare\"\ntype = \"exec\"\noptions = { command = [\"no-such-program-x\"] }\n"
             "[[hook]]\nname = \"fine\"\ntype = \"exec\"\noptions = { command = [\"true\"] }\n");
  Proc j = run("--json --config " + (dir / "certhook.toml").string() + " check");
  EXPECT_EQ(j.status, 2) << j.out;
  auto doc = nlohmann::json::parse(j.out);
  ASSERT_EQ(doc["errors"].size(), 2u) << j.out;
  EXPECT_EQ(doc["errors"][0]["line"], 6);
  EXPECT_EQ(doc["errors"][0]["key"], "hook.abs.options.command");
  EXPECT_NE(doc["errors"][0]["message"].get<std::string>().find("does not exist"), std::string::npos);
  EXPECT_EQ(doc["errors"][1]["line"], 10);
  EXPECT_NE(doc["errors"][1]["message"].get<std::string>().find("relative path"), std::string::npos);
  ASSERT_EQ(doc["warnings"].size(), 1u) << j.out;
  EXPECT_EQ(doc["warnings"][0]["line"], 14);
  EXPECT_NE(doc["warnings"][0]["message"].get<std::string>().find("not found on PATH"), std::string::npos);
}
