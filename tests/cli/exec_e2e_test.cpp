// The executor end to end through the built binary: ordering, concurrency, timeouts that kill
// whole process trees, retry with backoff, failures kept in the journal, a killed certhook, and
// the state lock between two runs.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <set>
#include <thread>

#include "cli_support.hpp"

using namespace certhook::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// Appends "LABEL start CERT" / "LABEL end CERT" to LOG, sleeping SLEEP seconds in between.
const char *recorder =
    "echo \"$2 start $CERTHOOK_CERT_NAME\" >> \"$1\"\n"
    "if [ -n \"$3\" ]; then sleep \"$3\"; fi\n"
    "echo \"$2 end $CERTHOOK_CERT_NAME\" >> \"$1\"\n";

std::string unique_tag(const char *what) {
  return std::string(what) + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
}

}  // namespace

// (a) after-ordering decides the order, ties are broken by name (max_parallel = 1 makes the
// scheduler's choice visible), and "zeta" runs first although its name sorts last.
TEST(ExecE2E, AfterOrderingThenNameOrder) {
  Scratch s;
  s.lineage("one");
  auto rec = s.script("rec.sh", recorder);
  auto log = s / "order.log";
  std::string cfg;
  cfg += exec_hook("zeta", {rec.string(), log.string(), "zeta"});
  cfg += exec_hook("beta", {rec.string(), log.string(), "beta"}, "after = [\"zeta\"]\n");
  cfg += exec_hook("alpha", {rec.string(), log.string(), "alpha"}, "after = [\"zeta\"]\n");
  cfg += exec_hook("omega", {rec.string(), log.string(), "omega"}, "after = [\"alpha\", \"beta\"]\n");
  cfg += path_certificate("one", s.lineage_dir("one"), {"omega", "beta", "alpha", "zeta"});
  s.write_config(cfg, 1);
  auto r = s.run({"run"});
  ASSERT_EQ(r.status, 0) << r.err;
  std::vector<std::string> expected = {"zeta start one",  "zeta end one",  "alpha start one", "alpha end one",
                                       "beta start one",  "beta end one",  "omega start one", "omega end one"};
  EXPECT_EQ(read_lines(log), expected);
}

// (a) with max_parallel = 4, hooks without ordering between them overlap, but the same hook never
// runs twice at once, even for different certificates.
TEST(ExecE2E, SameHookNeverRunsConcurrently) {
  Scratch s;
  s.lineage("one");
  s.lineage("two");
  s.lineage("three");
  auto rec = s.script("rec.sh", recorder);
  auto log = s / "conc.log";
  std::string cfg;
  cfg += exec_hook("slow", {rec.string(), log.string(), "slow", "0.3"});
  cfg += exec_hook("other", {rec.string(), log.string(), "other", "0.3"});
  for (const char *n : {"one", "two", "three"}) cfg += path_certificate(n, s.lineage_dir(n), {"slow", "other"});
  s.write_config(cfg, 4);
  auto r = s.run({"run"});
  ASSERT_EQ(r.status, 0) << r.err;
  auto lines = read_lines(log);
  ASSERT_EQ(lines.size(), 12u);
  // Per hook: strictly start, end, start, end, ...
  for (const std::string hook : {"slow", "other"}) {
    int open = 0, starts = 0;
    for (const auto &l : lines) {
      if (l.rfind(hook + " start", 0) == 0) {
        ++open;
        ++starts;
        EXPECT_LE(open, 1) << hook << " ran twice at once:\n" << testing::PrintToString(lines);
      } else if (l.rfind(hook + " end", 0) == 0) {
        --open;
      }
    }
    EXPECT_EQ(starts, 3);
  }
  // Different hooks did overlap (the executor is parallel at all): some start follows a start.
  bool overlap = false;
  for (std::size_t i = 1; i < lines.size(); ++i)
    overlap = overlap || (lines[i - 1].find(" start ") != std::string::npos &&
                          lines[i].find(" start ") != std::string::npos);
  EXPECT_TRUE(overlap) << testing::PrintToString(lines);
}

