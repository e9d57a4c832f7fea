// Issue 4 through the certhook binary: a batching plugin shared by three certificates, every kind
// of broken plugin failing only its own hook with its own message, retries, and secrets that
// never reach any output.
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "e2e.hpp"

using namespace certhook::test;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::vector<std::string> lines_of(const std::string &text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

struct E2eFixtures : ::testing::Test {
  CerthookEnv env;
  Pem ca = make_ca();

  // A path-source lineage DIR/src/NAME for a fresh leaf; returns its fingerprint.
  std::string lineage(const std::string &name) {
    Pem leaf = make_leaf(ca, {.names = {name}});
    write_lineage(env.dir() / "src" / name, leaf, ca);
    return fingerprint_of(leaf.cert);
  }
  std::string certificate(const std::string &name, const std::vector<std::string> &hooks) {
    return "[[certificate]]\nname = " + toml_str(name) + "\nsource = " +
           toml_str((env.dir() / "src" / name).string()) + "\nhooks = " + toml_list(hooks) + "\n\n";
  }
};

}  // namespace

// One batching hook shared by three certificates: one call per run with all three, after each
// certificate's own predecessor; the plan shows the same shape.
TEST_F(E2eFixtures, BatchingHookRunsOncePerRunWithAllCertificatesAfterTheirPredecessors) {
  env.add_fixture("recorder");
  const fs::path record = env.dir() / "record.txt";
  std::string body =
      "[[hook]]\nname = \"prep\"\ntype = \"exec\"\n[hook.options]\ncommand = " +
      toml_list({"/bin/sh", "-c", "echo \"prep $CERTHOOK_CERT_NAME\" >> \"$1\"", "prep", record.string()}) +
      "\n\n[[hook]]\nname = \"rec\"\ntype = \"recorder\"\nafter = [\"prep\"]\n[hook.options]\nrecord = " +
      toml_str(record.string()) + "\n\n";
  std::map<std::string, std::string> fp;
  for (std::string n : {"a.test", "b.test", "c.test"}) {
    fp[n] = lineage(n);
    body += certificate(n, {"prep", "rec"});
  }
  env.write_config(body);

  json plan = env.certhook_json({"plan"});
  ASSERT_EQ(plan["certificates"].size(), 3u) << plan.dump(2);
  for (const auto &c : plan["certificates"]) {
    EXPECT_EQ(c["fingerprint"], fp[c["name"]]);
    ASSERT_EQ(c["stages"].size(), 2u) << plan.dump(2);
    EXPECT_EQ(c["stages"][0], json::array({{{"hook", "prep"}, {"type", "exec"}, {"batching", false}, {"state", "pending"}}}));
    EXPECT_EQ(c["stages"][1], json::array({{{"hook", "rec"}, {"type", "recorder"}, {"batching", true}, {"state", "pending"}}}));
  }

  CliRun run = env.certhook({"run"});
  ASSERT_EQ(run.exit_code, 0) << run.describe();
  for (std::string n : {"a.test", "b.test", "c.test"}) {
    EXPECT_TRUE(contains(run.out, "deployed: " + n + ": prep\n")) << run.out;
    EXPECT_TRUE(contains(run.out, "deployed: " + n + ": rec\n")) << run.out;
    EXPECT_EQ(env.hook_record(n, "rec")["deployed_fingerprint"], fp[n]);
  }
  auto lines = lines_of(read_text(record));
  ASSERT_EQ(lines.size(), 5u) << read_text(record);
  std::vector<std::string> preps(lines.begin(), lines.begin() + 3);
  std::sort(preps.begin(), preps.end());
  EXPECT_EQ(preps, (std::vector<std::string>{"prep a.test", "prep b.test", "prep c.test"}));
  EXPECT_TRUE(lines[3].starts_with("create ")) << lines[3];
  // One deploy call carrying all three certificates, in one event.
  EXPECT_TRUE(lines[4].starts_with("deploy hook=rec attempt=1 dry_run=0 certs=a.test[a.test fp=" + fp["a.test"]))
      << lines[4];
  EXPECT_TRUE(contains(lines[4], "]b.test[b.test fp=" + fp["b.test"])) << lines[4];
  EXPECT_TRUE(contains(lines[4], "]c.test[c.test fp=" + fp["c.test"])) << lines[4];

  // Nothing pending: the next run calls nothing; the plan says deployed.
  CliRun again = env.certhook({"run"});
  EXPECT_EQ(again.exit_code, 0) << again.describe();
  EXPECT_TRUE(contains(again.out, "nothing to do")) << again.out;
  EXPECT_EQ(lines_of(read_text(record)).size(), 5u);
  plan = env.certhook_json({"plan"});
  for (const auto &c : plan["certificates"]) EXPECT_EQ(c["stages"][1][0]["state"], "deployed");

  // Only b changes: one call with only b, after b's own prep.
  fp["b.test"] = lineage("b.test");
  json j = env.certhook_json({"run"});
  EXPECT_EQ(j["deployed"], json::array({{{"certificate", "b.test"}, {"hook", "prep"}},
                                        {{"certificate", "b.test"}, {"hook", "rec"}}}))
      << j.dump(2);
  lines = lines_of(read_text(record));
  ASSERT_EQ(lines.size(), 8u) << read_text(record);
  EXPECT_EQ(lines[5], "prep b.test");
  EXPECT_TRUE(lines[7].starts_with("deploy hook=rec attempt=1 dry_run=0 certs=b.test[b.test fp=" + fp["b.test"]))
      << lines[7];
  EXPECT_FALSE(contains(lines[7], "a.test")) << lines[7];
}

