#include <gtest/gtest.h>
#include <sys/stat.h>

#include "tempdir.hpp"
#include "util/atomic_file.hpp"

using namespace certhook;

TEST(AtomicFile, ReplacesWholeWithMode) {
  test::TempDir dir;
  auto p = dir / "state.json";
  write_file_atomic(p, "one", 0600);
  write_file_atomic(p, "two", 0600);
  EXPECT_EQ(read_file(p), "two");
  struct stat st {};
  ASSERT_EQ(::stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // no temp file left behind
  int entries = 0;
  for ([[maybe_unused]] auto &e : std::filesystem::directory_iterator(dir.path())) ++entries;
  EXPECT_EQ(entries, 1);
}

TEST(AtomicFile, NamesPathOnFailure) {
  try {
    write_file_atomic("/nonexistent-dir/x", "data");
    FAIL() << "expected an error";
  } catch (const std::system_error &e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-dir/x"), std::string::npos) << e.what();
  }
}
