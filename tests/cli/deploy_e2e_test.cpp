// What hooks receive and when they run, through the built binary: redeploy decisions, the hook
// environment, argv fidelity, certbot-hook, --dry-run, bad lineages, post hooks and hooks.d
// deploy scripts, and the --json shapes of run/deploy/status/plan.
#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <set>
#include <thread>

#include "cli_support.hpp"

using namespace certhook::test;
namespace fs = std::filesystem;

namespace {

// Appends "LABEL CERT REASON DRY_RUN" to LOG.
const char *logger = "echo \"$2 $CERTHOOK_CERT_NAME $CERTHOOK_REASON $CERTHOOK_DRY_RUN\" >> \"$1\"\n";

std::vector<std::string> lines_starting(const std::vector<std::string> &lines, const std::string &prefix) {
  std::vector<std::string> out;
  for (const auto &l : lines)
    if (l.rfind(prefix, 0) == 0) out.push_back(l);
  return out;
}

}  // namespace

// (e) an unchanged certificate is not redeployed; a replaced certificate, a newly enabled hook
// and a changed hook option are, with reason redeploy.
TEST(DeployE2E, RedeploysOnlyWhatChanged) {
  Scratch s;
  s.lineage("one");
  auto lg = s.script("log.sh", logger);
  auto log = s / "log";
  auto config = [&](bool h2, const std::string &h1_arg) {
    std::string cfg = exec_hook("h1", {lg.string(), log.string(), "h1", h1_arg});
    cfg += exec_hook("h2", {lg.string(), log.string(), "h2"});
    std::vector<std::string> hooks = {"h1"};
    if (h2) hooks.push_back("h2");
    s.write_config(cfg + path_certificate("one", s.lineage_dir("one"), hooks));
  };
  config(false, "v1");
  ASSERT_EQ(s.run({"run"}).status, 0);
  EXPECT_EQ(read_lines(log), std::vector<std::string>{"h1 one redeploy 0"});

  auto again = s.run({"run"});
  EXPECT_EQ(again.status, 0);
  EXPECT_EQ(read_lines(log).size(), 1u) << "an unchanged certificate was deployed again";
  EXPECT_NE(again.out.find("nothing to do"), std::string::npos) << again.out;

  s.lineage("one");   // replaced by another tool
  ASSERT_EQ(s.run({"run"}).status, 0);
  EXPECT_EQ(read_lines(log).size(), 2u);
  EXPECT_EQ(read_lines(log).back(), "h1 one redeploy 0");

  config(true, "v1");   // h2 newly enabled: only h2 runs
  ASSERT_EQ(s.run({"run"}).status, 0);
  EXPECT_EQ(read_lines(log).size(), 3u);
  EXPECT_EQ(read_lines(log).back(), "h2 one redeploy 0");

  config(true, "v2");   // h1's options changed: only h1 runs
  ASSERT_EQ(s.run({"run"}).status, 0);
  EXPECT_EQ(read_lines(log).size(), 4u);
  EXPECT_EQ(read_lines(log).back(), "h1 one redeploy 0");

  config(false, "v2");  // h2 disabled, then enabled again: it must redeploy
  ASSERT_EQ(s.run({"run"}).status, 0);
  EXPECT_EQ(read_lines(log).size(), 4u);
  config(true, "v2");
  ASSERT_EQ(s.run({"run"}).status, 0);
  EXPECT_EQ(read_lines(log).size(), 5u);
  EXPECT_EQ(read_lines(log).back(), "h2 one redeploy 0");

  ASSERT_EQ(s.run({"run"}).status, 0);
  EXPECT_EQ(read_lines(log).size(), 5u);
}

