// `parser: syslog` on real lines: loghub's Linux, OpenSSH and Mac files (RFC 3164 as written
// to files), os-loganalyze's devstack syslog, and the examples of RFC 5424 section 6.5.
#include "parse/syslog_parser.hpp"

#include <gtest/gtest.h>

#include "named_parser_support.hpp"
#include "parse/timezone.hpp"

namespace sluice {
namespace {

using testing::corpus_lines;
using testing::parse_lines;
using testing::parse_one;
using testing::ParsedLine;
using testing::rfc3339_ns;

TEST(SyslogParser, Rfc3164FileLineWithPid) {
  // loghub Linux_2k.log, line 1 (trailing space kept).
  ParsedLine p = parse_one(
      "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; logname= uid=0 "
      "euid=0 tty=NODEVssh ruser= rhost=218.188.2.4 ",
      ParserKind::Syslog);
  EXPECT_EQ(p.flags, 0);
  EXPECT_EQ(p.timestamp_ns, rfc3339_ns("2026-06-14T15:16:01Z"));
  EXPECT_EQ(p.fields.at("host.hostname"), "combo");
  EXPECT_EQ(p.fields.at("process.name"), "sshd(pam_unix)");
  EXPECT_EQ(p.fields.at("process.pid"), "19939");
  EXPECT_EQ(p.kinds.at("process.pid"), ValueKind::Number);
  EXPECT_EQ(p.fields.at("message"),
            "authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= "
            "rhost=218.188.2.4 ");
  EXPECT_EQ(p.fields.count("level"), 0u);  // a file line has no PRI: no severity to show
  EXPECT_EQ(p.fields.count("log.syslog.priority"), 0u);
}

TEST(SyslogParser, PaddedDayAndTagWithoutPid) {
  // os-loganalyze syslog.txt, line 1; loghub Mac_2k.log, line 1.
  ParsedLine p = parse_one(
      "Jun  9 15:41:36 devstack-precise-hpcloud-b3-227769 object-replicator: Object replication "
      "complete. (0.00 minutes)",
      ParserKind::Syslog);
  EXPECT_EQ(p.timestamp_ns, rfc3339_ns("2026-06-09T15:41:36Z"));
  EXPECT_EQ(p.fields.at("host.hostname"), "devstack-precise-hpcloud-b3-227769");
  EXPECT_EQ(p.fields.at("process.name"), "object-replicator");
  EXPECT_EQ(p.fields.count("process.pid"), 0u);
  EXPECT_EQ(p.fields.at("message"), "Object replication complete. (0.00 minutes)");

  ParsedLine mac = parse_one(
      "Jul  1 09:00:55 calvisitor-10-105-160-95 kernel[0]: IOThunderboltSwitch<0>(0x0)::"
      "listenerCallback - Thunderbolt HPD packet for route = 0x0 port = 11 unplug = 0",
      ParserKind::Syslog);
  EXPECT_EQ(mac.fields.at("process.name"), "kernel");
  EXPECT_EQ(mac.fields.at("process.pid"), "0");
  EXPECT_EQ(mac.timestamp_ns, rfc3339_ns("2026-07-01T09:00:55Z"));
}

TEST(SyslogParser, TagsThatAreNotTagsStayInTheMessage) {
  // loghub Mac_2k.log and Linux_2k.log: what follows the host is not always `app[pid]:`.
  ParsedLine word = parse_one(
      "Jul  4 23:22:09 calvisitor-10-105-162-105 Microsoft Word[14463]: Cocoa scripting error for "
      "'0x00660011': four character codes must be four characters long.",
      ParserKind::Syslog);
  EXPECT_EQ(word.fields.at("process.name"), "Microsoft Word");
  EXPECT_EQ(word.fields.at("process.pid"), "14463");

  ParsedLine sandbox = parse_one(
      "Jul  1 09:29:02 calvisitor-10-105-160-95 sandboxd[129] ([31211]): com.apple.Addres(31211) "
      "deny network-outbound /private/var/run/mDNSResponder",
      ParserKind::Syslog);
  EXPECT_EQ(sandbox.flags, 0);
  EXPECT_EQ(sandbox.fields.at("host.hostname"), "calvisitor-10-105-160-95");
  EXPECT_EQ(sandbox.fields.count("process.name"), 0u);
  EXPECT_EQ(sandbox.fields.at("message"),
            "sandboxd[129] ([31211]): com.apple.Addres(31211) deny network-outbound "
            "/private/var/run/mDNSResponder");

  ParsedLine restart =
      parse_one("Jun 19 04:09:11 combo syslogd 1.4.1: restart.", ParserKind::Syslog);
  EXPECT_EQ(restart.fields.at("host.hostname"), "combo");
  EXPECT_EQ(restart.fields.count("process.name"), 0u);
  EXPECT_EQ(restart.fields.at("message"), "syslogd 1.4.1: restart.");
}

TEST(SyslogParser, PriorityGivesFacilitySeverityAndLevel) {
  // RFC 3164 section 5.4, example 1.
  ParsedLine p =
      parse_one("<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
                ParserKind::Syslog);
  EXPECT_EQ(p.flags, 0);
  EXPECT_EQ(p.fields.at("log.syslog.priority"), "34");
  EXPECT_EQ(p.fields.at("log.syslog.facility.code"), "4");
  EXPECT_EQ(p.fields.at("log.syslog.facility.name"), "auth");
  EXPECT_EQ(p.fields.at("log.syslog.severity.code"), "2");
  EXPECT_EQ(p.fields.at("log.syslog.severity.name"), "Critical");
  EXPECT_EQ(p.fields.at("level"), "crit");
  EXPECT_EQ(p.fields.at("host.hostname"), "mymachine");
  EXPECT_EQ(p.fields.at("process.name"), "su");
  EXPECT_EQ(p.fields.at("message"), "'su root' failed for lonvick on /dev/pts/8");
  EXPECT_EQ(p.timestamp_ns, rfc3339_ns("2026-10-11T22:14:15Z"));

  ParsedLine local = parse_one("<191>Oct 11 22:14:15 host app: m", ParserKind::Syslog);
  EXPECT_EQ(local.fields.at("log.syslog.facility.name"), "local7");
  EXPECT_EQ(local.fields.at("level"), "debug");
  ParsedLine kern = parse_one("<0>Oct 11 22:14:15 host kernel: m", ParserKind::Syslog);
  EXPECT_EQ(kern.fields.at("log.syslog.facility.name"), "kern");
  EXPECT_EQ(kern.fields.at("level"), "emerg");
}

TEST(SyslogParser, LocalSenderWithoutHost) {
  // What a program writes to /dev/log: no host, the tag right after the time.
  ParsedLine p = parse_one("<13>Dec  7 01:02:03 sshd[42]: hello", ParserKind::Syslog);
  EXPECT_EQ(p.fields.count("host.hostname"), 0u);
  EXPECT_EQ(p.fields.at("process.name"), "sshd");
  EXPECT_EQ(p.fields.at("process.pid"), "42");
  EXPECT_EQ(p.fields.at("message"), "hello");
}

TEST(SyslogParser, Rfc5424Examples) {
  // RFC 5424 section 6.5, examples 1, 3 and 4 (BOM written as bytes).
  ParsedLine one = parse_one(
      "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \xEF\xBB\xBF'su root' "
      "failed for lonvick on /dev/pts/8",
      ParserKind::Syslog);
  EXPECT_EQ(one.flags, 0);
  EXPECT_EQ(one.timestamp_ns, rfc3339_ns("2003-10-11T22:14:15.003Z"));
  EXPECT_EQ(one.fields.at("log.syslog.version"), "1");
  EXPECT_EQ(one.fields.at("host.hostname"), "mymachine.example.com");
  EXPECT_EQ(one.fields.at("process.name"), "su");
  EXPECT_EQ(one.fields.count("process.pid"), 0u);
  EXPECT_EQ(one.fields.at("log.syslog.msgid"), "ID47");
  EXPECT_EQ(one.fields.at("level"), "crit");
  EXPECT_EQ(one.fields.at("message"), "'su root' failed for lonvick on /dev/pts/8");

  ParsedLine three = parse_one(
      "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 "
      "iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] \xEF\xBB\xBF"
      "An application event log entry...",
      ParserKind::Syslog);
  EXPECT_EQ(three.fields.at("log.syslog.structured_data"),
            R"({"exampleSDID@32473":{"iut":"3","eventSource":"Application","eventID":"1011"}})");
  EXPECT_EQ(three.kinds.at("log.syslog.structured_data"), ValueKind::Json);
  EXPECT_EQ(three.fields.at("log.syslog.facility.name"), "local4");
  EXPECT_EQ(three.fields.at("level"), "notice");
  EXPECT_EQ(three.fields.at("message"), "An application event log entry...");

  ParsedLine four = parse_one(
      "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 "
      "iut=\"3\" eventSource=\"Application\" eventID=\"1011\"][examplePriority@32473 "
      "class=\"high\"]",
      ParserKind::Syslog);
  EXPECT_EQ(four.flags, 0);
  EXPECT_EQ(four.fields.at("log.syslog.structured_data"),
            R"({"exampleSDID@32473":{"iut":"3","eventSource":"Application","eventID":"1011"},)"
            R"("examplePriority@32473":{"class":"high"}})");
  EXPECT_EQ(four.fields.at("message"), "");

  // Example 2: a time with an offset and a numeric PROCID.
  ParsedLine two = parse_one(
      "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make "
      "the do-nuts.",
      ParserKind::Syslog);
  EXPECT_EQ(two.timestamp_ns, rfc3339_ns("2003-08-24T12:14:15.000003Z"));
  EXPECT_EQ(two.fields.at("process.pid"), "8710");
  EXPECT_EQ(two.fields.count("log.syslog.msgid"), 0u);
  EXPECT_EQ(two.fields.at("message"), "%% It's time to make the do-nuts.");
}

TEST(SyslogParser, StructuredDataEscapesAreUnescaped) {
  ParsedLine p = parse_one(R"(<14>1 2024-01-02T03:04:05Z h a 7 m [x@1 k="a\"b\]c\\d" e="]"] msg)",
                           ParserKind::Syslog);
  EXPECT_EQ(p.flags, 0);
  EXPECT_EQ(p.fields.at("log.syslog.structured_data"), R"({"x@1":{"k":"a\"b]c\\d","e":"]"}})");
  EXPECT_EQ(p.fields.at("message"), "msg");
}

