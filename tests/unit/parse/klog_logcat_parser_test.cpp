// `parser: klog` on Kubernetes component lines (gist maddyblue/8e0730228e5c9cb1bbb7, a
// kube-apiserver/controller-manager log of 2015) and `parser: logcat` on loghub's Android file.
#include <gtest/gtest.h>

#include <sstream>

#include "named_parser_support.hpp"
#include "parse/clf_parser.hpp"
#include "parse/klog_parser.hpp"
#include "parse/logcat_parser.hpp"
#include "parse/syslog_parser.hpp"

namespace sluice {
namespace {

using testing::corpus_lines;
using testing::parse_lines;
using testing::parse_one;
using testing::ParsedLine;
using testing::rfc3339_ns;

TEST(KlogParser, KubernetesLines) {
  ParsedLine p = parse_one(
      "I0930 02:45:00.550361 15299 handlers.go:131] POST /api/v1/namespaces/default/events: "
      "(7.383885ms) 201 [[kubelet/v1.1.0 (linux/amd64) kubernetes/b67028f] 127.0.0.1:36566]",
      ParserKind::Klog);
  EXPECT_EQ(p.flags, 0);
  EXPECT_EQ(p.timestamp_ns, rfc3339_ns("2026-09-30T02:45:00.550361Z"));
  EXPECT_EQ(p.fields.at("level"), "I");
  EXPECT_EQ(p.fields.at("process.pid"), "15299");
  EXPECT_EQ(p.kinds.at("process.pid"), ValueKind::Number);
  EXPECT_EQ(p.fields.at("log.origin.file.name"), "handlers.go");
  EXPECT_EQ(p.fields.at("log.origin.file.line"), "131");
  EXPECT_EQ(p.kinds.at("log.origin.file.line"), ValueKind::Number);
  EXPECT_EQ(p.fields.at("message"),
            "POST /api/v1/namespaces/default/events: (7.383885ms) 201 [[kubelet/v1.1.0 "
            "(linux/amd64) kubernetes/b67028f] 127.0.0.1:36566]");

  // klog pads the id to seven columns; W/E/F are the other levels.
  ParsedLine padded =
      parse_one("E1206 18:00:00.123456       1 reflector.go:138] k8s.io/client-go: Failed to watch",
                ParserKind::Klog);
  EXPECT_EQ(padded.flags, 0);
  EXPECT_EQ(padded.fields.at("level"), "E");
  EXPECT_EQ(padded.fields.at("process.pid"), "1");
  EXPECT_EQ(padded.fields.at("log.origin.file.name"), "reflector.go");
  EXPECT_EQ(padded.fields.at("message"), "k8s.io/client-go: Failed to watch");
  EXPECT_EQ(padded.timestamp_ns, rfc3339_ns("2026-12-06T18:00:00.123456Z"));
}

TEST(KlogParser, YearGoesBackWhenTheDateIsAhead) {
  // Now is 2026-12-07: Dec 25 would be 18 days ahead, so it is last year's.
  ParsedLine p = parse_one("W1225 10:00:00.000000       7 a.go:1] m", ParserKind::Klog);
  EXPECT_EQ(p.timestamp_ns, rfc3339_ns("2025-12-25T10:00:00Z"));
}

TEST(KlogParser, OtherLinesAreFlaggedAndKept) {
  for (const char* line :
       {"I0230 02:45:00.550361 15299 handlers.go:131] Feb 30",
        "X0930 02:45:00.550361 15299 handlers.go:131] level X",
        "I0930 02:45:00.550361 15299 handlers.go] no line number",
        "I0930 02:45:00.550361 handlers.go:131] no pid", "Info 0930 02:45:00 words", "I0930"}) {
    ParsedLine p = parse_one(line, ParserKind::Klog);
    EXPECT_EQ(p.flags, kFlagParseError) << line;
    EXPECT_EQ(p.fields.at("message"), line);
    EXPECT_EQ(p.timestamp_ns, testing::kTestReadTime) << line;
  }
}

TEST(LogcatParser, ThreadtimeLine) {
  // loghub Android_2k.log, line 2.
  ParsedLine p = parse_one(
      "03-17 16:13:38.819  1702  8671 D PowerManagerService: acquire lock=233570404, flags=0x1, "
      "tag=\"View Lock\", name=com.android.systemui, ws=null, uid=10037, pid=2227",
      ParserKind::Logcat);
  EXPECT_EQ(p.flags, 0);
  EXPECT_EQ(p.timestamp_ns, rfc3339_ns("2026-03-17T16:13:38.819Z"));
  EXPECT_EQ(p.fields.at("level"), "D");
  EXPECT_EQ(p.fields.at("process.pid"), "1702");
  EXPECT_EQ(p.fields.at("process.thread.id"), "8671");
  EXPECT_EQ(p.fields.at("log.logger"), "PowerManagerService");
  EXPECT_EQ(p.fields.at("message"),
            "acquire lock=233570404, flags=0x1, tag=\"View Lock\", name=com.android.systemui, "
            "ws=null, uid=10037, pid=2227");
}

TEST(LogcatParser, PaddedTagAndEmptyMessage) {
  // Newer logcat pads short tags before the colon.
  ParsedLine p = parse_one("12-01 09:00:00.000  1000  1000 I chatty  : uid=1000 expire 3 lines",
                           ParserKind::Logcat);
  EXPECT_EQ(p.fields.at("log.logger"), "chatty");
  EXPECT_EQ(p.fields.at("message"), "uid=1000 expire 3 lines");
  ParsedLine empty = parse_one("12-01 09:00:00.000  1000  1000 W Tag:", ParserKind::Logcat);
  EXPECT_EQ(empty.flags, 0);
  EXPECT_EQ(empty.fields.at("message"), "");
}

TEST(LogcatParser, OtherLinesAreFlaggedAndKept) {
  for (const char* line :
       {"13-17 16:13:38.819  1702  8671 D Tag: bad month",
        "03-17 16:13:38.819  1702  8671 X Tag: bad level",
        "03-17 16:13:38.819  1702 D Tag: no thread",
        "03-17 16:13:38.819  1702  8671 D no colon here", "2024-03-17 16:13:38.819 D Tag: iso"}) {
    ParsedLine p = parse_one(line, ParserKind::Logcat);
    EXPECT_EQ(p.flags, kFlagParseError) << line;
    EXPECT_EQ(p.fields.at("message"), line);
  }
}

TEST(LogcatParser, EveryLineOfLoghubAndroid) {
  std::vector<std::string> lines = corpus_lines("loghub/Android_2k.log");
  ASSERT_EQ(lines.size(), 2000u);
  ParserOptions options;
  options.kind = ParserKind::Logcat;
  std::vector<ParsedLine> out = parse_lines(lines, options);
  ASSERT_EQ(out.size(), lines.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    ASSERT_EQ(out[i].flags, 0) << i + 1 << ": " << line;
    // Independently: whitespace-separated words 3..5 are pid, tid and level; the date and
    // time are the first 18 bytes (all in March, before 2026-12-07).
    std::istringstream words(line);
    std::string date, time, pid, tid, level, tag;
    words >> date >> time >> pid >> tid >> level >> tag;
    EXPECT_EQ(out[i].fields.at("process.pid"), pid) << i + 1;
    EXPECT_EQ(out[i].fields.at("process.thread.id"), tid) << i + 1;
    EXPECT_EQ(out[i].fields.at("level"), level) << i + 1;
    EXPECT_EQ(out[i].fields.at("log.logger"), tag.substr(0, tag.find(':'))) << i + 1;
    EXPECT_EQ(out[i].timestamp_ns, rfc3339_ns("2026-" + date + "T" + time + "Z")) << i + 1;
  }
}

}  // namespace
}  // namespace sluice

