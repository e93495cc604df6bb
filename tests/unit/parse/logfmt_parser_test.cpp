#include "parse/logfmt_parser.hpp"

#include <gtest/gtest.h>

#include <string>

namespace sluice {
namespace {

std::vector<Field> parse(std::string_view line, LogfmtStrictness s, bool* ok) {
  static Arena arena;
  std::vector<Field> fields;
  *ok = parse_logfmt(line, s, arena, fields);
  return fields;
}

TEST(Logfmt, PairsQuotedValuesAndFlags) {
  bool ok;
  auto f =
      parse(R"(level=info msg="started server" port=8080 ready)", LogfmtStrictness::Lenient, &ok);
  ASSERT_TRUE(ok);
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(f[0].key, "level");
  EXPECT_EQ(f[0].value.text, "info");
  EXPECT_EQ(f[1].value.text, "started server");
  EXPECT_EQ(f[2].value.text, "8080");
  EXPECT_EQ(f[2].value.kind, ValueKind::String);
  EXPECT_EQ(f[3].key, "ready");
  EXPECT_EQ(f[3].value.kind, ValueKind::Bool);
}

TEST(Logfmt, EscapesInQuotedValues) {
  bool ok;
  auto f = parse(R"(err="said \"no\"\nthen left" path=C:\\x)", LogfmtStrictness::Lenient, &ok);
  ASSERT_TRUE(ok);
  EXPECT_EQ(f[0].value.text, "said \"no\"\nthen left");
  EXPECT_EQ(f[1].value.text, "C:\\\\x");  // unquoted values are taken as written
}

TEST(Logfmt, EmptyValues) {
  bool ok;
  auto f = parse(R"(a= b="" c=1)", LogfmtStrictness::Lenient, &ok);
  ASSERT_TRUE(ok);
  EXPECT_EQ(f[0].value.text, "");
  EXPECT_EQ(f[1].value.text, "");
}

TEST(Logfmt, AutoModeNeedsLeadingPair) {
  bool ok;
  parse("Connection closed by 10.0.0.1 port=22", LogfmtStrictness::RequireLeadingPair, &ok);
  EXPECT_FALSE(ok);
  parse("Connection closed by 10.0.0.1 port=22", LogfmtStrictness::Lenient, &ok);
  EXPECT_TRUE(ok);
  parse("ts=1 level=info done", LogfmtStrictness::RequireLeadingPair, &ok);
  EXPECT_TRUE(ok);
  // Other formats with an `=` in them are not logfmt to the auto-detector (loghub HealthApp).
  parse("20171223-22:15:29:636|Step_SPUtils|30002312|setTotal=1514038440000",
        LogfmtStrictness::RequireLeadingPair, &ok);
  EXPECT_FALSE(ok);
  parse("k8s.pod/name=web @ts=1 x-y=2", LogfmtStrictness::RequireLeadingPair, &ok);
  EXPECT_TRUE(ok);
}

TEST(Logfmt, RejectsMalformedLines) {
  bool ok;
  for (const char* bad :
       {"", "   ", "just words", "a=\"unterminated", "=value", "a=\"x\"y", "a=b\"c"}) {
    auto f = parse(bad, LogfmtStrictness::Lenient, &ok);
    EXPECT_FALSE(ok) << bad;
    EXPECT_TRUE(f.empty()) << bad;
  }
}

TEST(Logfmt, DuplicateKeysKeepTheLastValue) {
  for (auto strictness : {LogfmtStrictness::Lenient, LogfmtStrictness::RequireLeadingPair}) {
    bool ok = false;
    auto fields = parse(R"(a=1 b=x a=2 flag c="q" flag=no)", strictness, &ok);
    ASSERT_TRUE(ok);
    std::vector<Field> kept;
    for (const Field& f : fields) {
      if (f.key.data() != nullptr) kept.push_back(f);
    }
    ASSERT_EQ(kept.size(), 4u);
    EXPECT_EQ(kept[0].key, "b");
    EXPECT_EQ(kept[1].key, "a");
    EXPECT_EQ(kept[1].value.text, "2");
    EXPECT_EQ(kept[2].key, "c");
    EXPECT_EQ(kept[3].key, "flag");
    EXPECT_EQ(kept[3].value.kind, ValueKind::String);
    EXPECT_EQ(kept[3].value.text, "no");
  }
}

TEST(Logfmt, KeysWrittenAlikeAfterUtf8RepairAreDuplicates) {
  // Both keys are written as "k\uFFFD": they are one key.
  bool ok = false;
  auto fields = parse("k\xff=1 k\xfe=2", LogfmtStrictness::Lenient, &ok);
  ASSERT_TRUE(ok);
  ASSERT_EQ(fields.size(), 2u);
  EXPECT_EQ(fields[0].key.data(), nullptr);
  EXPECT_EQ(fields[1].key, "k\xEF\xBF\xBD");
  EXPECT_EQ(fields[1].value.text, "2");
}

TEST(Logfmt, ManyRepeatedKeys) {
  std::string line;
  for (int i = 0; i < 2000; ++i)
    line += "k" + std::to_string(i % 100) + "=" + std::to_string(i) + " ";
  bool ok = false;
  auto fields = parse(line, LogfmtStrictness::Lenient, &ok);
  ASSERT_TRUE(ok);
  size_t kept = 0;
  for (const Field& f : fields) {
    if (f.key.data() == nullptr) continue;
    ++kept;
    EXPECT_GE(std::stoi(std::string(f.value.text)), 1900) << f.key;
  }
  EXPECT_EQ(kept, 100u);
}

TEST(Logfmt, NumbersStayStringsWhateverTheirSize) {
  bool ok = false;
  auto fields = parse("n=1e999999 m=-1e400 big=123456789012345678901234567890",
                      LogfmtStrictness::RequireLeadingPair, &ok);
  ASSERT_TRUE(ok);
  ASSERT_EQ(fields.size(), 3u);
  EXPECT_EQ(fields[0].value.kind, ValueKind::String);
  EXPECT_EQ(fields[0].value.text, "1e999999");
  EXPECT_EQ(fields[2].value.text, "123456789012345678901234567890");
}

}  // namespace
}  // namespace sluice
