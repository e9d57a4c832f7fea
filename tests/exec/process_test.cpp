// The process runner against real processes: argv fidelity, environment, descriptors, output,
// and that a timed-out hook leaves nothing behind however it tries.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "exec/process.hpp"
#include "tempdir.hpp"

using namespace certhook;
using namespace certhook::exec;
using namespace std::chrono_literals;

namespace {

ProcessSpec spec_for(std::vector<std::string> argv) {
  ProcessSpec s;
  s.argv = std::move(argv);
  s.env = {"PATH=/usr/bin:/bin"};
  s.timeout = 20s;
  s.kill_grace = 1s;
  return s;
}

// Processes whose environment carries this marker (scans /proc like an operator would).
int count_marked(const std::string &marker) {
  int n = 0;
  for (auto &e : std::filesystem::directory_iterator("/proc")) {
    std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream env(e.path() / "environ", std::ios::binary);
    std::string all((std::istreambuf_iterator<char>(env)), {});
    std::ifstream stat(e.path() / "stat");
    std::string st((std::istreambuf_iterator<char>(stat)), {});
    auto close = st.rfind(')');
    bool zombie = close != std::string::npos && close + 2 < st.size() && st[close + 2] == 'Z';
    if (!zombie && all.find(std::string(marker_variable) + "=" + marker) != std::string::npos) ++n;
  }
  return n;
}

}  // namespace

TEST(Process, ArgvReachesProgramIntact) {
  auto s = spec_for({"/usr/bin/printf", "%s|", "a b", "$(touch x)", ";", "'\"", ""});
  auto r = run_process(s);
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.output, "a b|$(touch x)|;|'\"||");
}

TEST(Process, EnvironmentIsExactlyWhatWasGiven) {
  setenv("CERTHOOK_TEST_SECRET", "hunter2", 1);
  auto s = spec_for({"env"});
  s.env = {"PATH=/usr/bin:/bin", "ONLY=this"};
  s.marker = "m1";
  auto r = run_process(s);
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.output, "PATH=/usr/bin:/bin\nONLY=this\nCERTHOOK_INVOCATION=m1\n");
}

TEST(Process, StdinIsEmptyAndOnlyThreeDescriptorsAreInherited) {
  int leaked = ::open("/dev/null", O_RDONLY);  // not close-on-exec on purpose
  ASSERT_GE(leaked, 3);
  auto s = spec_for({"/bin/sh", "-c", "cat; ls /proc/$$/fd"});
  auto r = run_process(s);
  ::close(leaked);
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.output, "0\n1\n2\n");
}

TEST(Process, ReportsExitStatusSignalAndSpawnFailure) {
  auto r = run_process(spec_for({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"}));
  EXPECT_EQ(r.outcome, ProcessResult::Outcome::exited);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.output, "out\nerr\n");
  EXPECT_EQ(r.describe(), "exited with status 3");

  r = run_process(spec_for({"/bin/sh", "-c", "kill -SEGV $$"}));
  EXPECT_EQ(r.outcome, ProcessResult::Outcome::signaled);
  EXPECT_EQ(r.describe(), "killed by SIGSEGV");

  r = run_process(spec_for({"/nonexistent/hook"}));
  EXPECT_EQ(r.outcome, ProcessResult::Outcome::spawn_failed);
  EXPECT_NE(r.describe().find("/nonexistent/hook"), std::string::npos) << r.describe();

  r = run_process(spec_for({"no-such-program-anywhere"}));
  EXPECT_EQ(r.outcome, ProcessResult::Outcome::spawn_failed);
}

TEST(Process, StreamsLinesAndBoundsCapture) {
  auto s = spec_for({"/bin/sh", "-c", "i=0; while [ $i -lt 1000 ]; do echo line$i; i=$((i+1)); done"});
  s.output_limit = 100;
  std::vector<std::string> lines;
  s.on_line = [&](std::string_view l) { lines.emplace_back(l); };
  auto r = run_process(s);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.output.size(), 100u);
  ASSERT_EQ(lines.size(), 1000u);
  EXPECT_EQ(lines.front(), "line0");
  EXPECT_EQ(lines.back(), "line999");
}

TEST(Process, TimeoutKillsStubbornHookAndGrandchildHoldingOutput) {
  // Ignores SIGTERM, and leaves a grandchild (also ignoring SIGTERM) holding stdout.
  auto s = spec_for({"/bin/sh", "-c", "trap '' TERM; (trap '' TERM; sleep 300) & sleep 300"});
  s.timeout = 300ms;
  s.kill_grace = 300ms;
  s.marker = "stubborn-" + std::to_string(::getpid());
  auto start = std::chrono::steady_clock::now();
  auto r = run_process(s);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.outcome, ProcessResult::Outcome::timed_out);
  EXPECT_NE(r.describe().find("timed out after 300ms"), std::string::npos) << r.describe();
  EXPECT_LT(took, 10s) << "the runner waited for the orphaned pipe holder";
  EXPECT_EQ(count_marked(s.marker), 0);
}

TEST(Process, TimeoutKillsDescendantThatCalledSetsid) {
  become_subreaper();
  auto s = spec_for({"/bin/sh", "-c", "setsid sh -c 'sleep 300' & sleep 300"});
  s.timeout = 300ms;
  s.kill_grace = 300ms;
  s.marker = "setsid-" + std::to_string(::getpid());
  auto r = run_process(s);
  EXPECT_EQ(r.outcome, ProcessResult::Outcome::timed_out);
  EXPECT_EQ(count_marked(s.marker), 0);
}

TEST(Process, DaemonThatDoubleForkedIsStoppedByMarker) {
  become_subreaper();
  // Leaves a daemon behind and exits 0: not a timeout, so it survives the hook...
  auto s = spec_for({"/bin/sh", "-c", "setsid sh -c 'sleep 300 & exit 0' & exit 0"});
  s.marker = "daemon-" + std::to_string(::getpid()) + "-1";
  auto r = run_process(s);
  EXPECT_TRUE(r.ok()) << r.describe();
  // The daemon settles asynchronously (setsid, fork, the intermediate shell exits): wait until
  // exactly the daemon is left, twice in a row, allowing a loaded machine time.
  int stable = 0;
  for (int i = 0; i < 500 && stable < 2; ++i) {
    stable = count_marked(s.marker) == 1 ? stable + 1 : 0;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(count_marked(s.marker), 1) << "the daemon did not survive its hook";
  // ...until certhook stops what a previous run left (found by marker prefix).
  EXPECT_GE(stop_marked_processes("daemon-" + std::to_string(::getpid()), 1s), 1);
  EXPECT_EQ(count_marked(s.marker), 0);
}

TEST(Process, ConcurrentRunsAreIndependent) {
  std::vector<std::thread> threads;
  std::vector<ProcessResult> results(8);
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&, i] {
      results[i] = run_process(spec_for({"/bin/sh", "-c", "echo " + std::to_string(i) + "; exit " + std::to_string(i)}));
    });
  for (auto &t : threads) t.join();
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(results[i].exit_code, i);
    EXPECT_EQ(results[i].output, std::to_string(i) + "\n");
  }
}
