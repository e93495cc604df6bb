// `multiline: auto`: joining starts once most of a stream's first lines start with a recognised
// time, and never for a stream where that does not hold. Times are tested by an injected test
// (a line starting with `2024-`) where the shape of the stream is what matters, and by the real
// one (the plain-text detector's layouts and the named formats) on kube-apiserver klog lines
// (gist maddyblue/8e0730228e5c9cb1bbb7) and a neutron-server log.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstring>
#include <string>
#include <vector>

#include "parse/framer.hpp"
#include "parse/multiline.hpp"
#include "support/files.hpp"

namespace sluice {
namespace {

constexpr int64_t kMs = 1'000'000;

bool starts_with_2024(std::string_view line) { return line.starts_with("2024-"); }

// `YYYY-MM-DD ` at the start, written here independently of the detector.
bool starts_with_iso_date(std::string_view line) {
  auto digit = [&](size_t i) { return i < line.size() && line[i] >= '0' && line[i] <= '9'; };
  return digit(0) && digit(1) && digit(2) && digit(3) && line.size() > 10 && line[4] == '-' &&
         digit(5) && digit(6) && line[7] == '-' && digit(8) && digit(9) && line[10] == ' ';
}

// The lines of a gzipped corpus file, without terminators.
std::vector<std::string> gunzip_lines(const std::string& name) {
  std::string path = std::string(SLUICE_CORPUS_DIR) + "/" + name;
  gzFile file = gzopen(path.c_str(), "rb");
  EXPECT_NE(file, nullptr) << name;
  std::string text;
  if (file) {
    char buf[1 << 16];
    int n;
    while ((n = gzread(file, buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
    gzclose(file);
  }
  return testing::lines_of(text);
}

MultilineOptions auto_mode() {
  MultilineOptions o;
  o.mode = MultilineOptions::Mode::Auto;
  return o;
}

std::unique_ptr<MultilineJoiner> make(const MultilineOptions& options, LineTimeTest test) {
  std::string error;
  auto joiner = MultilineJoiner::create(options, &error, test);
  EXPECT_TRUE(joiner) << error;
  return joiner;
}

// Feeds `lines` (without terminators) in batches of `per_batch` lines, 1 ms apart, recycling each
// batch; then end of input. Returns the events' texts.
std::vector<std::string> run(MultilineJoiner& joiner, const std::vector<std::string>& lines,
                             size_t per_batch = 1000) {
  std::vector<std::string> out;
  Batch batch;
  int64_t now = 0;
  for (size_t i = 0; i < lines.size(); i += per_batch) {
    std::string chunk;
    for (size_t j = i; j < std::min(lines.size(), i + per_batch); ++j) chunk += lines[j] + "\n";
    batch.reset();
    frame_text(batch, chunk);
    now += kMs;
    joiner.join(batch, now);
    for (const Event& e : batch.events) out.emplace_back(e.line);
    std::memset(batch.bytes.data(), '#', batch.bytes.size());
  }
  batch.reset();
  joiner.flush(batch, now, true);
  for (const Event& e : batch.events) out.emplace_back(e.line);
  return out;
}

std::vector<std::string> timed_lines(size_t n) {
  std::vector<std::string> lines;
  for (size_t i = 0; i < n; ++i)
    lines.push_back("2024-01-02 03:04:05 INFO line " + std::to_string(i));
  return lines;
}

TEST(MultilineAuto, JoinsContinuationLinesOnceMostLinesHaveATime) {
  std::vector<std::string> lines = timed_lines(10);
  lines.push_back("2024-01-02 03:04:06 ERROR request failed");
  lines.push_back("java.lang.IllegalStateException: boom");
  lines.push_back("\tat a.b.C.d(C.java:1)");
  lines.push_back("");
  lines.push_back("SELECT 1");
  lines.push_back("2024-01-02 03:04:07 INFO after");
  lines.push_back("");
  lines.push_back("2024-01-02 03:04:08 INFO last");
  for (size_t per_batch : {1, 2, 3, 1000}) {
    auto joiner = make(auto_mode(), starts_with_2024);
    std::vector<std::string> out = run(*joiner, lines, per_batch);
    EXPECT_TRUE(joiner->auto_joining());
    ASSERT_EQ(out.size(), 14u) << per_batch;
    EXPECT_EQ(out[10],
              "2024-01-02 03:04:06 ERROR request failed\njava.lang.IllegalStateException: boom\n"
              "\tat a.b.C.d(C.java:1)\n\nSELECT 1");
    EXPECT_EQ(out[11], "2024-01-02 03:04:07 INFO after");
    EXPECT_EQ(out[12], "");  // a blank line that nothing continued passes on its own
    EXPECT_EQ(out[13], "2024-01-02 03:04:08 INFO last");
  }
}

TEST(MultilineAuto, LinesPassThroughWhileSampling) {
  // Two lines without a time among the first ten: 8 of 10 is enough, but only at the tenth.
  std::vector<std::string> lines = {"2024-01-02 a", "continued?", "2024-01-02 b"};
  std::vector<std::string> more = timed_lines(6);
  lines.insert(lines.end(), more.begin(), more.end());
  lines.push_back("banner");  // the tenth line: 8 of 10 have a time, so joining starts here
  lines.push_back("2024-01-02 c");
  lines.push_back("trace");
  auto joiner = make(auto_mode(), starts_with_2024);
  std::vector<std::string> out = run(*joiner, lines);
  EXPECT_TRUE(joiner->auto_joining());
  ASSERT_EQ(out.size(), 11u);
  EXPECT_EQ(out[1], "continued?");
  EXPECT_EQ(out[9], "banner");  // nothing before it to continue
  EXPECT_EQ(out[10], "2024-01-02 c\ntrace");
}

TEST(MultilineAuto, StreamWithoutMostlyTimedLinesStaysLineByLine) {
  // Every other line has a time: 50% never reaches 80%, and after 500 lines it never will.
  std::vector<std::string> lines;
  for (size_t i = 0; i < 600; ++i) lines.push_back(i % 2 ? "no time " : "2024-01-02 x");
  std::vector<std::string> timed = timed_lines(300);  // too late: the sample is over
  lines.insert(lines.end(), timed.begin(), timed.end());
  lines.push_back("trace");
  auto joiner = make(auto_mode(), starts_with_2024);
  std::vector<std::string> out = run(*joiner, lines, 7);
  EXPECT_FALSE(joiner->auto_joining());
  EXPECT_EQ(out, lines);
}

TEST(MultilineAuto, BoundedByMaxLinesAndFlushAfter) {
  MultilineOptions options = auto_mode();
  options.max_lines = 3;
  std::vector<std::string> lines = timed_lines(10);
  lines.push_back("2024-01-02 head");
  for (int i = 0; i < 4; ++i) lines.push_back("  frame " + std::to_string(i));
  auto joiner = make(options, starts_with_2024);
  std::vector<std::string> out = run(*joiner, lines);
  ASSERT_EQ(out.size(), 12u);
  EXPECT_EQ(out[10], "2024-01-02 head\n  frame 0\n  frame 1");
  EXPECT_EQ(out[11], "  frame 2\n  frame 3");
  EXPECT_EQ(joiner->records_cut(), 1u);

  // A record is kept until flush_after passed without a new line.
  auto waiting = make(auto_mode(), starts_with_2024);
  Batch batch;
  std::string text;
  for (const std::string& line : timed_lines(11)) text += line + "\n";
  frame_text(batch, text + "  continued\n");
  waiting->join(batch, 0);
  EXPECT_EQ(batch.events.size(), 10u);
  EXPECT_TRUE(waiting->has_pending());
  batch.reset();
  waiting->flush(batch, waiting->options().flush_after_ns - 1, false);
  EXPECT_TRUE(batch.events.empty());
  waiting->flush(batch, waiting->options().flush_after_ns, false);
  ASSERT_EQ(batch.events.size(), 1u);
  EXPECT_EQ(batch.events[0].line, "2024-01-02 03:04:05 INFO line 10\n  continued");
}

TEST(MultilineAuto, JoinsTheDumpsOfARealNeutronLog) {
  // os-loganalyze screen-q-svc (neutron-server, 2013): 47887 lines, four shell-trace lines
  // first, then 44555 lines that start with a time and 3328 that do not: JSON dumps of the
  // router list (up to 306 lines) and tracebacks, each after the timed line that logged it.
  std::vector<std::string> lines =
      gunzip_lines("multiline/os-loganalyze_screen-q-svc_python.txt.gz");
  ASSERT_EQ(lines.size(), 47887u);
  auto joiner = make(auto_mode(), starts_with_iso_date);
  std::vector<std::string> out = run(*joiner, lines, 997);
  // The detector's test finds the same times as the plain date test written above.
  std::string error;
  auto detecting = MultilineJoiner::create(auto_mode(), &error);
  ASSERT_TRUE(detecting) << error;
  EXPECT_EQ(run(*detecting, lines, 4096), out);
  EXPECT_TRUE(joiner->auto_joining());
  EXPECT_EQ(joiner->records_cut(), 0u);
  ASSERT_EQ(out.size(), 4u + 44555u);
  EXPECT_EQ(out[0], lines[0]);  // sampled before joining started: passed on as they came
  size_t dumps = 0;
  for (const std::string& record : out) {
    if (!record.starts_with("2013-09-27 18:22:30.581 2820 DEBUG neutron.db.l3_rpc_base [-] "
                            "Routers returned to l3 agent:"))
      continue;
    ++dumps;
    EXPECT_NE(record.find("\n [\n     {\n          \"status\": \"ACTIVE\","), std::string::npos);
    // The dump ends with the logging call's location, on the dump's closing line.
    EXPECT_TRUE(
        record.ends_with("\n] sync_routers /opt/stack/new/neutron/neutron/db/l3_rpc_base.py:64"))
        << record.substr(record.size() - 80);
  }
  EXPECT_EQ(dumps, 1u);
}

TEST(MultilineAuto, RecognisedTimesOfRealLines) {
  // kube-apiserver (klog) lines, then a message that goes on over two more lines.
  std::vector<std::string> lines = {
      "I0930 02:45:00.550361   15299 handlers.go:131] POST /api/v1/namespaces/default/events: "
      "(7.383885ms) 201",
      "I0930 02:45:00.556931   15299 handlers.go:131] GET /api/v1/namespaces/default/pods/nginx: "
      "(1.333617ms) 200",
      "I0930 02:45:00.560711   15299 handlers.go:131] PUT "
      "/api/v1/namespaces/default/pods/nginx/status: (2.51882ms) 200",
      "I0930 02:45:00.561793   15325 controller.go:153] No jobs found for pod nginx, job "
      "controller will avoid syncing",
      "I0930 02:45:00.561813   15325 controller.go:250] Pod nginx updated.",
  };
  for (int i = 0; i < 6; ++i) lines.push_back(lines[static_cast<size_t>(i % 5)]);
  lines.push_back("E0930 02:45:01.000000   15325 controller.go:300] sync failed:");
  lines.push_back("  pod nginx: timeout");
  lines.push_back("  pod web: timeout");
  EXPECT_TRUE(starts_with_recognised_time(lines[0]));
  EXPECT_TRUE(starts_with_recognised_time("Jun 14 15:16:01 combo sshd[1]: x"));
  EXPECT_TRUE(starts_with_recognised_time("03-17 16:13:38.811  1702  2395 D Tag: msg"));
  EXPECT_TRUE(starts_with_recognised_time("2015-10-18 18:01:47,978 INFO [main] x: y"));
  EXPECT_TRUE(starts_with_recognised_time("[Sun Dec 04 04:47:44 2005] [notice] x"));
  EXPECT_FALSE(starts_with_recognised_time("WARNING:root:no time here"));
  EXPECT_FALSE(starts_with_recognised_time("  pod nginx: timeout"));
  EXPECT_FALSE(starts_with_recognised_time("\tat a.b.C.d(C.java:1)"));
  std::string error;
  auto joiner = MultilineJoiner::create(auto_mode(), &error);
  ASSERT_TRUE(joiner) << error;
  std::vector<std::string> out = run(*joiner, lines);
  ASSERT_EQ(out.size(), 12u);
  EXPECT_EQ(out[11],
            "E0930 02:45:01.000000   15325 controller.go:300] sync failed:\n  pod nginx: "
            "timeout\n  pod web: timeout");
}

}  // namespace
}  // namespace sluice