TEST(SyslogParser, RepeatedStructuredDataKeysKeepTheLastOne) {
  // Found by fuzz_named_parsers: a repeated SD-ID or param name would be a JSON key written
  // twice. As for JSON input, the last one wins.
  ParsedLine p = parse_one(
      R"(<14>1 2024-01-02T03:04:05Z h a 7 m [x@1 k="1" j="2" k="3"][y@1 a="b"][x@1 z="4"] msg)",
      ParserKind::Syslog);
  EXPECT_EQ(p.flags, 0);
  EXPECT_EQ(p.fields.at("log.syslog.structured_data"), R"({"y@1":{"a":"b"},"x@1":{"z":"4"}})");
  ParsedLine params = parse_one(R"(<14>1 2024-01-02T03:04:05Z h a 7 m [x@1 k="1" j="2" k="3"] msg)",
                                ParserKind::Syslog);
  EXPECT_EQ(params.fields.at("log.syslog.structured_data"), R"({"x@1":{"j":"2","k":"3"}})");
  // Names that differ only in invalid UTF-8 become the same key once repaired.
  ParsedLine repaired = parse_one(
      "<14>1 2024-01-02T03:04:05Z h a 7 m [x@1 k\xFF=\"1\" k\xFE=\"2\"] m", ParserKind::Syslog);
  EXPECT_EQ(repaired.fields.at("log.syslog.structured_data"),
            "{\"x@1\":{\"k\xEF\xBF\xBD\":\"2\"}}");
}