// (f) every documented variable of the deploy and post phases has the right value, `env` table
// values arrive, and nothing else of certhook's environment (a secret) does.
TEST(DeployE2E, HookEnvironmentIsExactlyTheDocumentedOne) {
  Scratch s;
  // A certbot layout: live/ holds symlinks into archive/; hooks must get the live/ paths.
  fs::path le = s / "le";
  auto leaf = make_leaf(s.ca, {.names = {"one.test", "www.one.test"}});
  write_lineage(le / "archive/one", leaf, s.ca);
  fs::create_directories(le / "live/one");
  for (const char *f : {"cert", "privkey", "chain", "fullchain"}) {
    fs::rename(le / "archive/one" / (std::string(f) + ".pem"), le / "archive/one" / (std::string(f) + "1.pem"));
    fs::create_symlink(fs::path("../../archive/one") / (std::string(f) + "1.pem"),
                       le / "live/one" / (std::string(f) + ".pem"));
  }
  auto dump = s.script("dump.sh", "env -0 > \"$1\"\n");
  s.hooks_d("deploy", "dump", "env -0 > " + (s / "hooksd.env").string() + "\n");
  s.hooks_d("post", "dump", "env -0 > " + (s / "post.env").string() + "\n");
  auto fail = s.script("fail.sh", "exit 1\n");
  std::string cfg = exec_hook("dump", {dump.string(), (s / "deploy.env").string()}, "",
                              "env = { EXTRA_VAR = \"a value with spaces\", OTHER = \"x=y\" }");
  cfg += exec_hook("fail", {fail.string()}, "retry = { attempts = 1 }\n");
  cfg += path_certificate("one", le / "live/one", {"dump"});
  s.lineage("two");
  cfg += path_certificate("two", s.lineage_dir("two"), {"fail"}, "hooks_d = false\n");
  s.write_config(cfg);

  auto r = s.run({"run"}, {"CERTHOOK_TEST_SECRET=hunter2", "HOME=/root", "LC_ALL=C.UTF-8"});
  EXPECT_EQ(r.status, 1) << r.err;   // "two" failed

  const std::set<std::string> shell_own = {"PWD", "SHLVL", "_", "OLDPWD"};
  const fs::path live = le / "live/one";
  std::map<std::string, std::string> expected = {
      {"PATH", "/usr/local/bin:/usr/bin:/bin"},
      {"LANG", "C.UTF-8"},
      {"LC_ALL", "C.UTF-8"},
      {"TZ", "UTC"},
      {"CERTHOOK_PHASE", "deploy"},
      {"CERTHOOK_DRY_RUN", "0"},
      {"CERTHOOK_ATTEMPT", "1"},
      {"CERTHOOK_CERT_NAME", "one"},
      {"CERTHOOK_DOMAINS", "one.test www.one.test"},
      {"CERTHOOK_LINEAGE", live.string()},
      {"CERTHOOK_CERT_PATH", (live / "cert.pem").string()},
      {"CERTHOOK_KEY_PATH", (live / "privkey.pem").string()},
      {"CERTHOOK_CHAIN_PATH", (live / "chain.pem").string()},
      {"CERTHOOK_FULLCHAIN_PATH", (live / "fullchain.pem").string()},
      {"CERTHOOK_FINGERPRINT", fingerprint_of(leaf.cert)},
      {"CERTHOOK_NOT_AFTER", not_after_of(leaf.cert)},
      {"CERTHOOK_REASON", "redeploy"},
      {"RENEWED_LINEAGE", live.string()},
      {"RENEWED_DOMAINS", "one.test www.one.test"},
  };
  auto check = [&](const std::string &what, std::map<std::string, std::string> env,
                   const std::map<std::string, std::string> &want) {
    ASSERT_FALSE(env.empty()) << what << ": the hook did not run";
    EXPECT_TRUE(env.count("CERTHOOK_INVOCATION")) << what;
    env.erase("CERTHOOK_INVOCATION");
    for (const auto &k : shell_own) env.erase(k);
    EXPECT_EQ(env, want) << what;
  };
  auto with_extra = expected;
  with_extra["EXTRA_VAR"] = "a value with spaces";
  with_extra["OTHER"] = "x=y";
  check("exec hook", read_env_dump(s / "deploy.env"), with_extra);
  check("hooks.d deploy script", read_env_dump(s / "hooksd.env"), expected);
  check("post hook", read_env_dump(s / "post.env"),
        {{"PATH", "/usr/local/bin:/usr/bin:/bin"},
         {"LANG", "C.UTF-8"},
         {"LC_ALL", "C.UTF-8"},
         {"TZ", "UTC"},
         {"CERTHOOK_PHASE", "post"},
         {"CERTHOOK_DRY_RUN", "0"},
         {"CERTHOOK_ATTEMPT", "1"},
         {"CERTHOOK_DEPLOYED", "one"},
         {"CERTHOOK_FAILED", "two"}});
  for (const char *f : {"deploy.env", "hooksd.env", "post.env"})
    EXPECT_EQ(read_text(s / f).find("hunter2"), std::string::npos) << f;
}