// Every broken plugin fails exactly its own hook, with its own message in the run output and the
// journal, while the good hooks of the same run (on the same certificate) deploy.
TEST_F(E2eFixtures, EachBrokenPluginFailsOnlyItsHookWithItsOwnError) {
  write_text(env.plugins() / "notelf.so", "this is a text file, not a plugin\n");
  for (std::string f : {"no_entry", "abi2", "minor99", "short_descriptor", "dup_a", "dup_b", "crash", "abort",
                        "hang", "throw_create", "permanent", "flaky", "hello"})
    env.add_fixture(f);
  const fs::path out = env.dir() / "hello-out";
  fs::create_directories(out);
  const fs::path flaky_state = env.dir() / "flaky.count";

  // hook name = type = the file's stem, so the refusal is attached to the hook.
  struct Case {
    std::string type, error;
    int attempts;   // in the journal after the run
  };
  const std::string p = env.plugins().string() + "/";
  const std::vector<Case> cases = {
      {"notelf", p + "notelf.so: not a shared library (no ELF header); build plugins with certhook_add_plugin() "
                     "from the certhook SDK", 1},
      {"no_entry", p + "no_entry.so: not a certhook plugin: it exports no certhook_plugin_entry (define it with "
                       "CERTHOOK_PLUGIN_EXPORT)", 1},
      {"abi2", p + "abi2.so: built for plugin ABI 2.0, this certhook speaks ABI 1.0; rebuild the plugin against "
                   "this certhook's SDK", 1},
      {"minor99", p + "minor99.so: built for plugin ABI 1.99, newer than this certhook's ABI 1.0; upgrade "
                      "certhook or rebuild the plugin against its SDK", 1},
      {"short_descriptor", p + "short_descriptor.so: descriptor is 8 bytes, smaller than the ", 1},
      {"dup_b", p + "dup_b.so: plugin name \"dup\" is already provided by " + p + "dup_a.so, which wins", 1},
      {"crash", "plugin crashed (killed by SIGSEGV)", 3},
      {"abort", "plugin crashed (killed by SIGABRT)", 3},
      {"hang", "plugin host timed out after 1s", 1},
      {"throw-create", "backend unreachable: connection refused", 3},
      {"permanent", "HTTP 403 from the backend: credentials refused", 1},
  };
  std::string body;
  std::vector<std::string> hooks;
  for (const auto &c : cases) {
    body += "[[hook]]\nname = " + toml_str(c.type == "throw-create" ? "throw_create" : c.type) + "\ntype = " +
            toml_str(c.type) + "\n";
    body += c.type == "hang" ? "timeout = \"1s\"\nkill_grace = \"200ms\"\nretry = { attempts = 1 }\n"
                             : "retry = { attempts = 3, delay = \"10ms\", max_delay = \"20ms\" }\n";
    body += "\n";
    hooks.push_back(c.type == "throw-create" ? "throw_create" : c.type);
  }
  body += "[[hook]]\nname = \"flaky\"\ntype = \"flaky\"\nretry = { attempts = 3, delay = \"10ms\", max_delay = \"20ms\" }\n"
          "[hook.options]\nstate = " + toml_str(flaky_state.string()) + "\n\n";
  body += "[[hook]]\nname = \"dup\"\ntype = \"dup\"\n\n";
  body += "[[hook]]\nname = \"hello\"\ntype = \"hello\"\n[hook.options]\ndir = " + toml_str(out.string()) + "\n\n";
  hooks.insert(hooks.end(), {"flaky", "dup", "hello"});
  const std::string fp = lineage("site.test");
  const std::string fp2 = lineage("other.test");
  body += certificate("site.test", hooks) + certificate("other.test", {"hello"});
  env.write_config(body, {}, "max_parallel = 4\n");

  // check names every refused plugin file with the host's message, and exits 2.
  CliRun check = env.certhook({"check"});
  EXPECT_EQ(check.exit_code, 2) << check.describe();
  for (const auto &c : cases) {
    const bool refused_at_load = c.error.starts_with(p);
    if (refused_at_load) {
      EXPECT_TRUE(contains(check.all(), c.error)) << c.type << "\n" << check.describe();
    }
  }

  CliRun run = env.certhook({"run"});
  EXPECT_EQ(run.exit_code, 1) << run.describe();
  // The good hooks deployed, on both certificates.
  EXPECT_TRUE(contains(run.out, "deployed: site.test: hello\n")) << run.describe();
  EXPECT_TRUE(contains(run.out, "deployed: other.test: hello\n")) << run.describe();
  EXPECT_TRUE(contains(run.out, "deployed: site.test: flaky\n")) << run.describe();
  EXPECT_TRUE(contains(run.out, "deployed: site.test: dup\n")) << run.describe();
  EXPECT_EQ(read_text(out / "site.test.hello"), "hello " + fp + "\n");
  EXPECT_EQ(read_text(out / "other.test.hello"), "hello " + fp2 + "\n");
  // flaky failed twice, then succeeded on its third try within this run.
  EXPECT_EQ(read_text(flaky_state), "3\n");
  EXPECT_TRUE(contains(run.err, "flaky: attempt 1/3 failed: transient failure 1")) << run.err;
  EXPECT_TRUE(contains(run.err, "flaky: attempt 2/3 failed: transient failure 2")) << run.err;
  // A permanent failure says so instead of promising more attempts.
  EXPECT_TRUE(contains(run.err, "permanent: attempt 1/3 failed (permanent: not retried): HTTP 403")) << run.err;
  EXPECT_TRUE(contains(run.err, "abi2: attempt 1/3 failed (permanent: not retried): ")) << run.err;
  json flaky = env.hook_record("site.test", "flaky");
  EXPECT_EQ(flaky["deployed_fingerprint"], fp);
  EXPECT_EQ(flaky["attempts"], 0);

  for (const auto &c : cases) {
    const std::string hook = c.type == "throw-create" ? "throw_create" : c.type;
    SCOPED_TRACE(hook);
    // The run's own summary line for this hook carries the exact error.
    bool found = false;
    for (const auto &line : lines_of(run.out))
      if (line.starts_with("failed: site.test: " + hook + ": ")) {
        found = true;
        EXPECT_TRUE(contains(line, c.error)) << line;
      }
    EXPECT_TRUE(found) << run.out;
    json rec = env.hook_record("site.test", hook);
    ASSERT_TRUE(rec.is_object()) << env.journal("site.test").dump(2);
    EXPECT_EQ(rec["deployed_fingerprint"], "");
    EXPECT_EQ(rec["attempts"], c.attempts) << rec.dump();
    EXPECT_TRUE(contains(rec["last_error"].get<std::string>(), c.error)) << rec.dump();
  }

  // --json says the same.
  json j = env.certhook_json({"status", "site.test"});
  for (const auto &h : j["certificates"][0]["hooks"]) {
    const std::string name = h["name"];
    bool good = name == "flaky" || name == "dup" || name == "hello";
    EXPECT_EQ(h["state"], good ? "deployed" : "failed") << h.dump();
  }
}