// (b) a hook that ignores SIGTERM and leaves a grandchild holding stdout, and one whose child
// calls setsid (and forks away from it), are killed entirely at timeout + kill_grace.
TEST(ExecE2E, TimeoutKillsWholeTreeAndReturnsPromptly) {
  Scratch s;
  s.lineage("one");
  const std::string tag = unique_tag("ignoreterm");
  const std::string tag2 = unique_tag("setsid");
  // Unique durations, so that the argv scan below sees only this run's processes.
  const std::string d1 = "3601." + std::to_string(::getpid()), d2 = "3602." + std::to_string(::getpid());
  auto stubborn = s.script("stubborn.sh",
                           "trap '' TERM\n"
                           "sh -c 'trap \"\" TERM; touch " + (s / "grandchild").string() +
                               "; sleep 3600' &\n"   // grandchild holds stdout
                           "echo stubborn started\n"
                           "sleep 3600\n");
  auto daemon = s.script("daemon.sh",
                         "setsid -f sh -c 'touch " + (s / "daemon1").string() +
                             "; exec sleep " + d1 + "'\n"                     // new session, re-parented
                         "setsid sh -c 'touch " + (s / "daemon2").string() +
                             "; exec sleep " + d2 + "' &\n"                   // new session, still a child
                         "echo daemon started\n"
                         "sleep 3600\n");
  std::string cfg;
  cfg += exec_hook("stubborn", {stubborn.string()},
                   "timeout = \"1s\"\nkill_grace = \"1s\"\nretry = { attempts = 1 }\n",
                   "env = { TEST_TAG = " + toml_string(tag) + " }");
  cfg += exec_hook("daemon", {daemon.string()},
                   "timeout = \"1s\"\nkill_grace = \"1s\"\nretry = { attempts = 1 }\n",
                   "env = { TEST_TAG = " + toml_string(tag2) + " }");
  cfg += path_certificate("one", s.lineage_dir("one"), {"stubborn", "daemon"});
  s.write_config(cfg, 1);
  auto r = s.run({"run", "--json"});
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_LT(r.seconds, 30.0) << "certhook did not return promptly";
  for (const char *f : {"grandchild", "daemon1", "daemon2"})
    EXPECT_TRUE(fs::exists(s / f)) << "precondition: " << f << " was started";
  std::this_thread::sleep_for(200ms);   // let init reap what it inherited
  EXPECT_TRUE(processes_with_env("TEST_TAG=" + tag).empty()) << "a process of the stubborn hook survived";
  EXPECT_TRUE(processes_with_env("TEST_TAG=" + tag2).empty()) << "a process of the setsid hook survived";
  EXPECT_TRUE(processes_with_arg(d1).empty());
  EXPECT_TRUE(processes_with_arg(d2).empty());

  auto doc = r.json();
  ASSERT_EQ(doc["failed"].size(), 2u) << doc.dump(1);
  for (const auto &f : doc["failed"]) EXPECT_NE(f["error"].get<std::string>().find("timed out"), std::string::npos);
  auto j = s.journal("one");
  for (const char *h : {"stubborn", "daemon"}) {
    EXPECT_EQ(j["hooks"][h]["deployed_fingerprint"], "") << j.dump(1);
    EXPECT_EQ(j["hooks"][h]["attempts"], 1);
    EXPECT_NE(j["hooks"][h]["last_error"].get<std::string>().find("timed out after 1s"), std::string::npos)
        << j.dump(1);
  }
  auto st = s.run({"status", "--json"}).json();
  for (const auto &h : st["certificates"][0]["hooks"]) EXPECT_EQ(h["state"], "failed");
}

// (c) fails twice, then succeeds: three tries, each wait within the full-jitter bound
// min(max_delay, delay * 2^(n-1)) (+ slack for starting a process), ends deployed.
TEST(ExecE2E, RetriesWithinBackoffBoundThenDeploys) {
  Scratch s;
  s.lineage("one");
  auto times = s / "times";
  auto flaky = s.script("flaky.sh",
                        "date +%s.%N >> " + times.string() + "\n"
                        "echo \"$CERTHOOK_ATTEMPT\" >> " + (s / "attempts").string() + "\n"
                        "n=$(wc -l < " + times.string() + ")\n"
                        "if [ \"$n\" -lt 3 ]; then echo \"not yet ($n)\"; exit 1; fi\n");
  std::string cfg = exec_hook("flaky", {flaky.string()},
                              "retry = { attempts = 3, delay = \"400ms\", max_delay = \"600ms\" }\n");
  cfg += path_certificate("one", s.lineage_dir("one"), {"flaky"});
  s.write_config(cfg);
  auto r = s.run({"run", "--json"});
  EXPECT_EQ(r.status, 0) << r.err;
  auto stamps = read_lines(times);
  ASSERT_EQ(stamps.size(), 3u);
  EXPECT_EQ(read_lines(s / "attempts"), (std::vector<std::string>{"1", "2", "3"}));
  const double slack = 0.5;   // starting a shell and `date`, on a loaded machine
  const double bound[] = {0.4, 0.6};   // 400ms * 2^0; min(600ms, 400ms * 2^1)
  for (int i = 0; i < 2; ++i) {
    double gap = std::stod(stamps[static_cast<std::size_t>(i) + 1]) - std::stod(stamps[static_cast<std::size_t>(i)]);
    EXPECT_LE(gap, bound[i] + slack) << "wait before try " << i + 2;
    EXPECT_GE(gap, 0.0);
  }
  auto doc = r.json();
  ASSERT_EQ(doc["deployed"].size(), 1u);
  EXPECT_EQ(doc["deployed"][0]["hook"], "flaky");
  EXPECT_EQ(s.journal("one")["hooks"]["flaky"]["attempts"], 0);
  EXPECT_EQ(s.run({"status", "--check"}).status, 0);
}