// (g) arguments and paths with spaces and shell metacharacters reach the hook intact; nothing
// is interpreted by a shell.
TEST(DeployE2E, ArgumentsAndPathsAreNeverInterpreted) {
  Scratch s;
  const std::string weird = "li ne $(touch x); 'q\" `touch y` *";
  fs::path dir = s / "lineages" / weird;
  auto leaf = make_leaf(s.ca);
  write_lineage(dir, leaf, s.ca);
  auto out = s / "args";
  auto hook = s.script("args.sh",
                       "out=$1; shift\n"
                       "for a in \"$@\"; do printf '%s\\n' \"$a\"; done > \"$out\"\n"
                       "printf '%s\\n' \"$CERTHOOK_CERT_PATH\" \"$EXTRA\" >> \"$out\"\n");
  const std::vector<std::string> args = {"a b", "$(touch x)", ";", "'\"", "`touch y`", "*", "$HOME", "&&", "|"};
  std::vector<std::string> command = {hook.string(), out.string()};
  command.insert(command.end(), args.begin(), args.end());
  std::string cfg = exec_hook("args", command, "", "env = { EXTRA = \"$(touch x); `touch y`\" }");
  cfg += path_certificate("one", dir, {"args"});
  s.write_config(cfg);
  auto r = s.run({"run"});
  ASSERT_EQ(r.status, 0) << r.err;
  auto expected = args;
  expected.push_back((dir / "cert.pem").string());
  expected.push_back("$(touch x); `touch y`");
  EXPECT_EQ(read_lines(out), expected);
  for (auto &e : fs::recursive_directory_iterator(s.dir())) {
    auto name = e.path().filename().string();
    EXPECT_TRUE(name != "x" && name != "y") << "a shell ran: " << e.path();
  }
}