namespace sluice {
namespace {

// What the auto detector gets from the named recognisers: the shared TextLine.
TEST(NamedRecognisers, FillTextLineForTheDetector) {
  TextLine syslog;
  ASSERT_TRUE(recognise_syslog("<13>Jun 14 15:16:01 combo sshd[19939]: check pass", syslog));
  EXPECT_EQ(syslog.format, TextFormat::Syslog3164);
  EXPECT_TRUE(syslog.has_time);
  EXPECT_FALSE(syslog.time.has_year);
  EXPECT_EQ(syslog.time.month, 6);
  EXPECT_EQ(syslog.time.day, 14);
  EXPECT_EQ(syslog.time.second, 1);
  EXPECT_EQ(syslog.host, "combo");
  EXPECT_EQ(syslog.logger, "sshd");
  EXPECT_EQ(syslog.pid, "19939");
  EXPECT_EQ(syslog.level.data(), nullptr);  // a PRI is not a level as written
  EXPECT_EQ(syslog.message, "check pass");

  TextLine rfc5424;
  ASSERT_TRUE(recognise_syslog(
      "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - m", rfc5424));
  EXPECT_EQ(rfc5424.format, TextFormat::Syslog5424);
  EXPECT_TRUE(rfc5424.time.has_year && rfc5424.time.has_zone);
  EXPECT_EQ(rfc5424.time.utc_offset_seconds, -7 * 3600);
  EXPECT_EQ(rfc5424.time.nanos, 3000u);

  TextLine access;
  ASSERT_TRUE(recognise_clf(
      "127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] \"GET /apache_pb.gif HTTP/1.0\" 200 2326",
      access));
  EXPECT_EQ(access.format, TextFormat::AccessLog);
  EXPECT_EQ(access.time.year, 2000);
  EXPECT_EQ(access.time.utc_offset_seconds, -7 * 3600);

  KlogLine klog;
  ASSERT_TRUE(recognise_klog("W1206 18:00:00.123456       1 a.go:9] m", klog));
  EXPECT_EQ(klog.text.format, TextFormat::Klog);
  EXPECT_EQ(klog.text.level, "W");
  EXPECT_EQ(klog.text.time.nanos, 123456000u);

  LogcatLine logcat;
  ASSERT_TRUE(recognise_logcat("03-17 16:13:38.811  1702  2395 D Tag: msg", logcat));
  EXPECT_EQ(logcat.text.format, TextFormat::Logcat);
  EXPECT_EQ(logcat.text.logger, "Tag");
  EXPECT_EQ(logcat.text.time.nanos, 811000000u);

  TextLine none;
  EXPECT_FALSE(recognise_syslog("2024-01-02 03:04:05 INFO x", none));
  EXPECT_FALSE(recognise_clf("2024-01-02 03:04:05 INFO x", none));
}

}  // namespace
}  // namespace sluice
