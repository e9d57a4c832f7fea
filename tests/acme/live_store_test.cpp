#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/live_store.hpp"
#include "tempdir.hpp"
#include "testcerts.hpp"

using namespace certhook;
namespace fs = std::filesystem;

namespace {
unsigned mode_of(const fs::path &p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

IssuedVersion version(const test::Pem &ca) {
  auto leaf = test::make_leaf(ca);
  return IssuedVersion{leaf.cert, ca.cert, leaf.cert + ca.cert, leaf.key};
}
}  // namespace

TEST(LiveStore, NeverIssuedIsNullopt) {
  test::TempDir state;
  EXPECT_FALSE(live_dir(state.path(), "example.com").has_value());
  EXPECT_FALSE(previous_key(state.path(), "example.com").has_value());
}

TEST(LiveStore, WritesAVersionAndPointsLiveAtItWithModes) {
  test::TempDir state;
  auto ca = test::make_ca();
  IssuedVersion v = version(ca);
  StoredVersion s = store_version(state.path(), "example.com", v);
  EXPECT_EQ(s.number, 1);
  fs::path live = state.path() / "live" / "example.com";
  EXPECT_EQ(s.live_dir, live);
  ASSERT_TRUE(fs::is_symlink(live));
  EXPECT_EQ(fs::read_symlink(live), fs::path("../archive/example.com/1"));   // relative: the state dir can move
  EXPECT_EQ(test::read_text(live / "cert.pem"), v.cert);
  EXPECT_EQ(test::read_text(live / "chain.pem"), v.chain);
  EXPECT_EQ(test::read_text(live / "fullchain.pem"), v.fullchain);
  EXPECT_EQ(test::read_text(live / "privkey.pem"), v.privkey);
  EXPECT_EQ(mode_of(live / "privkey.pem"), 0600u);
  EXPECT_EQ(mode_of(live / "cert.pem"), 0644u);
  EXPECT_EQ(mode_of(s.version_dir), 0700u);
  EXPECT_EQ(mode_of(state.path() / "archive"), 0700u);
  EXPECT_EQ(mode_of(state.path() / "archive" / "example.com"), 0700u);
  EXPECT_EQ(live_dir(state.path(), "example.com"), live);
  EXPECT_EQ(previous_key(state.path(), "example.com"), v.privkey);
}

TEST(LiveStore, NewVersionSwapsTheSymlinkAndPrunesOldOnes) {
  test::TempDir state;
  auto ca = test::make_ca();
  std::string last_key;
  for (int i = 1; i <= 7; ++i) {
    IssuedVersion v = version(ca);
    StoredVersion s = store_version(state.path(), "example.com", v, 3);
    EXPECT_EQ(s.number, i);
    last_key = v.privkey;
  }
  fs::path live = state.path() / "live" / "example.com";
  EXPECT_EQ(fs::read_symlink(live), fs::path("../archive/example.com/7"));
  EXPECT_EQ(test::read_text(live / "privkey.pem"), last_key);
  std::vector<std::string> kept;
  for (auto &e : fs::directory_iterator(state.path() / "archive" / "example.com")) kept.push_back(e.path().filename());
  std::sort(kept.begin(), kept.end());
  EXPECT_EQ(kept, (std::vector<std::string>{"5", "6", "7"}));
  // only the symlink lives in live/: no temp links left behind
  int entries = 0;
  for ([[maybe_unused]] auto &e : fs::directory_iterator(state.path() / "live")) ++entries;
  EXPECT_EQ(entries, 1);
}

TEST(LiveStore, LeftoversOfACrashAreIgnoredAndCleaned) {
  test::TempDir state;
  auto ca = test::make_ca();
  IssuedVersion first = version(ca);
  store_version(state.path(), "example.com", first);
  // A crash while writing version 2: a partial staging dir and a stray temp symlink.
  fs::path partial = state.path() / "archive" / "example.com" / "2.partial";
  fs::create_directories(partial);
  test::write_text(partial / "cert.pem", "half");
  fs::create_symlink("../archive/example.com/2.partial", state.path() / "live" / ".example.com.tmp.abc");
  // live still shows the complete first version
  EXPECT_EQ(previous_key(state.path(), "example.com"), first.privkey);
  IssuedVersion second = version(ca);
  StoredVersion s = store_version(state.path(), "example.com", second);
  EXPECT_EQ(s.number, 2);
  EXPECT_FALSE(fs::exists(partial));
  EXPECT_FALSE(fs::is_symlink(state.path() / "live" / ".example.com.tmp.abc"));
  EXPECT_EQ(previous_key(state.path(), "example.com"), second.privkey);
}

TEST(LiveStore, RefusesBadNamesAndARealDirectoryInLive) {
  test::TempDir state;
  auto ca = test::make_ca();
  try {
    store_version(state.path(), "../etc", version(ca));
    FAIL() << "expected an error";
  } catch (const LiveStoreError &e) {
    EXPECT_NE(std::string(e.what()).find("invalid certificate name"), std::string::npos) << e.what();
  }
  fs::create_directories(state.path() / "live" / "example.com");
  test::write_text(state.path() / "live" / "example.com" / "cert.pem", "operator's file");
  try {
    store_version(state.path(), "example.com", version(ca));
    FAIL() << "expected an error";
  } catch (const LiveStoreError &e) {
    EXPECT_NE(std::string(e.what()).find("is not a symlink"), std::string::npos) << e.what();
  }
  // nothing lost
  EXPECT_EQ(test::read_text(state.path() / "live" / "example.com" / "cert.pem"), "operator's file");
}

#include <signal.h>
#include <sys/wait.h>

#include <random>

#include "acme/cert_key.hpp"

// Kill -9 a writer at arbitrary moments: live/<name> must always be absent or a complete version
// whose certificate matches its key.
TEST(LiveStore, KilledWriterNeverLeavesAHalfVersionLive) {
  test::TempDir state;
  auto ca = test::make_ca();
  std::vector<IssuedVersion> versions;
  for (int i = 0; i < 4; ++i) versions.push_back(version(ca));
  std::mt19937 rng{std::random_device{}()};
  int checked_live = 0;
  for (int round = 0; round < 15; ++round) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      for (std::size_t i = 0;; ++i) {
        try {
          store_version(state.path(), "crash", versions[i % versions.size()], 3);
        } catch (...) {
          ::_exit(3);
        }
      }
    }
    ::usleep(1000 + rng() % 80000);   // a store takes a few fsyncs: some rounds complete versions
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "writer stopped by itself (status " << status << ")";
    auto live = live_dir(state.path(), "crash");
    if (!live) continue;
    ++checked_live;
    std::string cert = test::read_text(*live / "cert.pem");
    std::string key = test::read_text(*live / "privkey.pem");
    EXPECT_TRUE(acme::certificate_matches_key(cert, key)) << "round " << round;
    EXPECT_EQ(test::read_text(*live / "fullchain.pem"), cert + test::read_text(*live / "chain.pem"));
  }
  EXPECT_GT(checked_live, 0);
  // And the next regular store cleans up whatever the kills left behind.
  store_version(state.path(), "crash", versions[0], 3);
  for (auto &e : fs::directory_iterator(state.path() / "archive" / "crash"))
    EXPECT_NE(e.path().extension(), ".partial") << e.path();
}