// (h) certbot-hook matches realpath(RENEWED_LINEAGE) to a certificate's source and deploys only
// that one with reason renewed; an unknown lineage exits 1 with a clear message.
TEST(DeployE2E, CertbotHookDeploysTheMatchingLineage) {
  Scratch s;
  s.lineage("one");
  s.lineage("two");
  fs::create_directory_symlink(s / "lineages", s / "le-link");
  auto lg = s.script("log.sh", logger);
  auto log = s / "log";
  std::string cfg = exec_hook("rec", {lg.string(), log.string(), "rec"});
  cfg += path_certificate("one", s.lineage_dir("one"), {"rec"});
  cfg += path_certificate("two", s.lineage_dir("two"), {"rec"});
  s.write_config(cfg);

  auto r = s.run({"certbot-hook", "--json"},
                 {"RENEWED_LINEAGE=" + (s / "le-link/one").string(), "RENEWED_DOMAINS=one.test"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(read_lines(log), std::vector<std::string>{"rec one renewed 0"});
  auto doc = r.json();
  ASSERT_EQ(doc["deployed"].size(), 1u) << doc.dump(1);
  EXPECT_EQ(doc["deployed"][0]["certificate"], "one");

  auto unknown = s.run({"certbot-hook"}, {"RENEWED_LINEAGE=" + (s / "le-link/nowhere").string()});
  EXPECT_EQ(unknown.status, 1);
  EXPECT_NE(unknown.err.find("matches no certificate"), std::string::npos) << unknown.err;
  EXPECT_NE(unknown.err.find("le-link/nowhere"), std::string::npos) << unknown.err;
  auto unset = s.run({"certbot-hook"});
  EXPECT_EQ(unset.status, 1);
  EXPECT_NE(unset.err.find("RENEWED_LINEAGE"), std::string::npos) << unset.err;
  EXPECT_EQ(read_lines(log).size(), 1u);
}

// (k) --dry-run writes no state and runs only exec hooks with dry_run = true.
TEST(DeployE2E, DryRunWritesNothingAndRunsOnlyDryRunHooks) {
  Scratch s;
  s.lineage("one");
  auto lg = s.script("log.sh", logger);
  auto log = s / "log";
  std::string cfg = exec_hook("rehearse", {lg.string(), log.string(), "rehearse"}, "dry_run = true\n");
  cfg += exec_hook("real", {lg.string(), log.string(), "real"});
  cfg += path_certificate("one", s.lineage_dir("one"), {"rehearse", "real"});
  s.write_config(cfg);
  s.hooks_d("deploy", "script", "echo hooksd >> " + log.string() + "\n");
  s.hooks_d("post", "notify", "echo post >> " + log.string() + "\n");

  // On a fresh state directory nothing at all may appear.
  auto fresh = s.run({"run", "--dry-run"});
  EXPECT_EQ(fresh.status, 0) << fresh.err;
  EXPECT_FALSE(fs::exists(s.state())) << snapshot(s.state());
  EXPECT_EQ(read_lines(log), std::vector<std::string>{"rehearse one redeploy 1"});

  ASSERT_EQ(s.run({"run"}).status, 0);
  fs::remove(log);
  s.lineage("one");   // pending again
  // Drop chain.pem so that a real run would derive it into the state directory.
  fs::remove(s.lineage_dir("one") / "chain.pem");
  fs::remove(s.lineage_dir("one") / "fullchain.pem");
  const std::string before = snapshot(s.state());
  auto r = s.run({"run", "--dry-run", "--json"});
  EXPECT_EQ(r.status, 0) << r.err;
  r.json();
  auto d = s.run({"deploy", "one", "--force", "--dry-run"});
  EXPECT_EQ(d.status, 0) << d.err;
  EXPECT_EQ(snapshot(s.state()), before);
  EXPECT_EQ(read_lines(log), (std::vector<std::string>{"rehearse one redeploy 1", "rehearse one manual 1"}));
  auto st = s.run({"status", "--json"}).json();
  for (const auto &h : st["certificates"][0]["hooks"]) EXPECT_NE(h["state"], "deployed") << h.dump();
}

// (l) a lineage whose key does not match is refused before any of its hooks run; the others deploy.
TEST(DeployE2E, MismatchedKeyIsRefusedOthersDeploy) {
  Scratch s;
  s.lineage("good");
  auto a = make_leaf(s.ca, {.names = {"bad.test"}});
  auto b = make_leaf(s.ca, {.names = {"bad.test"}});
  write_lineage(s.lineage_dir("bad"), Pem{a.cert, b.key}, s.ca);
  auto lg = s.script("log.sh", logger);
  auto log = s / "log";
  std::string cfg = exec_hook("rec", {lg.string(), log.string(), "rec"});
  cfg += path_certificate("bad", s.lineage_dir("bad"), {"rec"});
  cfg += path_certificate("good", s.lineage_dir("good"), {"rec"});
  s.write_config(cfg);
  s.hooks_d("deploy", "script", "echo \"hooksd $CERTHOOK_CERT_NAME\" >> " + log.string() + "\n");
  auto r = s.run({"run", "--json"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(read_lines(log), (std::vector<std::string>{"rec good redeploy 0", "hooksd good"}));
  auto doc = r.json();
  ASSERT_EQ(doc["failed"].size(), 1u) << doc.dump(1);
  EXPECT_EQ(doc["failed"][0]["certificate"], "bad");
  EXPECT_NE(doc["failed"][0]["error"].get<std::string>().find("private key does not match"), std::string::npos);
  EXPECT_EQ(s.run({"status", "--check"}).status, 1);
}

// (m) post hooks get DEPLOYED and FAILED; none run when nothing changed; hooks.d deploy scripts run
// after the configured hooks in C-locale order, reload.sh included, hidden and backup files not.
TEST(DeployE2E, PostHooksAndHooksDOrder) {
  Scratch s;
  s.lineage("good");
  s.lineage("bad");
  auto lg = s.script("log.sh", logger);
  auto log = s / "log";
  auto post = s / "post";
  auto failing = s.script("fails.sh", "exit 1\n");
  std::string cfg = exec_hook("ok", {lg.string(), log.string(), "ok"});
  cfg += exec_hook("fails", {failing.string()}, "retry = { attempts = 1 }\n");
  cfg += path_certificate("good", s.lineage_dir("good"), {"ok"});
  cfg += path_certificate("bad", s.lineage_dir("bad"), {"fails"});
  s.write_config(cfg, 1);
  for (const char *f : {"reload.sh", "10-first", "Zed", ".hidden", "reload.sh~", "x.dpkg-old"})
    s.hooks_d("deploy", f, std::string("echo \"") + f + " $CERTHOOK_CERT_NAME\" >> " + log.string() + "\n");
  s.hooks_d("post", "notify", "echo \"deployed=[$CERTHOOK_DEPLOYED] failed=[$CERTHOOK_FAILED]\" >> " + post.string() + "\n");

  auto r1 = s.run({"run"});
  EXPECT_EQ(r1.status, 1);
  EXPECT_EQ(lines_starting(read_lines(log), "ok good"), std::vector<std::string>{"ok good redeploy 0"});
  auto lines = read_lines(log);
  std::vector<std::string> good;
  for (const auto &l : lines)
    if (l.find(" good") != std::string::npos) good.push_back(l.substr(0, l.find(' ')));
  EXPECT_EQ(good, (std::vector<std::string>{"ok", "10-first", "Zed", "reload.sh"}));
  EXPECT_EQ(read_lines(post), std::vector<std::string>{"deployed=[good] failed=[bad]"});

  s.script("fails.sh", "exit 0\n");
  EXPECT_EQ(s.run({"run"}).status, 0);
  EXPECT_EQ(read_lines(post).size(), 2u);
  EXPECT_EQ(read_lines(post).back(), "deployed=[bad] failed=[]");

  auto quiet = s.run({"run"});
  EXPECT_EQ(quiet.status, 0);
  EXPECT_EQ(read_lines(post).size(), 2u) << "a post hook ran although nothing changed";
}

// --json of run, deploy, status and plan: one parseable object with the documented keys;
// deploy --hook H --force reruns only H with reason manual; an unknown NAME exits 2.
TEST(DeployE2E, JsonShapesManualDeployAndUnknownName) {
  Scratch s;
  auto leaf = s.lineage("one");
  auto lg = s.script("log.sh", logger);
  auto log = s / "log";
  std::string cfg = exec_hook("h1", {lg.string(), log.string(), "h1"});
  cfg += exec_hook("h2", {lg.string(), log.string(), "h2"}, "after = [\"h1\"]\n");
  cfg += path_certificate("one", s.lineage_dir("one"), {"h1", "h2"});
  s.write_config(cfg);
  const std::string fp = fingerprint_of(leaf.cert);

  auto plan = s.run({"plan", "--json"});
  EXPECT_EQ(plan.status, 0);
  auto p = plan.json();
  for (const char *k : {"certificates", "pre", "post"}) EXPECT_TRUE(p.contains(k)) << k;
  ASSERT_EQ(p["certificates"].size(), 1u);
  EXPECT_EQ(p["certificates"][0]["name"], "one");
  EXPECT_EQ(p["certificates"][0]["fingerprint"], fp);
  ASSERT_EQ(p["certificates"][0]["stages"].size(), 2u) << p.dump(1);
  auto node = p["certificates"][0]["stages"][0][0];
  for (const char *k : {"hook", "type", "batching", "state"}) EXPECT_TRUE(node.contains(k)) << k;
  EXPECT_EQ(node["hook"], "h1");
  EXPECT_EQ(node["type"], "exec");
  EXPECT_EQ(node["state"], "pending");
  EXPECT_EQ(p["certificates"][0]["stages"][1][0]["hook"], "h2");

  auto run = s.run({"run", "--json"});
  EXPECT_EQ(run.status, 0);
  auto rj = run.json();
  for (const char *k : {"issued", "renewed", "deployed", "failed", "errors"}) EXPECT_TRUE(rj.contains(k)) << k;
  ASSERT_EQ(rj["deployed"].size(), 2u);
  EXPECT_EQ(rj["deployed"][0], (nlohmann::json{{"certificate", "one"}, {"hook", "h1"}}));

  auto status = s.run({"status", "--json"});
  EXPECT_EQ(status.status, 0);
  auto sj = status.json();
  ASSERT_EQ(sj["certificates"].size(), 1u);
  auto c = sj["certificates"][0];
  for (const char *k : {"name", "domains", "source", "fingerprint", "not_after", "hooks"})
    EXPECT_TRUE(c.contains(k)) << k;
  EXPECT_EQ(c["fingerprint"], fp);
  EXPECT_EQ(c["not_after"], not_after_of(leaf.cert));
  EXPECT_EQ(c["domains"], nlohmann::json::array({"one.test"}));
  EXPECT_EQ(c["source"], s.lineage_dir("one").string());
  ASSERT_EQ(c["hooks"].size(), 2u);
  for (const auto &h : c["hooks"]) {
    for (const char *k : {"name", "type", "state", "deployed_fingerprint", "attempts", "last_error"})
      EXPECT_TRUE(h.contains(k)) << k;
    EXPECT_EQ(h["state"], "deployed");
    EXPECT_EQ(h["deployed_fingerprint"], fp);
  }

  // Nothing pending: deploy without --force does nothing; with --force --hook h2 only h2 runs.
  auto idle = s.run({"deploy", "one", "--json"});
  EXPECT_EQ(idle.status, 0);
  EXPECT_TRUE(idle.json()["deployed"].empty());
  auto manual = s.run({"deploy", "one", "--hook", "h2", "--force", "--json"});
  EXPECT_EQ(manual.status, 0) << manual.err;
  auto mj = manual.json();
  ASSERT_EQ(mj["deployed"].size(), 1u) << mj.dump(1);
  EXPECT_EQ(mj["deployed"][0]["hook"], "h2");
  EXPECT_EQ(read_lines(log), (std::vector<std::string>{"h1 one redeploy 0", "h2 one redeploy 0", "h2 one manual 0"}));

  for (auto args : std::vector<std::vector<std::string>>{
           {"deploy", "nosuch"}, {"run", "nosuch"}, {"status", "nosuch"}, {"plan", "nosuch"}}) {
    auto r = s.run(args);
    EXPECT_EQ(r.status, 2) << args[0];
    EXPECT_NE(r.err.find("nosuch: no such certificate"), std::string::npos) << r.err;
  }
  auto uj = s.run({"deploy", "nosuch", "--json"});
  EXPECT_EQ(uj.status, 2);
  EXPECT_FALSE(uj.json()["errors"].empty());
  auto bad_hook = s.run({"deploy", "one", "--hook", "nope"});
  EXPECT_EQ(bad_hook.status, 2);
  EXPECT_EQ(read_lines(log).size(), 3u);
}

// A daemon that a successful hook started belongs to the operator: later runs leave it alone.
// (Only what a killed certhook left running is stopped; see ExecE2E.NextRunStopsHooksOfAKilledCerthook.)
TEST(DeployE2E, DaemonStartedBySuccessfulHookSurvivesLaterRuns) {
  Scratch s;
  s.lineage("a");
  const std::string tag = "certhook-daemon-" + std::to_string(::getpid());
  auto start = s.script("start.sh", "setsid sh -c 'sleep 300; :' " + tag + " </dev/null >/dev/null 2>&1 &\nexit 0\n");
  s.write_config(exec_hook("start", {start.string()}) + path_certificate("a", s.lineage_dir("a"), {"start"}));
  ASSERT_EQ(s.run({"run"}).status, 0);
  // The daemon's shell carries the tag as its $0, where we look for it.
  std::vector<pid_t> daemons;
  for (int i = 0; i < 250 && daemons.empty(); ++i) {
    daemons = processes_with_arg(tag);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(daemons.size(), 1u);
  auto again = s.run({"run"});
  EXPECT_EQ(again.status, 0) << again.err;
  EXPECT_EQ(again.err.find("left running"), std::string::npos) << again.err;
  EXPECT_EQ(processes_with_arg(tag), daemons) << "a later run killed the daemon";
  for (pid_t p : daemons) ::kill(p, SIGKILL);
}

// exec `env` values are secrets: never in logs, --json, status or the journal, even when the
// hook prints them in its failure.
TEST(DeployE2E, ExecEnvValuesAreRedactedEverywhere) {
  Scratch s;
  s.lineage("a");
  const std::string secret = "s3cr3t-TOKEN-" + std::to_string(::getpid());
  auto leak = s.script("leak.sh", "echo \"token is $API_TOKEN\"; echo \"$API_TOKEN\" >&2; exit 1\n");
  s.write_config(exec_hook("leak", {leak.string()}, "retry = { attempts = 1 }\n",
                           "env = { API_TOKEN = " + toml_string(secret) + " }") +
                 path_certificate("a", s.lineage_dir("a"), {"leak"}));
  auto run = s.run({"run", "--json"});
  EXPECT_EQ(run.status, 1);
  auto text = s.run({"run", "-v"});
  auto status = s.run({"status", "--json"});
  for (const auto *r : {&run, &text, &status}) {
    EXPECT_EQ(r->out.find(secret), std::string::npos) << r->out;
    EXPECT_EQ(r->err.find(secret), std::string::npos) << r->err;
  }
  EXPECT_EQ(s.journal("a").dump().find(secret), std::string::npos);
  EXPECT_NE(run.json()["failed"][0]["error"].get<std::string>().find("********"), std::string::npos);
}

// certbot-hook deploys every certificate whose source is the renewed lineage.
TEST(DeployE2E, CertbotHookDeploysEveryMatchingCertificate) {
  Scratch s;
  s.lineage("a");
  auto log = s / "log";
  auto rec = s.script("rec.sh", "echo \"$CERTHOOK_CERT_NAME\" >> " + log.string() + "\n");
  s.write_config(exec_hook("rec", {rec.string()}) + path_certificate("one", s.lineage_dir("a"), {"rec"}) +
                 path_certificate("two", s.lineage_dir("a").string() + "/", {"rec"}));
  auto r = s.run({"certbot-hook"}, {"RENEWED_LINEAGE=" + s.lineage_dir("a").string()});
  EXPECT_EQ(r.status, 0) << r.err;
  auto lines = read_lines(log);
  std::sort(lines.begin(), lines.end());
  EXPECT_EQ(lines, (std::vector<std::string>{"one", "two"}));
}

// Hook output reaches the log bounded, however much a hook prints.
TEST(DeployE2E, HookOutputInTheLogIsBounded) {
  Scratch s;
  s.lineage("a");
  auto noisy = s.script("noisy.sh", "i=0; while [ $i -lt 5000 ]; do echo line $i; i=$((i+1)); done\n");
  s.write_config(exec_hook("noisy", {noisy.string()}) + path_certificate("a", s.lineage_dir("a"), {"noisy"}));
  auto r = s.run({"run"});
  EXPECT_EQ(r.status, 0);
  EXPECT_LT(r.err.size(), 100'000u);
  EXPECT_NE(r.err.find("the rest is not logged"), std::string::npos);
}
