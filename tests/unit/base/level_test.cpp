#include "base/level.hpp"

#include <gtest/gtest.h>

#include <string>

namespace sluice {
namespace {

TEST(ParseLevel, CanonicalNames) {
  EXPECT_EQ(parse_level("trace"), Level::Trace);
  EXPECT_EQ(parse_level("debug"), Level::Debug);
  EXPECT_EQ(parse_level("info"), Level::Info);
  EXPECT_EQ(parse_level("notice"), Level::Notice);
  EXPECT_EQ(parse_level("warn"), Level::Warn);
  EXPECT_EQ(parse_level("error"), Level::Error);
  EXPECT_EQ(parse_level("fatal"), Level::Fatal);
}

TEST(ParseLevel, Synonyms) {
  EXPECT_EQ(parse_level("dbg"), Level::Debug);
  EXPECT_EQ(parse_level("information"), Level::Info);
  EXPECT_EQ(parse_level("informational"), Level::Info);
  EXPECT_EQ(parse_level("warning"), Level::Warn);
  EXPECT_EQ(parse_level("err"), Level::Error);
  for (const char* name : {"critical", "crit", "alert", "emerg", "emergency", "panic"}) {
    EXPECT_EQ(parse_level(name), Level::Fatal) << name;
  }
}

TEST(ParseLevel, JavaLogcatAndZerologNames) {
  EXPECT_EQ(parse_level("SEVERE"), Level::Error);
  EXPECT_EQ(parse_level("FINE"), Level::Debug);
  EXPECT_EQ(parse_level("FINER"), Level::Trace);
  EXPECT_EQ(parse_level("FINEST"), Level::Trace);
  EXPECT_EQ(parse_level("Verbose"), Level::Trace);
  EXPECT_EQ(parse_level("A"), Level::Fatal);
  EXPECT_EQ(parse_level("TRC"), Level::Trace);
  EXPECT_EQ(parse_level("WRN"), Level::Warn);
  EXPECT_EQ(parse_level("FTL"), Level::Fatal);
  EXPECT_EQ(parse_level("PNC"), Level::Fatal);
}

TEST(ParseLevel, NamesOnlyRefusesNumbers) {
  EXPECT_EQ(parse_level_name("notice"), Level::Notice);
  EXPECT_EQ(parse_level_name("crit"), Level::Fatal);
  EXPECT_EQ(parse_level_name("3"), std::nullopt);
  EXPECT_EQ(parse_level_name("50"), std::nullopt);
  EXPECT_EQ(parse_level_name(""), std::nullopt);
  EXPECT_EQ(parse_level_name("informational-x"), std::nullopt);
}

TEST(ParseLevel, CaseInsensitive) {
  EXPECT_EQ(parse_level("ERROR"), Level::Error);
  EXPECT_EQ(parse_level("Warning"), Level::Warn);
  EXPECT_EQ(parse_level("InFo"), Level::Info);
  EXPECT_EQ(parse_level("EMERGENCY"), Level::Fatal);
  EXPECT_EQ(parse_level("DBG"), Level::Debug);
}

TEST(ParseLevel, SingleLetters) {
  EXPECT_EQ(parse_level("T"), Level::Trace);
  EXPECT_EQ(parse_level("V"), Level::Trace);
  EXPECT_EQ(parse_level("D"), Level::Debug);
  EXPECT_EQ(parse_level("I"), Level::Info);
  EXPECT_EQ(parse_level("N"), Level::Notice);
  EXPECT_EQ(parse_level("W"), Level::Warn);
  EXPECT_EQ(parse_level("E"), Level::Error);
  EXPECT_EQ(parse_level("F"), Level::Fatal);
  EXPECT_EQ(parse_level("e"), Level::Error);
  EXPECT_EQ(parse_level("v"), Level::Trace);
  EXPECT_EQ(parse_level("X"), std::nullopt);
  EXPECT_EQ(parse_level("C"), std::nullopt);
}

TEST(ParseLevel, PinoScale) {
  EXPECT_EQ(parse_level("10"), Level::Trace);
  EXPECT_EQ(parse_level("20"), Level::Debug);
  EXPECT_EQ(parse_level("30"), Level::Info);
  EXPECT_EQ(parse_level("40"), Level::Warn);
  EXPECT_EQ(parse_level("50"), Level::Error);
  EXPECT_EQ(parse_level("60"), Level::Fatal);
}

TEST(ParseLevel, PinoScaleInBetweenRoundsDown) {
  EXPECT_EQ(parse_level("15"), Level::Trace);
  EXPECT_EQ(parse_level("19"), Level::Trace);
  EXPECT_EQ(parse_level("35"), Level::Info);
  EXPECT_EQ(parse_level("49"), Level::Warn);
  EXPECT_EQ(parse_level("59"), Level::Error);
  EXPECT_EQ(parse_level("61"), Level::Fatal);
  EXPECT_EQ(parse_level("100"), Level::Fatal);
  EXPECT_EQ(parse_level("50.0"), Level::Error);
}

TEST(ParseLevel, SyslogSeverity) {
  EXPECT_EQ(parse_level("0"), Level::Fatal);
  EXPECT_EQ(parse_level("1"), Level::Fatal);
  EXPECT_EQ(parse_level("2"), Level::Fatal);
  EXPECT_EQ(parse_level("3"), Level::Error);
  EXPECT_EQ(parse_level("4"), Level::Warn);
  EXPECT_EQ(parse_level("5"), Level::Notice);
  EXPECT_EQ(parse_level("6"), Level::Info);
  EXPECT_EQ(parse_level("7"), Level::Debug);
}

TEST(ParseLevel, NumbersOutsideBothScales) {
  EXPECT_EQ(parse_level("8"), std::nullopt);
  EXPECT_EQ(parse_level("9"), std::nullopt);
  EXPECT_EQ(parse_level("9.5"), std::nullopt);
  EXPECT_EQ(parse_level("3.5"), std::nullopt);
  EXPECT_EQ(parse_level("-1"), std::nullopt);
  EXPECT_EQ(parse_level("-40"), std::nullopt);
}

TEST(ParseLevel, Rejects) {
  EXPECT_EQ(parse_level(""), std::nullopt);
  EXPECT_EQ(parse_level("banana"), std::nullopt);
  EXPECT_EQ(parse_level("inf"), std::nullopt);
  EXPECT_EQ(parse_level("nan"), std::nullopt);
  EXPECT_EQ(parse_level("40x"), std::nullopt);
  EXPECT_EQ(parse_level(" info"), std::nullopt);
  EXPECT_EQ(parse_level("info "), std::nullopt);
  EXPECT_EQ(parse_level("warnings"), std::nullopt);
  EXPECT_EQ(parse_level("informationalinformational"), std::nullopt);
  // A string_view that is not NUL-terminated must not read past its end.
  const std::string backing = "errorX";
  EXPECT_EQ(parse_level(std::string_view(backing).substr(0, 5)), Level::Error);
  EXPECT_EQ(parse_level(std::string_view(backing).substr(0, 3)), Level::Error);
}

TEST(ParseLevel, LevelsAreOrdered) {
  EXPECT_LT(*parse_level("trace"), *parse_level("debug"));
  EXPECT_LT(*parse_level("debug"), *parse_level("info"));
  EXPECT_LT(*parse_level("info"), *parse_level("notice"));
  EXPECT_LT(*parse_level("notice"), *parse_level("warn"));
  EXPECT_LT(*parse_level("warn"), *parse_level("error"));
  EXPECT_LT(*parse_level("error"), *parse_level("fatal"));
}

TEST(LevelName, CanonicalLowercase) {
  EXPECT_EQ(level_name(Level::Trace), "trace");
  EXPECT_EQ(level_name(Level::Debug), "debug");
  EXPECT_EQ(level_name(Level::Info), "info");
  EXPECT_EQ(level_name(Level::Notice), "notice");
  EXPECT_EQ(level_name(Level::Warn), "warn");
  EXPECT_EQ(level_name(Level::Error), "error");
  EXPECT_EQ(level_name(Level::Fatal), "fatal");
}

TEST(LevelName, RoundTrips) {
  for (int i = static_cast<int>(Level::Trace); i <= static_cast<int>(Level::Fatal); ++i) {
    const auto level = static_cast<Level>(i);
    EXPECT_EQ(parse_level(level_name(level)), level) << i;
  }
}

TEST(LevelName, NearestNameOfAMisspelling) {
  EXPECT_EQ(nearest_level_name("warnn"), "warn");
  EXPECT_EQ(nearest_level_name("eror"), "error");
  EXPECT_EQ(nearest_level_name("DEBG"), "debug");
  EXPECT_EQ(nearest_level_name("banana"), "");
  EXPECT_EQ(nearest_level_name("a-very-long-word-indeed"), "");
}

TEST(LevelKey, TheFieldsThatHoldALevel) {
  for (const char* key : {"level", "lvl", "severity", "loglevel", "log.level"}) {
    EXPECT_TRUE(is_level_key(key)) << key;
  }
  EXPECT_FALSE(is_level_key("message"));
  EXPECT_FALSE(is_level_key("Level"));
}

}  // namespace
}  // namespace sluice
