// The `regex` parser on inputs found by tests/fuzz/fuzz_regex_parse.cpp (the reproducers are
// kept in tests/fuzz/regressions/fuzz_regex_parse-*).
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "parse/event_parser.hpp"
#include "support/batch.hpp"

namespace sluice {
namespace {

constexpr int64_t kNow = 1'710'408'413'000'000'000;

std::map<std::string, std::string> parse_one(const std::string& pattern, const std::string& line,
                                             uint16_t* flags) {
  ParserOptions options;
  options.kind = ParserKind::Regex;
  options.pattern = pattern;
  std::string error;
  auto parser = EventParser::create(std::move(options), &error);
  EXPECT_TRUE(parser) << error;
  std::map<std::string, std::string> fields;
  if (!parser) return fields;
  Batch batch;
  testing::fill_batch(batch, {line});
  batch.read_time_ns = kNow;
  parser->parse(batch, kNow);
  const Event& e = batch.events.at(0);
  *flags = e.flags;
  for (uint32_t i = e.first_field; i < e.first_field + e.field_count; ++i) {
    const Field& f = batch.fields[i];
    fields[std::string(f.key)] = std::string(f.value.text);
  }
  return fields;
}

// fuzz_regex_parse-named-group-after-32: captures were read into a fixed array of 32, so named
// groups after the 31st capture were silently missing from a line that matched.
TEST(EventParserRegexFuzz, NamedGroupsAfterManyCapturesAreKept) {
  std::string pattern;
  for (int i = 0; i < 34; ++i) pattern += R"((\w))";
  pattern += R"((?P<after32>\w+) (?P<rest>.*))";
  uint16_t flags = 0xFFFF;
  auto fields =
      parse_one(pattern, "abcdefghijklmnopqrstuvwxyz01234567890 tail of the line", &flags);
  EXPECT_EQ(flags, 0);
  ASSERT_EQ(fields.size(), 2u);
  EXPECT_EQ(fields["after32"], "890");
  EXPECT_EQ(fields["rest"], "tail of the line");
}

TEST(EventParserRegexFuzz, OnlyParticipatingGroupsBecomeFields) {
  uint16_t flags = 0xFFFF;
  auto fields = parse_one(R"((?P<a>x*)(?P<b>y)?(?P<c>))", "zzz", &flags);
  EXPECT_EQ(flags, 0);
  // `a` and `c` match empty text; `b` does not take part in the match.
  EXPECT_EQ(fields, (std::map<std::string, std::string>{{"a", ""}, {"c", ""}}));
}

}  // namespace
}  // namespace sluice
