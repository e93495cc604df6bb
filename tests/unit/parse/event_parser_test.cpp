#include "parse/event_parser.hpp"

#include <gtest/gtest.h>

#include "parse/timezone.hpp"
#include "support/batch.hpp"

namespace sluice {
namespace {

struct Result {
  std::vector<std::map<std::string, std::string>> fields;
  std::vector<int64_t> timestamps;
  std::vector<uint16_t> flags;
};

constexpr int64_t kReadTime = 1'000'000'000'000'000'000;

Result run(const std::vector<std::string>& lines, ParserOptions options) {
  Batch batch;
  testing::fill_batch(batch, lines);
  batch.read_time_ns = kReadTime;
  std::string error;
  auto parser = EventParser::create(std::move(options), &error);
  EXPECT_TRUE(parser) << error;
  parser->parse(batch, kReadTime);
  Result r;
  for (const Event& e : batch.events) {
    std::map<std::string, std::string> m;
    for (uint32_t i = e.first_field; i < e.first_field + e.field_count; ++i) {
      const Field& f = batch.fields[i];
      if (f.key.data()) m[std::string(f.key)] = std::string(f.value.text);
    }
    r.fields.push_back(m);
    r.timestamps.push_back(e.timestamp_ns);
    r.flags.push_back(e.flags);
  }
  return r;
}

ParserOptions with(ParserKind kind) {
  ParserOptions o;
  o.kind = kind;
  return o;
}

TEST(EventParser, AutoDetectsJsonLogfmtAndPlain) {
  Result r = run({R"({"a":1})", "a=1 b=two", "just text", "{not json"}, with(ParserKind::Auto));
  EXPECT_EQ(r.fields[0].at("a"), "1");
  EXPECT_EQ(r.fields[1].at("b"), "two");
  EXPECT_EQ(r.fields[2].at("message"), "just text");
  EXPECT_EQ(r.flags[2], 0);
  EXPECT_EQ(r.fields[3].at("message"), "{not json");
  EXPECT_EQ(r.flags[3], kFlagParseError);
}

TEST(EventParser, ExplicitParsersFlagFailures) {
  Result json = run({"plain"}, with(ParserKind::Json));
  EXPECT_EQ(json.flags[0], kFlagParseError);
  EXPECT_EQ(json.fields[0].at("message"), "plain");
  Result logfmt = run({"no pairs here"}, with(ParserKind::Logfmt));
  EXPECT_EQ(logfmt.flags[0], kFlagParseError);
  Result none = run({R"({"a":1})"}, with(ParserKind::None));
  EXPECT_EQ(none.fields[0].at("message"), R"({"a":1})");
  EXPECT_EQ(none.flags[0], 0);
}

TEST(EventParser, RegexNamedCaptures) {
  ParserOptions o = with(ParserKind::Regex);
  o.pattern = R"(^\[(?P<time>[^\]]+)\] \[(?P<level>\w+)\] (?P<msg>.*)$)";
  Result r = run({"[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok", "no match"}, o);
  EXPECT_EQ(r.fields[0].at("level"), "notice");
  EXPECT_EQ(r.fields[0].at("msg"), "workerEnv.init() ok");
  EXPECT_EQ(r.flags[1], kFlagParseError);
  EXPECT_EQ(r.fields[1].at("message"), "no match");
}

TEST(EventParser, RegexWithoutNamedGroupsIsRejected) {
  ParserOptions o = with(ParserKind::Regex);
  o.pattern = "(a)(b)";
  std::string error;
  EXPECT_FALSE(EventParser::create(o, &error));
  EXPECT_NE(error.find("named"), std::string::npos);
  o.pattern = "(?P<x>";
  EXPECT_FALSE(EventParser::create(o, &error));
}

TEST(EventParser, TimestampFromFirstKnownFieldThatParses) {
  Result r =
      run({R"({"timestamp":"garbage","ts":"2024-01-02T00:00:00Z"})", R"({"time":1704153600})",
           R"({"date":"2024-01-02 00:00:00,250"})", R"({"other":"2024-01-02T00:00:00Z"})"},
          with(ParserKind::Auto));
  EXPECT_EQ(r.timestamps[0], 1704153600'000'000'000);
  EXPECT_EQ(r.timestamps[1], 1704153600'000'000'000);
  EXPECT_EQ(r.timestamps[2], 1704153600'250'000'000);
  EXPECT_EQ(r.timestamps[3], kReadTime);
}

TEST(EventParser, ConfiguredTimestampFieldAndZone) {
  ParserOptions o = with(ParserKind::Logfmt);
  o.timestamp_fields = {"when"};
  std::string error;
  o.zone = TimeZone::load("America/New_York", &error);
  ASSERT_TRUE(o.zone) << error;
  Result r = run({"when=\"2024-07-01 12:00:00\" time=2020-01-01T00:00:00Z"}, o);
  // 12:00 EDT is 16:00 UTC; the `time` field is not consulted.
  EXPECT_EQ(r.timestamps[0], 1719849600'000'000'000);
}

TEST(EventParser, TargetCannotBeAtTimestamp) {
  ParserOptions o;
  o.target = "@timestamp";
  std::string error;
  EXPECT_FALSE(EventParser::create(o, &error));
  EXPECT_NE(error.find("target"), std::string::npos) << error;
}

TEST(EventParser, TargetNestsParsedFields) {
  ParserOptions o = with(ParserKind::Auto);
  o.target = "parsed";
  Result r = run({R"({"a":"x","n":2})", "plain words"}, o);
  EXPECT_EQ(r.fields[0].size(), 1u);
  EXPECT_EQ(r.fields[0].at("parsed"), R"({"a":"x","n":2})");
  // A line that was not parsed keeps its message at the top level.
  EXPECT_EQ(r.fields[1].at("message"), "plain words");
}

TEST(EventParser, SplitPiecesAreNotParsed) {
  Batch batch;
  batch.bytes.reserve(64 + kReadPadding);
  batch.bytes.append("{\"a\":1}");
  Event e;
  e.line = batch.bytes.view();
  e.flags = kFlagSplit;
  batch.events.push_back(e);
  std::string error;
  auto parser = EventParser::create(with(ParserKind::Json), &error);
  parser->parse(batch, kReadTime);
  EXPECT_EQ(batch.events[0].flags, kFlagSplit);
  EXPECT_EQ(batch.fields[0].key, "message");
}

}  // namespace
}  // namespace sluice
