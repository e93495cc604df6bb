// `parser: clf` on real access lines: Loki promtail's short-access.log (combined, nginx, with an
// extra quoted field) and the Apache line fluent-bit's Kubernetes test wraps (common).
#include "parse/clf_parser.hpp"

#include <gtest/gtest.h>

#include "named_parser_support.hpp"

namespace sluice {
namespace {

using testing::corpus_lines;
using testing::parse_lines;
using testing::parse_one;
using testing::ParsedLine;
using testing::rfc3339_ns;

TEST(ClfParser, CommonLogFormat) {
  // containers/fluent-bit_default_apache-logs_apache-logs.log, the `log` it wraps.
  ParsedLine p = parse_one(
      "20.38.166.115 - - [21/Feb/2018:17:26:53 +0000] \"GET /intra-abdominally HTTP/1.0\" 500 2216",
      ParserKind::Clf);
  EXPECT_EQ(p.flags, 0);
  EXPECT_EQ(p.timestamp_ns, rfc3339_ns("2018-02-21T17:26:53Z"));
  EXPECT_EQ(p.fields.at("source.address"), "20.38.166.115");
  EXPECT_EQ(p.fields.count("user.name"), 0u);
  EXPECT_EQ(p.fields.at("http.request.method"), "GET");
  EXPECT_EQ(p.fields.at("url.original"), "/intra-abdominally");
  EXPECT_EQ(p.fields.at("http.version"), "1.0");
  EXPECT_EQ(p.fields.at("http.response.status_code"), "500");
  EXPECT_EQ(p.kinds.at("http.response.status_code"), ValueKind::Number);
  EXPECT_EQ(p.fields.at("http.response.body.bytes"), "2216");
  EXPECT_EQ(p.fields.count("http.request.referrer"), 0u);
  EXPECT_EQ(p.fields.count("user_agent.original"), 0u);
  EXPECT_EQ(p.fields.at("message"),
            "20.38.166.115 - - [21/Feb/2018:17:26:53 +0000] \"GET /intra-abdominally HTTP/1.0\" "
            "500 2216");
}

TEST(ClfParser, CombinedWithOffsetAndTrailingField) {
  // extra/loki-promtail_short-access.log, line 4.
  ParsedLine p = parse_one(
      "40.77.167.122 - - [26/Jan/2019:20:27:53 +0330] \"GET /filter/b238,b32,b5 HTTP/1.1\" 200 "
      "37376 \"-\" \"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)\" "
      "\"-\"",
      ParserKind::Clf);
  EXPECT_EQ(p.flags, 0);
  EXPECT_EQ(p.timestamp_ns, rfc3339_ns("2019-01-26T16:57:53Z"));
  EXPECT_EQ(p.fields.at("url.original"), "/filter/b238,b32,b5");
  EXPECT_EQ(p.fields.at("http.version"), "1.1");
  EXPECT_EQ(p.fields.count("http.request.referrer"), 0u);  // `-`
  EXPECT_EQ(p.fields.at("user_agent.original"),
            "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)");
}

TEST(ClfParser, UserEscapesAndOddRequests) {
  // The Apache documentation's example, then escaped quotes and a request that is not one.
  ParsedLine p = parse_one(
      "127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] \"GET /apache_pb.gif HTTP/1.0\" 200 2326 "
      "\"http://www.example.com/start.html\" \"Mozilla/4.08 [en] (Win98; I ;Nav)\"",
      ParserKind::Clf);
  EXPECT_EQ(p.fields.at("user.name"), "frank");
  EXPECT_EQ(p.timestamp_ns, rfc3339_ns("2000-10-10T20:55:36Z"));
  EXPECT_EQ(p.fields.at("http.request.referrer"), "http://www.example.com/start.html");
  EXPECT_EQ(p.fields.at("user_agent.original"), "Mozilla/4.08 [en] (Win98; I ;Nav)");

  ParsedLine escaped = parse_one(
      R"(::1 - - [10/Oct/2000:13:55:36 +0000] "GET /a\"b HTTP/1.1" 404 - "-" "curl \"x\"")",
      ParserKind::Clf);
  EXPECT_EQ(escaped.flags, 0);
  EXPECT_EQ(escaped.fields.at("source.address"), "::1");
  EXPECT_EQ(escaped.fields.at("url.original"), R"(/a\"b)");
  EXPECT_EQ(escaped.fields.count("http.response.body.bytes"), 0u);
  EXPECT_EQ(escaped.fields.at("user_agent.original"), R"(curl \"x\")");

  ParsedLine garbage = parse_one(
      R"(10.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "\x16\x03\x01" 400 0 "-" "-")", ParserKind::Clf);
  EXPECT_EQ(garbage.flags, 0);
  EXPECT_EQ(garbage.fields.count("http.request.method"), 0u);
  EXPECT_EQ(garbage.fields.count("url.original"), 0u);
  EXPECT_EQ(garbage.fields.at("http.response.status_code"), "400");
  EXPECT_EQ(garbage.fields.at("http.response.body.bytes"), "0");
}

TEST(ClfParser, OtherLinesAreFlaggedAndKept) {
  for (const char* line :
       {"just text", "1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.0\" 2000 1",
        "1.2.3.4 - - [10/Foo/2000:13:55:36 -0700] \"GET / HTTP/1.0\" 200 1",
        "1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.0 200 1",
        "1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.0\" 200 12x",
        "[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok"}) {
    ParsedLine p = parse_one(line, ParserKind::Clf);
    EXPECT_EQ(p.flags, kFlagParseError) << line;
    EXPECT_EQ(p.fields.at("message"), line);
    EXPECT_EQ(p.timestamp_ns, testing::kTestReadTime) << line;
  }
}

TEST(ClfParser, EveryLineOfLokiShortAccessLog) {
  std::vector<std::string> lines = corpus_lines("extra/loki-promtail_short-access.log");
  ASSERT_FALSE(lines.empty());
  if (lines.back().empty()) lines.pop_back();
  ParserOptions options;
  options.kind = ParserKind::Clf;
  std::vector<testing::ParsedLine> out = parse_lines(lines, options);
  ASSERT_EQ(out.size(), lines.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    ASSERT_EQ(out[i].flags, 0) << i + 1 << ": " << lines[i];
    // Independently: the address is the first word, the status the first field after the
    // request's closing quote.
    EXPECT_EQ(out[i].fields.at("source.address"), lines[i].substr(0, lines[i].find(' ')));
    size_t after_request = lines[i].find("\" ", lines[i].find('"') + 1) + 2;
    EXPECT_EQ(out[i].fields.at("http.response.status_code"), lines[i].substr(after_request, 3));
    // `[26/Jan/2019:20:27:53 +0330]` rewritten as RFC 3339 (every line is from January 2019).
    std::string bracket = lines[i].substr(lines[i].find('[') + 1, 26);
    ASSERT_EQ(bracket.substr(2, 10), "/Jan/2019:") << i + 1;
    std::string expected = "2019-01-" + bracket.substr(0, 2) + "T" + bracket.substr(12, 8) +
                           bracket.substr(21, 3) + ":" + bracket.substr(24, 2);
    EXPECT_EQ(out[i].timestamp_ns, rfc3339_ns(expected)) << i + 1;
  }
}

}  // namespace
}  // namespace sluice
