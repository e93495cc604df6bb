// Expected instants and offsets come from GNU date (`TZ=zone date -d ... +%s %z`), which reads
// the same TZif files through glibc, not from the code under test.
#include "parse/timezone.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>

namespace sluice {
namespace {

std::shared_ptr<const TimeZone> load(std::string_view name) {
  std::string error;
  auto tz = TimeZone::load(name, &error);
  EXPECT_NE(tz, nullptr) << error;
  EXPECT_TRUE(tz == nullptr || error.empty());
  return tz;
}

TEST(TimeZone, Utc) {
  for (const char* name : {"UTC", "Etc/UTC"}) {
    auto tz = load(name);
    ASSERT_NE(tz, nullptr);
    EXPECT_EQ(tz->name(), name);
    EXPECT_EQ(tz->offset_at_utc(0), 0);
    EXPECT_EQ(tz->offset_at_utc(1719835200), 0);
    EXPECT_EQ(tz->offset_at_utc(3802550400), 0);
    EXPECT_EQ(tz->local_to_utc(1719835200), 1719835200);
  }
}

TEST(TimeZone, UtcNeedsNoZoneFiles) {
  const testing::TempDir empty("sluice-tz-empty");
  std::string error;
  auto tz = TimeZone::load("UTC", &error, empty.path());
  EXPECT_NE(tz, nullptr) << error;
  EXPECT_EQ(tz != nullptr ? tz->offset_at_utc(1719835200) : -1, 0);
  EXPECT_EQ(TimeZone::load("Europe/Berlin", &error, empty.path()), nullptr);
  EXPECT_NE(error.find("Europe/Berlin"), std::string::npos) << error;
}

TEST(TimeZone, BerlinSummerAndWinter) {
  auto tz = load("Europe/Berlin");
  ASSERT_NE(tz, nullptr);
  EXPECT_EQ(tz->offset_at_utc(1719835200), 7200);  // 2024-07-01T12:00Z
  EXPECT_EQ(tz->offset_at_utc(1705320000), 3600);  // 2024-01-15T12:00Z
  // The 2024 changes happen at 01:00Z exactly.
  EXPECT_EQ(tz->offset_at_utc(1711846799), 3600);
  EXPECT_EQ(tz->offset_at_utc(1711846800), 7200);
  EXPECT_EQ(tz->offset_at_utc(1729990799), 7200);
  EXPECT_EQ(tz->offset_at_utc(1729990800), 3600);
  // Wall clock 2024-07-01 12:00 is 10:00Z.
  EXPECT_EQ(tz->local_to_utc(1719835200), 1719828000);
  EXPECT_EQ(tz->local_to_utc(1705320000), 1705320000 - 3600);
}

TEST(TimeZone, BerlinFarFutureFromFooter) {
  // The file's explicit transitions stop in 2037; these come from "CET-1CEST,M3.5.0,M10.5.0/3".
  auto tz = load("Europe/Berlin");
  ASSERT_NE(tz, nullptr);
  EXPECT_EQ(tz->offset_at_utc(3802550400), 7200);  // 2090-07-01T00:00Z
  EXPECT_EQ(tz->offset_at_utc(3786912000), 3600);  // 2090-01-01T00:00Z
  EXPECT_EQ(tz->offset_at_utc(3794173199), 3600);  // 2090-03-26T00:59:59Z
  EXPECT_EQ(tz->offset_at_utc(3794173200), 7200);  // 2090-03-26T01:00:00Z
  EXPECT_EQ(tz->offset_at_utc(3812921999), 7200);  // 2090-10-29T00:59:59Z
  EXPECT_EQ(tz->offset_at_utc(3812922000), 3600);  // 2090-10-29T01:00:00Z
  EXPECT_EQ(tz->local_to_utc(3802550400), 3802550400 - 7200);
}

TEST(TimeZone, NewYorkSpringForwardGap) {
  auto tz = load("America/New_York");
  ASSERT_NE(tz, nullptr);
  EXPECT_EQ(tz->offset_at_utc(1710053999), -5 * 3600);
  EXPECT_EQ(tz->offset_at_utc(1710054000), -4 * 3600);
  // 2024-03-10 02:30 never happens; read with EST (the offset before the jump) it is 07:30Z.
  EXPECT_EQ(tz->local_to_utc(1710037800), 1710055800);
  EXPECT_EQ(tz->local_to_utc(1710036000), 1710054000);  // 02:00 -> 07:00Z
  EXPECT_EQ(tz->local_to_utc(1710035999), 1710053999);  // 01:59:59 EST -> 06:59:59Z
  EXPECT_EQ(tz->local_to_utc(1710039600), 1710054000);  // 03:00 EDT -> 07:00Z
  EXPECT_EQ(tz->local_to_utc(1719835200), 1719849600);  // 2024-07-01 12:00 EDT -> 16:00Z
}

TEST(TimeZone, NewYorkFallBackOverlap) {
  auto tz = load("America/New_York");
  ASSERT_NE(tz, nullptr);
  // 2024-11-03 01:30 happens twice, at 05:30Z (EDT) and 06:30Z (EST): the earlier wins.
  EXPECT_EQ(tz->local_to_utc(1730597400), 1730611800);
  EXPECT_EQ(tz->local_to_utc(1730595600), 1730610000);  // 01:00 -> 05:00Z (EDT)
  EXPECT_EQ(tz->local_to_utc(1730595599), 1730609999);  // 00:59:59 EDT
  EXPECT_EQ(tz->local_to_utc(1730599200), 1730617200);  // 02:00 exists only in EST -> 07:00Z
  EXPECT_EQ(tz->offset_at_utc(1730611800), -4 * 3600);
  EXPECT_EQ(tz->offset_at_utc(1730615400), -5 * 3600);
}

TEST(TimeZone, KolkataHalfHour) {
  auto tz = load("Asia/Kolkata");
  ASSERT_NE(tz, nullptr);
  EXPECT_EQ(tz->offset_at_utc(1719835200), 19800);
  EXPECT_EQ(tz->offset_at_utc(3802550400), 19800);
  EXPECT_EQ(tz->local_to_utc(1719835200), 1719835200 - 19800);
}

TEST(TimeZone, OtherFooterShapes) {
  // Southern hemisphere (DST spans New Year), negative DST, and a 2:45 change time.
  struct Case {
    const char* zone;
    int64_t utc;
    int32_t offset;
  };
  for (const Case& c :
       {Case{"Australia/Sydney", 3788121600, 11 * 3600},  // 2090-01-15
        Case{"Australia/Sydney", 3803760000, 10 * 3600},  // 2090-07-15
        Case{"Europe/Dublin", 3788121600, 0}, Case{"Europe/Dublin", 3803760000, 3600},
        Case{"Pacific/Chatham", 1719792000, 12 * 3600 + 45 * 60},  // 2024-07-01
        Case{"Pacific/Chatham", 3786912000, 13 * 3600 + 45 * 60},  // 2090-01-01
        Case{"America/Sao_Paulo", 1719792000, -3 * 3600}}) {
    auto tz = load(c.zone);
    ASSERT_NE(tz, nullptr);
    EXPECT_EQ(tz->offset_at_utc(c.utc), c.offset) << c.zone << " " << c.utc;
  }
}

TEST(TimeZone, RejectsBadNames) {
  for (const char* name : {"", "../etc/passwd", "/etc/localtime", "Europe/../Europe/Berlin",
                           "Europe/Berlin/..", "No/Such_Zone", "Europe", "zone.tab"}) {
    std::string error;
    EXPECT_EQ(TimeZone::load(name, &error), nullptr) << name;
    EXPECT_FALSE(error.empty()) << name;
  }
  EXPECT_EQ(TimeZone::load(std::string_view("UTC\0x", 5), nullptr), nullptr);
}

TEST(TimeZone, RejectsLeapSecondZones) {
  if (!std::filesystem::exists("/usr/share/zoneinfo/right/UTC")) GTEST_SKIP();
  std::string error;
  EXPECT_EQ(TimeZone::load("right/UTC", &error, "/usr/share/zoneinfo"), nullptr);
  EXPECT_NE(error.find("leap"), std::string::npos) << error;
}

// Hand-built TZif files exercise forms no installed zone uses.
class TzifFiles : public ::testing::Test {
 protected:
  static void put32(std::string& s, uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) s.push_back(static_cast<char>(v >> shift));
  }
  static void put64(std::string& s, int64_t v) {
    put32(s, static_cast<uint32_t>(static_cast<uint64_t>(v) >> 32));
    put32(s, static_cast<uint32_t>(v));
  }
  // One data block (RFC 8536 section 3.2) with all time types named "X".
  static std::string block(char version, const std::vector<std::pair<int64_t, uint8_t>>& changes,
                           const std::vector<int32_t>& offsets, bool wide) {
    std::string s = "TZif";
    s.push_back(version);
    s.append(15, '\0');
    for (uint32_t count : {0u, 0u, 0u, static_cast<uint32_t>(changes.size()),
                           static_cast<uint32_t>(offsets.size()), 2u}) {
      put32(s, count);
    }
    for (const auto& change : changes) {
      if (wide) {
        put64(s, change.first);
      } else {
        put32(s, static_cast<uint32_t>(change.first));
      }
    }
    for (const auto& change : changes) s.push_back(static_cast<char>(change.second));
    for (int32_t offset : offsets) {
      put32(s, static_cast<uint32_t>(offset));
      s.push_back('\0');  // isdst
      s.push_back('\0');  // abbreviation index
    }
    s.append("X\0", 2);
    return s;
  }
  std::string write(const std::string& name, const std::string& bytes) {
    EXPECT_TRUE(testing::write_file(tmp_.at(name), bytes));
    return tmp_.path();
  }

