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

// A plain line's time is the line's own or the read time without a search of its fields, as
// long as none of its fields can be a timestamp field: they are `message`, `level` or dotted ECS
// names in every layout, named parsers included.
TEST(EventParser, PlainLineFieldsAreMessageLevelOrDotted) {
  const std::vector<std::string> lines = {
      "2015-10-18 18:01:47,978 INFO [main] org.apache.Foo: Created MRAppMaster",
      "2015-07-29 17:41:44,747 - INFO  [QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181:Election@774] - x",
      "2024-01-02T03:04:05.123+01:00  INFO 12345 --- [main] o.s.Foo : Tomcat started",
      "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure",
      R"(<165>1 2003-10-11T22:14:15.003Z mymachine evntslog 1234 ID47 [ex@32473 iut="3"] hi)",
      R"(127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326 "-" "x")",
      "E0614 10:00:00.123456   12345 main.go:42] boom",
      "03-17 16:13:38.811  1702  2395 D WindowManager: freezing",
      "I, [2024-01-02T03:04:05.123456 #1234]  INFO -- prog: msg",
      "[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok",
      "WARNING:root:disk almost full",
      "2016-09-28 04:30:30, Info                  CBS    Loaded Servicing Stack",
      "no layout at all",
  };
  for (ParserKind kind : {ParserKind::Auto, ParserKind::Text, ParserKind::None}) {
    Result r = run(lines, with(kind));
    for (size_t i = 0; i < lines.size(); ++i) {
      EXPECT_EQ(r.flags[i], 0) << lines[i];
      for (const auto& [key, value] : r.fields[i]) {
        EXPECT_TRUE(key == "message" || key == "level" || key.find('.') != std::string::npos)
            << key << " in " << lines[i];
      }
    }
  }
}

// A timestamp field that a plain line does have is still read from it.
TEST(EventParser, PlainMessageAsTheTimestampField) {
  ParserOptions o = with(ParserKind::None);
  o.timestamp_fields = {"message"};
  Result r = run({"2024-07-01T12:00:00Z", "not a time"}, o);
  EXPECT_EQ(r.timestamps[0], 1719835200'000'000'000);
  EXPECT_EQ(r.timestamps[1], kReadTime);
  o.kind = ParserKind::Auto;
  o.timestamp_fields = {"process.thread.name"};
  r = run({"2015-10-18 18:01:47,978 INFO [2024-07-01T12:00:00Z] org.Foo: x"}, o);
  EXPECT_EQ(r.fields[0].at("process.thread.name"), "2024-07-01T12:00:00Z");
  EXPECT_EQ(r.timestamps[0], 1719835200'000'000'000);
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