TEST(SyslogParser, Rfc3339FileFormat) {
  // rsyslog's RSYSLOG_FileFormat.
  ParsedLine p =
      parse_one("2024-01-02T03:04:05.123456+01:00 web1 nginx[99]: started", ParserKind::Syslog);
  EXPECT_EQ(p.timestamp_ns, rfc3339_ns("2024-01-02T02:04:05.123456Z"));
  EXPECT_EQ(p.fields.at("host.hostname"), "web1");
  EXPECT_EQ(p.fields.at("process.pid"), "99");
}

TEST(SyslogParser, YearComesFromTheClockAndGoesBackAcrossNewYear) {
  // Now is 2026-12-07: a December time is this year; a time more than a day ahead is last year's.
  EXPECT_EQ(parse_one("Dec  7 12:00:00 h a: m", ParserKind::Syslog).timestamp_ns,
            rfc3339_ns("2026-12-07T12:00:00Z"));
  EXPECT_EQ(parse_one("Dec 20 12:00:00 h a: m", ParserKind::Syslog).timestamp_ns,
            rfc3339_ns("2025-12-20T12:00:00Z"));
}

TEST(SyslogParser, TimezoneAppliesToZonelessTimes) {
  ParserOptions options;
  options.kind = ParserKind::Syslog;
  std::string error;
  options.zone = TimeZone::load("Europe/Paris", &error);
  ASSERT_TRUE(options.zone) << error;
  auto out = parse_lines({"Jun 14 15:16:01 combo app: m"}, options);
  EXPECT_EQ(out[0].timestamp_ns, rfc3339_ns("2026-06-14T13:16:01Z"));
}