  testing::TempDir tmp_{"sluice-tzif"};
};

TEST_F(TzifFiles, JulianDayFooterForms) {
  // Jn skips Feb 29 (J60 is always Mar 1); n counts it (day 300 is Oct 27 in 2024, Oct 28 in
  // 2023). Verified with TZ='AAA3BBB,J60/2,300/3' date.
  const std::string bytes = block('2', {}, {-3 * 3600}, false) + block('2', {}, {-3 * 3600}, true) +
                            "\nAAA3BBB,J60/2,300/3\n";
  std::string error;
  auto tz = TimeZone::load("Julian", &error, write("Julian", bytes));
  ASSERT_NE(tz, nullptr) << error;
  EXPECT_EQ(tz->offset_at_utc(1709269199), -3 * 3600);  // 2024-03-01T04:59:59Z
  EXPECT_EQ(tz->offset_at_utc(1709269200), -2 * 3600);
  EXPECT_EQ(tz->offset_at_utc(1730005199), -2 * 3600);  // 2024-10-27T04:59:59Z
  EXPECT_EQ(tz->offset_at_utc(1730005200), -3 * 3600);
  EXPECT_EQ(tz->offset_at_utc(1677646800), -2 * 3600);  // 2023-03-01T05:00Z
  EXPECT_EQ(tz->offset_at_utc(1698469199), -2 * 3600);  // 2023-10-28T04:59:59Z
  EXPECT_EQ(tz->offset_at_utc(1698469200), -3 * 3600);
}

TEST_F(TzifFiles, VersionOneFileUsesThirtyTwoBitData) {
  // One change to +01:00 at 2000-01-01T00:00Z (946684800), no footer in a v1 file.
  const std::string bytes = block('\0', {{946684800, 1}}, {0, 3600}, false);
  std::string error;
  auto tz = TimeZone::load("V1", &error, write("V1", bytes));
  ASSERT_NE(tz, nullptr) << error;
  EXPECT_EQ(tz->offset_at_utc(946684799), 0);
  EXPECT_EQ(tz->offset_at_utc(946684800), 3600);
  EXPECT_EQ(tz->offset_at_utc(3802550400), 3600);
}

TEST_F(TzifFiles, CorruptFilesRejected) {
  const std::string good = block('2', {{946684800, 1}}, {0, 3600}, false) +
                           block('2', {{946684800, 1}}, {0, 3600}, true) + "\nUTC0\n";
  std::string error;
  ASSERT_NE(TimeZone::load("Good", &error, write("Good", good)), nullptr) << error;
  for (size_t cut : {size_t{3}, size_t{44}, good.size() / 2, good.size() - 12}) {
    error.clear();
    EXPECT_EQ(TimeZone::load("Cut", &error, write("Cut", good.substr(0, cut))), nullptr) << cut;
    EXPECT_FALSE(error.empty());
  }
  const std::string bad_index =
      block('2', {}, {0}, false) + block('2', {{946684800, 7}}, {0, 3600}, true) + "\nUTC0\n";
  EXPECT_EQ(TimeZone::load("Index", &error, write("Index", bad_index)), nullptr);
  const std::string bad_footer =
      block('2', {}, {0}, false) + block('2', {}, {0}, true) + "\nAAA3BBB,M13.1.0,M1.1.0\n";
  EXPECT_EQ(TimeZone::load("Footer", &error, write("Footer", bad_footer)), nullptr);
  EXPECT_NE(error.find("footer"), std::string::npos) << error;
}

}  // namespace
}  // namespace sluice
