#include "parse/logfmt_parser.hpp"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace sluice