// A secret option's value reaches the plugin but no output of check, plan, status, run or deploy,
// text or JSON, stdout or stderr, verbose or not — not even in errors about it — nor the state dir.
TEST_F(E2eFixtures, SecretsNeverAppearInAnyOutput) {
  env.add_fixture("recorder");
  const fs::path record = env.dir() / "record.txt";
  const std::vector<std::string> secrets = {"SeCrEt-tok-0a1b", "SeCrEt-list-2c3d", "424242424242",
                                            "SeCrEt-webhook-4e5f", "SeCrEt-env-6a7b"};
  std::string body =
      "[[hook]]\nname = \"rec\"\ntype = \"recorder\"\n[hook.options]\nrecord = " + toml_str(record.string()) +
      "\ntoken = " + toml_str(secrets[0]) +
      "\n\n[[hook]]\nname = \"rec-list\"\ntype = \"recorder\"\n[hook.options]\nrecord = " +
      toml_str(record.string()) + "\ntoken = [" + toml_str(secrets[1]) + "]\n" +
      "\n[[hook]]\nname = \"rec-int\"\ntype = \"recorder\"\n[hook.options]\nrecord = " + toml_str(record.string()) +
      "\ntoken = " + secrets[2] + "\n" +
      // Nothing listens on port 9 of 127.0.0.1: the webhook fails (and is retried).
      "\n[[hook]]\nname = \"wh\"\ntype = \"webhook\"\nretry = { attempts = 2, delay = \"10ms\" }\n"
      "[hook.options]\nurl = \"http://127.0.0.1:9/hook\"\nsecret = " + toml_str(secrets[3]) + "\n" +
      "\n[[hook]]\nname = \"ex\"\ntype = \"exec\"\nretry = { attempts = 1 }\n[hook.options]\n"
      "command = [\"/bin/false\"]\nenv = { API_KEY = " + toml_str(secrets[4]) + " }\n\n";
  lineage("s.test");
  body += certificate("s.test", {"rec", "rec-list", "rec-int", "wh", "ex"});
  env.write_config(body, {first_party_plugin_dir()});

  std::vector<std::vector<std::string>> commands = {
      {"check"}, {"plan"}, {"status"}, {"run"}, {"run"}, {"deploy", "s.test", "--force"},
      {"deploy", "s.test", "--dry-run"}, {"run", "--dry-run"}, {"status", "--check"}};
  std::string everything;
  for (const auto &cmd : commands)
    for (std::vector<std::string> flags : {std::vector<std::string>{}, {"--json"}, {"-v"}}) {
      std::vector<std::string> args = flags;
      args.insert(args.end(), cmd.begin(), cmd.end());
      CliRun r = env.certhook(args);
      everything += r.all();
      if (flags.size() == 1 && flags[0] == "--json") {
        auto j = json::parse(r.out, nullptr, false);
        EXPECT_TRUE(!j.is_discarded() && j.is_object())
            << "certhook " << testing::PrintToString(args) << ": stdout is not one JSON object\n" << r.out;
      }
      for (const auto &s : secrets) {
        EXPECT_FALSE(contains(r.out, s)) << "stdout of certhook " << testing::PrintToString(args) << " shows " << s
                                         << "\n" << r.out;
        EXPECT_FALSE(contains(r.err, s)) << "stderr of certhook " << testing::PrintToString(args) << " shows " << s
                                         << "\n" << r.err;
      }
    }
  // The runs did happen: the good hook deployed (with the token), the others failed on their own.
  EXPECT_TRUE(contains(read_text(record), "token=set")) << read_text(record);
  EXPECT_TRUE(contains(everything, "deployed: s.test: rec\n")) << everything;
  EXPECT_TRUE(contains(everything, "failed: s.test: rec-list: ")) << everything;
  EXPECT_TRUE(contains(everything, "failed: s.test: rec-int: ")) << everything;
  EXPECT_TRUE(contains(everything, "failed: s.test: wh: ")) << everything;
  EXPECT_TRUE(contains(everything, "failed: s.test: ex: ")) << everything;
  // Nor is any secret left in the state directory (journal errors, request files).
  for (const auto &e : fs::recursive_directory_iterator(env.state())) {
    if (!e.is_regular_file()) continue;
    const std::string text = read_text(e.path());
    for (const auto &s : secrets) EXPECT_FALSE(contains(text, s)) << e.path() << " holds " << s << "\n" << text;
  }
}

// A plugin's log lines keep their level: info is shown once as info (not "info: info:"), and
// hidden by -q.
TEST_F(E2eFixtures, PluginLogLinesKeepTheirLevel) {
  env.add_fixture("flaky");
  const fs::path state = env.dir() / "flaky.count";
  lineage("l.test");
  env.write_config("[[hook]]\nname = \"flaky\"\ntype = \"flaky\"\nretry = { attempts = 3, delay = \"10ms\" }\n"
                   "[hook.options]\nstate = " + toml_str(state.string()) + "\n\n" +
                   certificate("l.test", {"flaky"}));
  CliRun quiet = env.certhook({"-q", "run"});
  ASSERT_EQ(quiet.exit_code, 0) << quiet.describe();
  EXPECT_FALSE(contains(quiet.err, "succeeded on call 3")) << quiet.err;

  fs::remove(state);
  CliRun normal = env.certhook({"deploy", "l.test", "--force"});
  ASSERT_EQ(normal.exit_code, 0) << normal.describe();
  EXPECT_TRUE(contains(normal.err, "certhook: info: flaky (l.test): succeeded on call 3\n")) << normal.err;
  EXPECT_FALSE(contains(normal.err, "info: info:")) << normal.err;
}
