#include <gtest/gtest.h>

#include "util/duration.hpp"

using namespace certhook;
using namespace std::chrono_literals;

TEST(Duration, ParsesGroups) {
  EXPECT_EQ(parse_duration("500ms"), Duration(500));
  EXPECT_EQ(parse_duration("1h30m"), Duration(90min));
  EXPECT_EQ(parse_duration("30d"), Duration(std::chrono::hours(720)));
  EXPECT_EQ(parse_duration("1m1s1ms"), Duration(61001));
}

TEST(Duration, RefusesWithReason) {
  std::string why;
  EXPECT_FALSE(parse_duration("5", &why));
  EXPECT_NE(why.find("without a unit"), std::string::npos) << why;
  EXPECT_FALSE(parse_duration("5x", &why));
  EXPECT_NE(why.find("unknown unit \"x\""), std::string::npos) << why;
  EXPECT_FALSE(parse_duration("-1s", &why));
  EXPECT_NE(why.find("not a duration"), std::string::npos) << why;
  EXPECT_FALSE(parse_duration("", &why));
  EXPECT_FALSE(parse_duration("1.5s", &why));
  EXPECT_FALSE(parse_duration("99999999999999999999d", &why));
}

TEST(Duration, FormatsShortest) {
  EXPECT_EQ(format_duration(Duration(90000)), "1m30s");
  EXPECT_EQ(format_duration(Duration(0)), "0s");
  EXPECT_EQ(format_duration(Duration(86'400'500)), "1d500ms");
}

TEST(Duration, RefusesWhatClocksCannotHold) {
  std::string why;
  EXPECT_TRUE(parse_duration("36500d"));
  EXPECT_FALSE(parse_duration("200000d", &why));
  EXPECT_NE(why.find("longer than 100 years"), std::string::npos) << why;
}
