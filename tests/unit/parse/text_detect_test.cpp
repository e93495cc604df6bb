// Lines follow each layout's documented default (the LogHub files have these layouts); expected
// instants come from GNU date (`date -u -d ... +%s`), never from the code under test.
#include "parse/text_detect.hpp"

#include <gtest/gtest.h>

#include <string>

#include "parse/timezone.hpp"
#include "parse/year_inference.hpp"

namespace sluice {
namespace {

constexpr int64_t kSec = 1'000'000'000;

struct Detected {
  bool found = false;
  TextLine text;
  std::optional<int64_t> ns;
};

Detected detect(std::string_view line, int64_t anchor = 0) {
  Detected d;
  d.found = detect_text_line(line, d.text);
  if (d.found && d.text.has_time) d.ns = resolve_line_time(d.text.time, nullptr, anchor);
  return d;
}

TEST(TextDetect, Log4jHadoop) {
  auto d = detect(
      "2015-10-18 18:01:47,978 INFO [main] org.apache.hadoop.mapreduce.v2.app.MRAppMaster: "
      "Created MRAppMaster");
  ASSERT_TRUE(d.found);
  EXPECT_EQ(d.ns, 1445191307 * kSec + 978'000'000);  // date -u -d '2015-10-18 18:01:47'
  EXPECT_EQ(d.text.level, "INFO");
  EXPECT_EQ(d.text.thread, "main");
  EXPECT_EQ(d.text.logger, "org.apache.hadoop.mapreduce.v2.app.MRAppMaster");
  EXPECT_EQ(d.text.message, "Created MRAppMaster");
  EXPECT_FALSE(d.text.time.has_zone);
}

TEST(TextDetect, Log4jTwoDigitYearNeedsALevel) {
  auto d = detect("17/06/09 20:10:40 INFO executor.CoarseGrainedExecutorBackend: Registered");
  ASSERT_TRUE(d.found);
  EXPECT_EQ(d.ns, 1497039040 * kSec);  // 2017-06-09 20:10:40
  EXPECT_EQ(d.text.level, "INFO");
  EXPECT_EQ(d.text.logger, "executor.CoarseGrainedExecutorBackend");
  EXPECT_EQ(d.text.message, "Registered");
  // Without a level the date could be US month/day/year: left alone.
  EXPECT_FALSE(detect("06/09/17 20:10:40 something happened").found);
}

TEST(TextDetect, PythonLoggingBothForms) {
  auto d = detect("2024-01-02 03:04:05,678 - myapp.db - WARNING - slow query");
  ASSERT_TRUE(d.found);
  EXPECT_EQ(d.ns, 1704164645 * kSec + 678'000'000);  // 2024-01-02 03:04:05
  EXPECT_EQ(d.text.logger, "myapp.db");
  EXPECT_EQ(d.text.level, "WARNING");
  EXPECT_EQ(d.text.message, "slow query");
  auto bare = detect("ERROR:root:disk full");
  ASSERT_TRUE(bare.found);
  EXPECT_FALSE(bare.text.has_time);
  EXPECT_EQ(bare.text.level, "ERROR");
  EXPECT_EQ(bare.text.logger, "root");
  EXPECT_EQ(bare.text.message, "disk full");
  EXPECT_FALSE(detect("ERROR: disk full").found);
}

TEST(TextDetect, ZookeeperDashLevel) {
  auto d = detect(
      "2015-07-29 19:04:29,071 - WARN  [SendWorker:188978561024:QuorumCnxManager$SendWorker@688] "
      "- Send worker leaving thread");
  ASSERT_TRUE(d.found);
  EXPECT_EQ(d.text.level, "WARN");
  // `[%t:%C{1}@%L]`: the thread may hold colons and brackets; the class and line follow the last.
  EXPECT_EQ(d.text.thread, "SendWorker:188978561024");
  EXPECT_EQ(d.text.logger, "QuorumCnxManager$SendWorker");
  EXPECT_EQ(d.text.source_line, "688");
  EXPECT_EQ(d.text.message, "Send worker leaving thread");
  d = detect(
      "2015-07-29 17:41:44,747 - INFO  [QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181:FastLeaderElection"
      "@774] - Notification time out: 3200");
  EXPECT_EQ(d.text.thread, "QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181");
  EXPECT_EQ(d.text.logger, "FastLeaderElection");
  EXPECT_EQ(d.text.source_line, "774");
  EXPECT_EQ(d.text.message, "Notification time out: 3200");
  {
    Batch batch;
    Event event;
    ASSERT_TRUE(parse_text_line("2015-07-29 17:41:44,747 - INFO  [main:FastLeaderElection@774] - x",
                                TimestampContext{}, batch, event));
    // level, message, log.logger, log.origin.file.line (a number), process.thread.name
    ASSERT_EQ(batch.fields.size(), 5u);
    EXPECT_EQ(batch.fields[2].value.text, "FastLeaderElection");
    EXPECT_EQ(batch.fields[3].key, "log.origin.file.line");
    EXPECT_EQ(batch.fields[3].value.text, "774");
    EXPECT_EQ(batch.fields[3].value.kind, ValueKind::Number);
    EXPECT_EQ(batch.fields[4].value.text, "main");
  }
  // Not class@line after the last colon, or no ` - ` after the bracket: the bracket is message.
  for (const char* line : {"2015-07-29 19:04:29,071 - WARN  [main:10.0.0.1] - x",
                           "2015-07-29 19:04:29,071 - WARN  [main:Foo@12a] - x",
                           "2015-07-29 19:04:29,071 - WARN  [Foo@12] - x",
                           "2015-07-29 19:04:29,071 - WARN  [main:Foo@12] x"}) {
    d = detect(line);
    ASSERT_TRUE(d.found) << line;
    EXPECT_EQ(d.text.level, "WARN") << line;
    EXPECT_TRUE(d.text.thread.empty()) << line;
    EXPECT_TRUE(d.text.message.starts_with("[")) << line;
  }
}

TEST(TextDetect, LogbackThreadFirst) {
  auto d = detect("2024-01-02 03:04:05.123 [http-nio-8080-exec-1] ERROR com.acme.Api - failed");
  ASSERT_TRUE(d.found);
  EXPECT_EQ(d.text.thread, "http-nio-8080-exec-1");
  EXPECT_EQ(d.text.level, "ERROR");
  EXPECT_EQ(d.text.logger, "com.acme.Api");
  EXPECT_EQ(d.text.message, "failed");
}

TEST(TextDetect, SpringBootWithZone) {
  auto d = detect(
      "2024-01-02T03:04:05.123+01:00  INFO 12345 --- [           main] o.s.b.w.e.t.TomcatWebServer "
      " "
      "    : Tomcat started");
  ASSERT_TRUE(d.found);
  EXPECT_TRUE(d.text.time.has_zone);
  EXPECT_EQ(d.ns, 1704161045 * kSec + 123'000'000);  // 2024-01-02 02:04:05 UTC
  EXPECT_EQ(d.text.level, "INFO");
  EXPECT_EQ(d.text.pid, "12345");
  EXPECT_EQ(d.text.thread, "main");
  EXPECT_EQ(d.text.logger, "o.s.b.w.e.t.TomcatWebServer");
  EXPECT_EQ(d.text.message, "Tomcat started");
}

TEST(TextDetect, OpenStackStylePidLevelLogger) {
  auto d = detect(
      "2017-05-16 00:00:00.008 25746 INFO nova.osapi_compute.wsgi.server [req-38101a0b] GET /v2");
  ASSERT_TRUE(d.found);
  EXPECT_EQ(d.text.pid, "25746");
  EXPECT_EQ(d.text.level, "INFO");
  EXPECT_EQ(d.text.logger, "nova.osapi_compute.wsgi.server");
  EXPECT_EQ(d.text.message, "[req-38101a0b] GET /v2");
}

TEST(TextDetect, DateInAFileNameIsNotTheLinesTime) {
  // OpenStack's LogHub lines start with the file they came from: left alone.
  EXPECT_FALSE(detect("nova-api.log.1.2017-05-16_13:53:08 2017-05-16 00:00:00.008 25746 INFO "
                      "nova.osapi_compute.wsgi.server [req-1] GET")
                   .found);
}

TEST(TextDetect, GoLogAndNginxError) {
  auto go = detect("2009/11/10 23:00:00 Hello, world");
  ASSERT_TRUE(go.found);
  EXPECT_EQ(go.ns, 1257894000 * kSec);
  EXPECT_TRUE(go.text.level.empty());
  EXPECT_EQ(go.text.message, "Hello, world");
  auto micro = detect("2009/11/10 23:00:00.123456 Hello");
  EXPECT_EQ(micro.ns, 1257894000 * kSec + 123'456'000);
  auto nginx = detect(
      "2024/01/02 03:04:05 [error] 12#34: *1 open() \"/x\" failed (2: No such file or directory)");
  ASSERT_TRUE(nginx.found);
  EXPECT_EQ(nginx.text.level, "error");
  EXPECT_EQ(nginx.text.pid, "12");
  EXPECT_EQ(nginx.text.thread, "34");
  EXPECT_EQ(nginx.text.message.substr(0, 3), "*1 ");
}

TEST(TextDetect, ApacheErrorLog) {
  auto d = detect("[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok /etc/httpd/conf");
  ASSERT_TRUE(d.found);
  EXPECT_EQ(d.ns, 1133671664 * kSec);  // 2005-12-04 04:47:44
  EXPECT_EQ(d.text.level, "notice");
  EXPECT_EQ(d.text.message, "workerEnv.init() ok /etc/httpd/conf");
  auto v24 = detect(
      "[Fri Sep 09 10:42:29.902022 2011] [core:error] [pid 35708:tid 4328636416] [client "
      "72.15.99.187] File does not exist");
  ASSERT_TRUE(v24.found);
  EXPECT_EQ(v24.ns, 1315564949 * kSec + 902'022'000);
  EXPECT_EQ(v24.text.level, "error");
  EXPECT_EQ(v24.text.logger, "core");
  EXPECT_EQ(v24.text.pid, "35708");
  EXPECT_EQ(v24.text.thread, "4328636416");
  EXPECT_EQ(v24.text.message, "[client 72.15.99.187] File does not exist");
}

TEST(TextDetect, RubyLogger) {
  auto d = detect("I, [2024-01-02T03:04:05.123456 #1234]  INFO -- app: started");
  ASSERT_TRUE(d.found);
  EXPECT_EQ(d.ns, 1704164645 * kSec + 123'456'000);
  EXPECT_EQ(d.text.level, "INFO");
  EXPECT_EQ(d.text.pid, "1234");
  EXPECT_EQ(d.text.logger, "app");
  EXPECT_EQ(d.text.message, "started");
  auto anon = detect("W, [2024-01-02T03:04:05.123456 #1234]  WARN -- : low disk");
  ASSERT_TRUE(anon.found);
  EXPECT_EQ(anon.text.level, "WARN");
  EXPECT_TRUE(anon.text.logger.empty());
  EXPECT_EQ(anon.text.message, "low disk");
  // The letter and the word must agree.
  EXPECT_FALSE(detect("I, [2024-01-02T03:04:05.123456 #1234]  WARN -- : x").found);
}

TEST(TextDetect, WindowsCbs) {
  auto d =
      detect("2016-09-28 04:30:30, Info                  CBS    Loaded Servicing Stack v6.1.7601");
  ASSERT_TRUE(d.found);
  EXPECT_EQ(d.ns, 1475037030 * kSec);  // 2016-09-28 04:30:30
  EXPECT_EQ(d.text.level, "Info");
  EXPECT_EQ(d.text.logger, "CBS");
  EXPECT_EQ(d.text.message, "Loaded Servicing Stack v6.1.7601");
}

TEST(TextDetect, BracketedTimes) {
  auto d = detect("[2024-01-02 03:04:05] production.ERROR: boom");
  ASSERT_TRUE(d.found);
  EXPECT_EQ(d.ns, 1704164645 * kSec);
  EXPECT_EQ(d.text.level, "ERROR");
  EXPECT_EQ(d.text.logger, "production");
  EXPECT_EQ(d.text.message, "boom");
  auto kafka = detect("[2024-01-02 03:04:05,123] INFO [Controller id=0] Ready (kafka.Controller)");
  ASSERT_TRUE(kafka.found);
  EXPECT_EQ(kafka.text.level, "INFO");
  auto clf = detect("[10/Oct/2000:13:55:36 -0700] GET /");
  ASSERT_TRUE(clf.found);
  EXPECT_EQ(clf.ns, 971211336 * kSec);  // 2000-10-10 20:55:36 UTC
  // LogHub's Proxifier writes `[10.30 16:49:06]`: no year, month and day ambiguous.
  EXPECT_FALSE(detect("[10.30 16:49:06] chrome.exe - proxy.cse.cuhk.edu.hk:5070 open").found);
}

TEST(TextDetect, IsoZonesAndFractions) {
  auto z = detect("2024-01-02T03:04:05.123456789Z GET /");
  EXPECT_EQ(z.ns, 1704164645 * kSec + 123'456'789);
  EXPECT_TRUE(z.text.time.has_zone);
  auto offset = detect("2024-01-02T03:04:05-0500 ERROR x");
  EXPECT_EQ(offset.ns, 1704182645 * kSec);
  EXPECT_EQ(offset.text.level, "ERROR");
  auto spaced = detect("2024-01-02 03:04:05 +0000 warning: y");
  EXPECT_EQ(spaced.ns, 1704164645 * kSec);
  EXPECT_EQ(spaced.text.level, "warning");
  // Glued to a word: not a time at the start of a line.
  EXPECT_FALSE(detect("2024-01-02T03:04:05Zfoo bar").found);
}

TEST(TextDetect, LevelWordsAreStrict) {
  // Not a level: a word that is not in the table, mixed case, or running into other text.
  for (const char* line : {"2024-01-02 03:04:05 Started server", "2024-01-02 03:04:05 InFo x",
                           "2024-01-02 03:04:05 INFOx y", "2024-01-02 03:04:05 ERRORS y"}) {
    auto d = detect(line);
    ASSERT_TRUE(d.found) << line;
    EXPECT_TRUE(d.text.level.empty()) << line;
  }
}

TEST(TextDetect, UnrecognisedLinesAreLeftAlone) {
  for (const char* line :
       {"hello world", "", "2024", "081109 203615 148 INFO dfs.DataNode$PacketResponder: x",
        "- 1117838570 2005.06.03 R02-M1-N0-C:J12-U11 2005-06-03-15.42.50.675872 RAS KERNEL INFO",
        "20171223-22:15:29:606|Step_LSC|30002312|onStandStepChanged 3579",
        "[Sun Dec 04 04:47:44 2005] not a level", "Z, [2024-01-02T03:04:05.1 #1] INFO -- : x"}) {
    EXPECT_FALSE(detect(line).found) << line;
  }
}

TEST(TextDetect, ParseTextLineFields) {
  Batch batch;
  Event event;
  const std::string line =
      "2024-01-02T03:04:05.123+01:00  INFO 12345 --- [main] o.s.Foo : Tomcat started";
  ASSERT_TRUE(parse_text_line(line, TimestampContext{}, batch, event));
  EXPECT_EQ(event.timestamp_ns, 1704161045 * kSec + 123'000'000);
  ASSERT_EQ(batch.fields.size(), 5u);
  EXPECT_EQ(batch.fields[0].key, "level");
  EXPECT_EQ(batch.fields[0].value.text, "INFO");
  EXPECT_EQ(batch.fields[1].key, "message");
  EXPECT_EQ(batch.fields[2].key, "log.logger");
  EXPECT_EQ(batch.fields[3].key, "process.pid");
  EXPECT_EQ(batch.fields[3].value.kind, ValueKind::Number);
  EXPECT_EQ(batch.fields[4].key, "process.thread.name");
}

TEST(TextDetect, RuntimeTimeKeptUnlessTheLineHasYearAndZone) {
  const int64_t runtime = 1700000000 * kSec;
  Batch batch;
  Event event;
  event.timestamp_ns = runtime;
  ASSERT_TRUE(parse_text_line("2024-01-02 03:04:05 ERROR x", TimestampContext{}, batch, event));
  EXPECT_EQ(event.timestamp_ns, runtime);  // no zone: the runtime's exact time stays
  EXPECT_EQ(batch.fields[0].value.text, "ERROR");
  ASSERT_TRUE(parse_text_line("2024-01-02T03:04:05Z ERROR x", TimestampContext{}, batch, event));
  EXPECT_EQ(event.timestamp_ns, 1704164645 * kSec);
  event.timestamp_ns = runtime;
  std::string error;
  auto utc = TimeZone::load("UTC", &error);
  ASSERT_NE(utc, nullptr) << error;
  // The source said which zone its zone-less times are in.
  const TimestampContext configured{utc.get(), 0};
  ASSERT_TRUE(parse_text_line("2024-01-02 03:04:05 ERROR x", configured, batch, event));
  EXPECT_EQ(event.timestamp_ns, 1704164645 * kSec);
}

TEST(TextDetect, InvalidCalendarTimeIsNotAMatch) {
  Batch batch;
  Event event;
  EXPECT_FALSE(parse_text_line("2024-02-30 03:04:05 ERROR x", TimestampContext{}, batch, event));
  EXPECT_FALSE(parse_text_line("2024-01-02 24:04:05 ERROR x", TimestampContext{}, batch, event));
  EXPECT_TRUE(batch.fields.empty());
  EXPECT_EQ(event.timestamp_ns, 0);
}

}  // namespace
}  // namespace sluice

