#include "base/duration.hpp"

#include <gtest/gtest.h>

namespace sluice {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

int64_t ok(std::string_view text) {
  DurationParse parsed = parse_duration(text);
  EXPECT_EQ(parsed.status, DurationParse::Status::Ok) << text;
  return parsed.ns;
}

DurationParse::Status status(std::string_view text) { return parse_duration(text).status; }

TEST(DurationTest, EveryUnit) {
  EXPECT_EQ(ok("7ns"), 7);
  EXPECT_EQ(ok("3us"), 3'000);
  EXPECT_EQ(ok("500ms"), 500'000'000);
  EXPECT_EQ(ok("10s"), 10 * kSecond);
  EXPECT_EQ(ok("5m"), 300 * kSecond);
  EXPECT_EQ(ok("1h"), 3600 * kSecond);
  EXPECT_EQ(ok("2d"), 2 * 86400 * kSecond);
}

TEST(DurationTest, PlainNumberAloneIsSeconds) {
  EXPECT_EQ(ok("30"), 30 * kSecond);
  EXPECT_EQ(ok("0.25"), kSecond / 4);
  // A unitless number after a term is not seconds: `1h30` is a typo for 1h30m, not 1h30s.
  EXPECT_EQ(status("1h30"), DurationParse::Status::Invalid);
}

TEST(DurationTest, TermsAreSummedAndMayHaveFractions) {
  EXPECT_EQ(ok("1h30m"), 5400 * kSecond);
  EXPECT_EQ(ok("1.5h"), 5400 * kSecond);
  EXPECT_EQ(ok("1m0.5s"), 60 * kSecond + kSecond / 2);
  EXPECT_EQ(ok("  10s\t"), 10 * kSecond);
}

TEST(DurationTest, MistakesAreInvalid) {
  for (std::string_view text : {"", " ", "s", "10x", "10 s", "-5s", "+5s", "1.2.3s", "1e3s", "inf",
                                "nan", "10S", "5min", "1h 30m"}) {
    EXPECT_EQ(status(text), DurationParse::Status::Invalid) << text;
  }
}

TEST(DurationTest, BeyondInt64IsTooLong) {
  EXPECT_EQ(ok("106751d"), int64_t{106751} * 86400 * kSecond);
  EXPECT_EQ(status("106752d"), DurationParse::Status::TooLong);
  EXPECT_EQ(status("99999999999999999999h"), DurationParse::Status::TooLong);
}

}  // namespace
}  // namespace sluice