// (d) a hook that always fails: journal failed with attempts and last_error, run exits 1, the
// next run retries it, status --check exits 1 until it is fixed.
TEST(ExecE2E, PersistentFailureStaysPendingAndIsRetried) {
  Scratch s;
  s.lineage("one");
  auto count = s / "count";
  auto body = [&](int code) {
    return "echo x >> " + count.string() + "\necho 'backend refused the reload' >&2\nexit " + std::to_string(code) + "\n";
  };
  auto bad = s.script("bad.sh", body(3));
  std::string cfg = exec_hook("bad", {bad.string()}, "retry = { attempts = 2, delay = \"10ms\" }\n");
  cfg += path_certificate("one", s.lineage_dir("one"), {"bad"});
  s.write_config(cfg);

  auto r1 = s.run({"run"});
  EXPECT_EQ(r1.status, 1);
  EXPECT_NE(r1.out.find("failed: one: bad"), std::string::npos) << r1.out;
  EXPECT_EQ(read_lines(count).size(), 2u);
  auto j = s.journal("one");
  EXPECT_EQ(j["hooks"]["bad"]["attempts"], 2);
  EXPECT_EQ(j["hooks"]["bad"]["deployed_fingerprint"], "");
  const std::string err = j["hooks"]["bad"]["last_error"];
  EXPECT_NE(err.find("exited with status 3"), std::string::npos) << err;
  EXPECT_NE(err.find("backend refused the reload"), std::string::npos) << err;

  auto st = s.run({"status", "--check"});
  EXPECT_EQ(st.status, 1);
  EXPECT_NE(st.out.find("failed  bad"), std::string::npos) << st.out;
  auto stj = s.run({"status", "--json"}).json();
  EXPECT_EQ(stj["certificates"][0]["hooks"][0]["state"], "failed");
  EXPECT_EQ(stj["certificates"][0]["hooks"][0]["attempts"], 2);

  auto r2 = s.run({"run"});
  EXPECT_EQ(r2.status, 1);
  EXPECT_EQ(read_lines(count).size(), 4u) << "the next run must retry the failed hook";
  EXPECT_EQ(s.journal("one")["hooks"]["bad"]["attempts"], 4);

  s.script("bad.sh", body(0));   // fixed
  auto r3 = s.run({"run"});
  EXPECT_EQ(r3.status, 0) << r3.err;
  EXPECT_EQ(read_lines(count).size(), 5u);
  EXPECT_EQ(s.run({"status", "--check"}).status, 0);
  EXPECT_EQ(s.journal("one")["hooks"]["bad"]["attempts"], 0);
  EXPECT_EQ(s.journal("one")["hooks"]["bad"]["last_error"], "");
}