TEST(SyslogParser, ContainerTimeWinsOverYearlessTime) {
  // A runtime's exact time is kept unless the line's own time has a year and a zone.
  ParserOptions options;
  options.kind = ParserKind::Syslog;
  const int64_t runtime = rfc3339_ns("2026-06-14T15:16:01.5Z");
  auto out = parse_lines({"Jun 14 15:16:01 combo app: m", "<14>1 2024-01-02T03:04:05Z h a - - - m"},
                         options, runtime);
  EXPECT_EQ(out[0].timestamp_ns, runtime);
  EXPECT_EQ(out[1].timestamp_ns, rfc3339_ns("2024-01-02T03:04:05Z"));
}

TEST(SyslogParser, OtherLinesAreFlaggedAndKept) {
  for (const char* line :
       {"plain text", "Foo 14 15:16:01 host app: m", "Jun 31 15:16:01 h a: m", "<34>Oct 11 22:14:1",
        "<999>Oct 11 22:14:15 h a: m", "", "<34>1 - -", "Jun 14 15:16:01"}) {
    ParsedLine p = parse_one(line, ParserKind::Syslog);
    EXPECT_EQ(p.flags, kFlagParseError) << line;
    EXPECT_EQ(p.fields.at("message"), line);
    EXPECT_EQ(p.timestamp_ns, testing::kTestReadTime) << line;
  }
}

TEST(SyslogParser, EveryLineOfTheLoghubSyslogFiles) {
  // Each file's lines all carry `Mon dd hh:mm:ss host`: every one parses, with the time as
  // an independent reading of its first 15 bytes says.
  for (const char* file : {"loghub/Linux_2k.log", "loghub/OpenSSH_2k.log", "loghub/Mac_2k.log"}) {
    std::vector<std::string> lines = corpus_lines(file);
    ASSERT_EQ(lines.size(), 2000u) << file;
    ParserOptions options;
    options.kind = ParserKind::Syslog;
    std::vector<testing::ParsedLine> out = parse_lines(lines, options);
    ASSERT_EQ(out.size(), lines.size());
    size_t with_app = 0;
    for (size_t i = 0; i < lines.size(); ++i) {
      ASSERT_EQ(out[i].flags, 0) << file << ":" << i + 1 << ": " << lines[i];
      static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
      int month = 0;
      for (int m = 0; m < 12; ++m) {
        if (lines[i].compare(0, 3, kMonths[m]) == 0) month = m + 1;
      }
      const int day = std::stoi(lines[i].substr(4, 2));
      // Now is 2026-12-07: OpenSSH's December 10 and later are more than a day ahead.
      const int year = month == 12 && day >= 8 ? 2025 : 2026;
      char expected[32];
      std::snprintf(expected, sizeof expected, "%d-%02d-%02dT%sZ", year, month, day,
                    lines[i].substr(7, 8).c_str());
      EXPECT_EQ(out[i].timestamp_ns, rfc3339_ns(expected)) << file << ":" << i + 1;
      EXPECT_FALSE(out[i].fields.at("host.hostname").empty());
      with_app += out[i].fields.count("process.name");
    }
    // All but the lines whose tag is not `app[pid]:`/`app:` (checked in the tests above).
    EXPECT_GE(with_app, 1850u) << file;
  }
}

}  // namespace
}  // namespace sluice
