// `parser: klog` on Kubernetes component lines (gist maddyblue/8e0730228e5c9cb1bbb7, a
// kube-apiserver/controller-manager log of 2015) and `parser: logcat` on loghub's Android file.
#include <gtest/gtest.h>

#include <sstream>

#include "named_parser_support.hpp"
#include "parse/klog_parser.hpp"
#include "parse/logcat_parser.hpp"

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
