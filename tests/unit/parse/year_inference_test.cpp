// Expected instants come from GNU date (`date -u -d ... +%s`), never from the code under test.
// Every test passes its anchor explicitly: none depends on today's date.
#include "parse/year_inference.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "parse/timezone.hpp"

namespace sluice {
namespace {

constexpr int64_t kSec = 1'000'000'000;

LineTime wall(unsigned month, unsigned day, unsigned hour, unsigned minute, unsigned second) {
  LineTime t;
  t.month = static_cast<uint8_t>(month);
  t.day = static_cast<uint8_t>(day);
  t.hour = static_cast<uint8_t>(hour);
  t.minute = static_cast<uint8_t>(minute);
  t.second = static_cast<uint8_t>(second);
  return t;
}

std::shared_ptr<const TimeZone> zone(const char* name) {
  std::string error;
  auto tz = TimeZone::load(name, &error);
  EXPECT_NE(tz, nullptr) << error;
  return tz;
}

TEST(YearInference, NewYearReadJustAfterMidnight) {
  // Read at 2025-01-01T00:00:30Z: a Dec 31 line is from 2024, not from the end of 2025.
  const int64_t anchor = 1735689630 * kSec;
  EXPECT_EQ(infer_year(wall(12, 31, 23, 59, 59), nullptr, anchor), 2024);
  EXPECT_EQ(resolve_line_time(wall(12, 31, 23, 59, 59), nullptr, anchor), 1735689599 * kSec);
  // A Jan 1 line written a few seconds earlier is from 2025.
  EXPECT_EQ(resolve_line_time(wall(1, 1, 0, 0, 5), nullptr, anchor), 1735689605 * kSec);
}

TEST(YearInference, NewYearLineAheadOfAnchor) {
  // Read at 2024-12-31T23:00:00Z, a Jan 1 line (its host's clock ahead) is from 2025.
  const int64_t anchor = 1735686000 * kSec;
  EXPECT_EQ(resolve_line_time(wall(1, 1, 0, 0, 5), nullptr, anchor), 1735689605 * kSec);
  EXPECT_EQ(resolve_line_time(wall(12, 31, 23, 59, 59), nullptr, anchor), 1735689599 * kSec);
}

TEST(YearInference, MoreThanADayAheadIsLastYear) {
  const int64_t anchor = 1749988800 * kSec;  // 2025-06-15T12:00:00Z
  EXPECT_EQ(resolve_line_time(wall(6, 16, 12, 0, 0), nullptr, anchor), 1750075200 * kSec);
  EXPECT_EQ(resolve_line_time(wall(6, 16, 12, 0, 1), nullptr, anchor), 1718539201 * kSec);
}

TEST(YearInference, OldFileAnchoredAtItsModificationTime) {
  // A file last written 2023-03-10T08:00:00Z and read years later: its Mar 9 line is 2023's,
  // its Dec 28 line (the file spans the new year) is 2022's.
  const int64_t mtime = 1678435200 * kSec;
  EXPECT_EQ(resolve_line_time(wall(3, 9, 17, 45, 12), nullptr, mtime), 1678383912 * kSec);
  EXPECT_EQ(resolve_line_time(wall(12, 28, 10, 0, 0), nullptr, mtime), 1672221600 * kSec);
}

TEST(YearInference, LeapDayGoesBackToALeapYear) {
  const int64_t anchor = 1740787200 * kSec;  // 2025-03-01
  EXPECT_EQ(infer_year(wall(2, 29, 6, 0, 0), nullptr, anchor), 2024);
  EXPECT_EQ(resolve_line_time(wall(2, 29, 6, 0, 0), nullptr, anchor), 1709186400 * kSec);
}

TEST(YearInference, AnchorYearTakenInTheSourceZone) {
  // Read at 2025-01-01T00:00:00Z, still Dec 31 19:00 in New York: a New York "Dec 31 22:30"
  // line is 2024's (2025-01-01T03:30Z, within the day of skew), in New York time.
  auto ny = zone("America/New_York");
  ASSERT_NE(ny, nullptr);
  const int64_t anchor = 1735689600 * kSec;
  EXPECT_EQ(resolve_line_time(wall(12, 31, 22, 30, 0), ny.get(), anchor), 1735702200 * kSec);
}

TEST(YearInference, WrittenYearAndOffsetAreUsedAsWritten) {
  LineTime t = wall(7, 4, 12, 0, 0);
  t.year = 2024;
  t.has_year = true;
  t.has_zone = true;
  t.utc_offset_seconds = 2 * 3600;
  auto ny = zone("America/New_York");
  // Neither the anchor (decades away) nor the zone changes a time that states both.
  EXPECT_EQ(resolve_line_time(t, ny.get(), 0), 1720087200 * kSec);
}

TEST(YearInference, EpochIsTakenAsIs) {
  LineTime t;
  t.is_epoch = true;
  t.epoch_ns = 1700000000 * kSec + 5;
  EXPECT_EQ(resolve_line_time(t, nullptr, 0), 1700000000 * kSec + 5);
}

TEST(YearInference, InvalidFieldsAreRejected) {
  const int64_t anchor = 1749988800 * kSec;
  EXPECT_EQ(resolve_line_time(wall(2, 30, 0, 0, 0), nullptr, anchor), std::nullopt);
  EXPECT_EQ(resolve_line_time(wall(13, 1, 0, 0, 0), nullptr, anchor), std::nullopt);
  EXPECT_EQ(resolve_line_time(wall(0, 1, 0, 0, 0), nullptr, anchor), std::nullopt);
  EXPECT_EQ(resolve_line_time(wall(6, 1, 24, 0, 0), nullptr, anchor), std::nullopt);
  EXPECT_EQ(resolve_line_time(wall(6, 1, 23, 60, 0), nullptr, anchor), std::nullopt);
  LineTime t = wall(6, 1, 0, 0, 0);
  t.nanos = 1'000'000'000;
  EXPECT_EQ(resolve_line_time(t, nullptr, anchor), std::nullopt);
}

TEST(YearInference, LeapSecondStaysBeforeTheNextMinute) {
  LineTime t = wall(12, 31, 23, 59, 60);
  t.year = 2016;
  t.has_year = true;
  // 2016-12-31T23:59:59Z = 1483228799
  EXPECT_EQ(resolve_line_time(t, nullptr, 0), 1483228799 * kSec + 999'999'999);
}

}  // namespace
}  // namespace sluice