// (i) certhook killed with SIGKILL mid-deploy: the orphaned hook keeps running until the next
// run stops it, and that run completes the deploy.
TEST(ExecE2E, NextRunStopsHooksOfAKilledCerthook) {
  Scratch s;
  s.lineage("one");
  const std::string tag = unique_tag("orphan");
  auto started = s / "started";
  auto hook = s.script("hang.sh",
                       "if [ -e " + started.string() + " ]; then echo second >> " + (s / "done").string() +
                           "; exit 0; fi\n"
                           "touch " + started.string() + "\n"
                           "exec sleep 3600\n");
  std::string cfg = exec_hook("hang", {hook.string()}, "", "env = { TEST_TAG = " + toml_string(tag) + " }");
  cfg += path_certificate("one", s.lineage_dir("one"), {"hang"});
  s.write_config(cfg);

  auto bg = s.start({"run"});
  ASSERT_TRUE(wait_for_file(started, 30s));
  ASSERT_EQ(::kill(bg.pid, SIGKILL), 0);
  bg.wait();
  ASSERT_FALSE(processes_with_env("TEST_TAG=" + tag).empty()) << "precondition: the hook outlives certhook";
  auto j0 = s.journal("one");
  bool recorded = j0.contains("hooks") && j0["hooks"].contains("hang") &&
                  !j0["hooks"]["hang"].value("deployed_fingerprint", "").empty();
  EXPECT_FALSE(recorded) << "a hook that did not finish is recorded as deployed: " << j0.dump(1);

  auto r = s.run({"run"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("stopped 1 process"), std::string::npos) << r.err;
  std::this_thread::sleep_for(200ms);
  EXPECT_TRUE(processes_with_env("TEST_TAG=" + tag).empty()) << "the orphaned hook is still running";
  EXPECT_EQ(read_lines(s / "done"), std::vector<std::string>{"second"});
  auto j = s.journal("one");
  EXPECT_EQ(j["hooks"]["hang"]["deployed_fingerprint"], j["facts"]["fingerprint"]);
}

// (j) two concurrent runs do not both deploy; --no-wait exits 1 naming the holder.
TEST(ExecE2E, ConcurrentRunsAreSerializedByTheStateLock) {
  Scratch s;
  s.lineage("one");
  auto started = s / "started";
  auto count = s / "count";
  auto hook = s.script("slow.sh", "echo x >> " + count.string() + "\ntouch " + started.string() + "\nsleep 1\n");
  std::string cfg = exec_hook("slow", {hook.string()});
  cfg += path_certificate("one", s.lineage_dir("one"), {"slow"});
  s.write_config(cfg);

  auto first = s.start({"run"});
  ASSERT_TRUE(wait_for_file(started, 30s));
  auto second = s.start({"run"});         // waits for the lock
  auto busy = s.run({"--no-wait", "run"});
  EXPECT_EQ(busy.status, 1);
  EXPECT_NE(busy.err.find("held by pid " + std::to_string(first.pid)), std::string::npos) << busy.err;
  auto busy_json = s.run({"run", "--no-wait", "--json"});
  EXPECT_EQ(busy_json.status, 1);
  EXPECT_FALSE(busy_json.json()["errors"].empty());

  auto r1 = first.wait();
  auto r2 = second.wait();
  EXPECT_EQ(r1.status, 0) << r1.err;
  EXPECT_EQ(r2.status, 0) << r2.err;
  EXPECT_EQ(read_lines(count).size(), 1u) << "both runs deployed";
  EXPECT_NE(r2.out.find("nothing to do"), std::string::npos) << r2.out;
}

// on_failure = "stop" skips the hooks ordered after the failed one, for that certificate only;
// hooks without ordering to it and other certificates proceed.
TEST(ExecE2E, OnFailureStopSkipsOnlyLaterHooksOfThatCertificate) {
  Scratch s;
  s.lineage("one");
  s.lineage("two");
  auto log = s / "log";
  auto first = s.script("first.sh", "echo \"first $CERTHOOK_CERT_NAME\" >> " + log.string() +
                                        "\n[ \"$CERTHOOK_CERT_NAME\" != one ]\n");
  auto rec = s.script("rec.sh", "echo \"$1 $CERTHOOK_CERT_NAME\" >> " + log.string() + "\n");
  std::string cfg;
  cfg += exec_hook("first", {first.string()}, "on_failure = \"stop\"\nretry = { attempts = 1 }\n");
  cfg += exec_hook("second", {rec.string(), "second"}, "after = [\"first\"]\n");
  cfg += exec_hook("third", {rec.string(), "third"}, "after = [\"second\"]\n");
  cfg += exec_hook("aside", {rec.string(), "aside"});
  for (const char *n : {"one", "two"})
    cfg += path_certificate(n, s.lineage_dir(n), {"first", "second", "third", "aside"}, "hooks_d = false\n");
  s.write_config(cfg, 2);
  auto r = s.run({"run", "--json"});
  EXPECT_EQ(r.status, 1);
  auto lines = read_lines(log);
  std::sort(lines.begin(), lines.end());
  EXPECT_EQ(lines, (std::vector<std::string>{"aside one", "aside two", "first one", "first two", "second two",
                                             "third two"}));
  auto doc = r.json();
  std::set<std::string> failed;
  for (const auto &f : doc["failed"]) failed.insert(f["certificate"].get<std::string>() + "/" + f["hook"].get<std::string>());
  EXPECT_EQ(failed, (std::set<std::string>{"one/first", "one/second", "one/third"})) << doc.dump(1);
  auto j = s.journal("one");
  EXPECT_EQ(j["hooks"]["first"]["attempts"], 1);
  EXPECT_FALSE(j["hooks"].contains("second")) << "a skipped hook is not recorded as tried";
  EXPECT_EQ(s.journal("two")["hooks"]["third"]["deployed_fingerprint"], s.journal("two")["facts"]["fingerprint"]);
}