namespace sluice {
namespace {

// The layouts with a named parser are read by it: the detector hands them on.
std::string_view field(const Batch& batch, std::string_view key) {
  for (const Field& f : batch.fields) {
    if (f.key == key) return f.value.text;
  }
  return {};
}

TEST(TextDetect, NamedLayoutsGoToTheirParsers) {
  const int64_t anchor = 1718452800 * kSec;  // 2024-06-15T12:00:00Z
  const TimestampContext ctx{nullptr, anchor};
  {
    Batch batch;
    Event event;
    ASSERT_TRUE(parse_text_line(
        "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure", ctx, batch, event));
    EXPECT_EQ(event.timestamp_ns, 1718378161 * kSec);  // 2024-06-14 15:16:01
    EXPECT_EQ(field(batch, "host.hostname"), "combo");
    EXPECT_EQ(field(batch, "process.pid"), "19939");
  }
  {
    Batch batch;
    Event event;
    ASSERT_TRUE(parse_text_line("03-17 16:13:38.811  1702  2395 D WindowManager: freezing", ctx,
                                batch, event));
    EXPECT_EQ(event.timestamp_ns, 1710692018 * kSec + 811'000'000);  // 2024-03-17 16:13:38
    EXPECT_EQ(field(batch, "level"), "D");
  }
  {
    Batch batch;
    Event event;
    ASSERT_TRUE(
        parse_text_line("E0614 10:00:00.123456   12345 main.go:42] boom", ctx, batch, event));
    EXPECT_EQ(field(batch, "level"), "E");
    EXPECT_EQ(event.timestamp_ns, 1718359200 * kSec + 123'456'000);  // 2024-06-14 10:00:00
  }
  {
    Batch batch;
    Event event;
    ASSERT_TRUE(parse_text_line(
        R"(127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326)", ctx,
        batch, event));
    EXPECT_EQ(event.timestamp_ns, 971211336 * kSec);
  }
  {
    Batch batch;
    Event event;
    EXPECT_FALSE(parse_text_line("Just some words", ctx, batch, event));
    EXPECT_FALSE(
        parse_text_line("E0230 10:00:00.123456   12345 main.go:42] Feb 30", ctx, batch, event));
    EXPECT_TRUE(batch.fields.empty());
  }
}

}  // namespace
}  // namespace sluice
