#include "parse/multiline.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "parse/framer.hpp"
#include "support/batch.hpp"
#include "support/files.hpp"

// Traces from ../shared/corpus/multiline (see its README for each file's upstream; all
// Apache-2.0): fluent/fluent-bit, GoogleCloudPlatform/ops-agent, openstack/os-loganalyze.

namespace sluice {
namespace {

using Mode = MultilineOptions::Mode;
constexpr int64_t kMs = 1'000'000;

std::string corpus(const std::string& name) { return testing::corpus_file(name); }

std::string gunzip_corpus(const std::string& name) {
  std::string path = std::string(SLUICE_CORPUS_DIR) + "/" + name;
  gzFile file = gzopen(path.c_str(), "rb");
  EXPECT_NE(file, nullptr) << name;
  std::string out;
  if (!file) return out;
  char buf[1 << 16];
  int n;
  while ((n = gzread(file, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  gzclose(file);
  return out;
}

MultilineOptions mode(Mode m) {
  MultilineOptions o;
  o.mode = m;
  return o;
}

std::unique_ptr<MultilineJoiner> make(const MultilineOptions& options) {
  std::string error;
  auto joiner = MultilineJoiner::create(options, &error);
  EXPECT_TRUE(joiner) << error;
  return joiner;
}

// Splits text into lines, each with its terminator.
std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    size_t n = nl == std::string_view::npos ? text.size() : nl + 1;
    out.emplace_back(text.substr(0, n));
    text.remove_prefix(n);
  }
  return out;
}

// Copies the events out, reading the padding every line promises (ASan checks it).
void collect(const Batch& batch, std::vector<std::string>& out) {
  for (const Event& e : batch.events) {
    unsigned sum = 0;
    for (size_t i = 0; i < kReadPadding; ++i)
      sum += static_cast<unsigned char>(e.line.data()[e.line.size() + i]);
    (void)sum;
    out.emplace_back(e.line);
  }
}

// Feeds `text` through a joiner the way a source does: `lines_per_batch` framed lines per batch
// (0: one batch), one millisecond apart; each batch is copied out, then overwritten and
// recycled (so a record kept by the joiner must not point into it); finally end of input.
std::vector<std::string> run_joiner(MultilineJoiner& joiner, std::string_view text,
                                    size_t lines_per_batch = 0) {
  std::vector<std::string> lines = split_lines(text);
  if (lines_per_batch == 0) lines_per_batch = std::max<size_t>(lines.size(), 1);
  std::vector<std::string> out;
  Batch batch;
  int64_t now = 0;
  for (size_t i = 0; i < lines.size(); i += lines_per_batch) {
    std::string chunk;
    for (size_t j = i; j < std::min(lines.size(), i + lines_per_batch); ++j) chunk += lines[j];
    batch.reset();
    frame_text(batch, chunk);
    now += kMs;
    joiner.join(batch, now);
    collect(batch, out);
    std::memset(batch.bytes.data(), '#', batch.bytes.size());
  }
  batch.reset();
  joiner.flush(batch, now, true);
  collect(batch, out);
  EXPECT_FALSE(joiner.has_pending());
  return out;
}

std::vector<std::string> run_joiner(const MultilineOptions& options, std::string_view text,
                                    size_t lines_per_batch = 0) {
  auto joiner = make(options);
  return run_joiner(*joiner, text, lines_per_batch);
}

// The same records whatever the batch boundaries.
void expect_same_for_any_batching(const MultilineOptions& options, const std::string& text) {
  std::vector<std::string> whole = run_joiner(options, text);
  for (size_t per_batch : {1, 2, 3, 5, 7, 13}) {
    EXPECT_EQ(run_joiner(options, text, per_batch), whole) << per_batch << " lines per batch";
  }
}

size_t count_lines(const std::string& record) {
  return static_cast<size_t>(std::count(record.begin(), record.end(), '\n')) + 1;
}

TEST(MultilineJava, TomcatTraceWithLoggerLine) {
  std::string text = corpus("multiline/ops-agent_tomcat-system_java.log");
  auto records = run_joiner(mode(Mode::Java), text);
  ASSERT_EQ(records.size(), 39u - 11u);
  const std::string& trace = records[23];
  EXPECT_TRUE(trace.starts_with("21-Jul-2025 17:03:21.101 ERROR [http-nio-8080-exec-7]"));
  EXPECT_NE(trace.find("threw exception\njava.lang.NullPointerException: Cannot invoke"),
            std::string::npos);
  EXPECT_TRUE(trace.ends_with("\tat javax.servlet.http.HttpServlet.service(HttpServlet.java:626)"));
  EXPECT_EQ(count_lines(trace), 12u);
  EXPECT_TRUE(records[24].starts_with("21-Jul-2025 18:05:22.345 INFO"));
  expect_same_for_any_batching(mode(Mode::Java), text);
}

TEST(MultilineJava, CassandraKafkaZookeeper) {
  auto cassandra =
      run_joiner(mode(Mode::Java), corpus("multiline/ops-agent_cassandra-system_java.log"));
  ASSERT_EQ(cassandra.size(), 11u);
  EXPECT_EQ(count_lines(cassandra[8]), 9u);
  EXPECT_NE(cassandra[8].find("Error during compaction\njava.lang.RuntimeException"),
            std::string::npos);
  EXPECT_EQ(count_lines(cassandra[10]), 10u);

  // A config dump (tab-indented) and a nested trace ending in `... 6 more` and an indented
  // closing line.
  auto kafka = run_joiner(mode(Mode::Java), corpus("multiline/ops-agent_kafka_java.log"));
  ASSERT_EQ(kafka.size(), 12u);
  EXPECT_EQ(count_lines(kafka[3]), 12u);
  EXPECT_EQ(count_lines(kafka[9]), 9u);
  EXPECT_TRUE(kafka[9].ends_with("\t\t... 6 more\n (kafka.server.ReplicaFetcherThread)"));

  // Ends in a blank line, which stays an event of its own.
  auto zookeeper =
      run_joiner(mode(Mode::Java), corpus("multiline/ops-agent_zookeeper_general_java.log"));
  ASSERT_EQ(zookeeper.size(), 6u);
  EXPECT_EQ(count_lines(zookeeper[1]), 8u);
  EXPECT_EQ(count_lines(zookeeper[3]), 5u);
  EXPECT_EQ(zookeeper[5], "");
  for (const char* name :
       {"multiline/ops-agent_cassandra-system_java.log", "multiline/ops-agent_kafka_java.log",
        "multiline/ops-agent_zookeeper_general_java.log"}) {
    expect_same_for_any_batching(mode(Mode::Java), corpus(name));
  }
}

TEST(MultilineJava, CausedByAndMore) {
  // Real output of `e.printStackTrace()` (OpenJDK 17), after a logger's line: the exception line
  // right after it belongs to that line's record (logger.error("...", e) prints both).
  std::string text =
      "12:00:01.123 ERROR request failed\n"
      "java.lang.RuntimeException: middle wrapped\n"
      "\tat Trace.middle(Trace.java:4)\n"
      "\tat Trace.main(Trace.java:8)\n"
      "\tat java.base/jdk.internal.reflect.NativeMethodAccessorImpl.invoke0(Native Method)\n"
      "Caused by: java.lang.IllegalStateException: inner failure\n"
      "\tat Trace.inner(Trace.java:2)\n"
      "\t... 12 more\n"
      "12:00:02.000 INFO done\n";
  auto records = run_joiner(mode(Mode::Java), text);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(count_lines(records[0]), 8u);
  EXPECT_TRUE(records[0].ends_with("\t... 12 more"));
  EXPECT_EQ(records[1], "12:00:02.000 INFO done");

  // The fluent-bit sample: `Exception in thread` line and space-indented frames.
  std::string sample = corpus("multiline/fluent-bit_doc-filter-multiline_java-go.log");
  auto lines = split_lines(sample);
  std::string head;
  for (size_t i = 0; i < 8; ++i) head += lines[i];
  records = run_joiner(mode(Mode::Java), head);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(count_lines(records[1]), 6u);
  EXPECT_EQ(records[2], "another line...");
}

TEST(MultilineJava, SecondExceptionAfterFramesStartsNewRecord) {
  auto records = run_joiner(mode(Mode::Java),
                            "ERROR first\njava.lang.IllegalStateException: a\n\tat A.a(A.java:1)\n"
                            "java.lang.IllegalArgumentException: b\n\tat B.b(B.java:2)\n");
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(count_lines(records[0]), 3u);
  EXPECT_EQ(records[1], "java.lang.IllegalArgumentException: b\n\tat B.b(B.java:2)");
}

TEST(MultilinePython, JournaldTraceback) {
  // The devstack journal export with its `date host unit[pid]: ` prefix taken off: a Python 2.7
  // traceback whose last line (`error: ...`) is the exception.
  std::string text;
  for (const std::string& line :
       split_lines(corpus("multiline/os-loganalyze_devstack-c-vol-service_python.log"))) {
    text += line.substr(line.find("]: ") + 3);
  }
  auto records = run_joiner(mode(Mode::Python), text);
  ASSERT_EQ(records.size(), 7u);
  EXPECT_TRUE(records[1].starts_with("Traceback (most recent call last):\n  File "));
  EXPECT_TRUE(
      records[1].ends_with("    waiter.switch()\nerror: cannot switch to a different thread"));
  EXPECT_EQ(count_lines(records[1]), 8u);
  EXPECT_TRUE(records[2].starts_with("INFO cinder.volume.manager"));
  expect_same_for_any_batching(mode(Mode::Python), text);
}

TEST(MultilinePython, ChainedExceptions) {
  // Real CPython 3.11 output: `raise ... from e` inside an `except`, then re-raised.
  std::string trace =
      "Traceback (most recent call last):\n"
      "  File \"<string>\", line 6, in g\n"
      "  File \"<string>\", line 3, in f\n"
      "KeyError: 'x'\n"
      "\n"
      "The above exception was the direct cause of the following exception:\n"
      "\n"
      "Traceback (most recent call last):\n"
      "  File \"<string>\", line 10, in <module>\n"
      "  File \"<string>\", line 8, in g\n"
      "ValueError: bad value\n"
      "\n"
      "During handling of the above exception, another exception occurred:\n"
      "\n"
      "Traceback (most recent call last):\n"
      "  File \"<string>\", line 12, in <module>\n"
      "RuntimeError: wrapped\n";
  std::string text = "before\n" + trace + "\nafter\n";
  auto records = run_joiner(mode(Mode::Python), text);
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[0], "before");
  EXPECT_EQ(records[1] + "\n", trace);
  EXPECT_EQ(records[2], "");  // a blank line that led nowhere is handed on as it was
  EXPECT_EQ(records[3], "after");
  expect_same_for_any_batching(mode(Mode::Python), text);

  // Two tracebacks back to back stay two records.
  records = run_joiner(mode(Mode::Python),
                       "Traceback (most recent call last):\n  x\nA: 1\n"
                       "Traceback (most recent call last):\n  y\nB: 2\n");
  ASSERT_EQ(records.size(), 2u);
}

TEST(MultilineGo, PanicWithGoroutineDumps) {
  std::string text = corpus("multiline/fluent-bit_doc-filter-multiline_java-go.log");
  auto lines = split_lines(text);
  ASSERT_EQ(lines.size(), 60u);
  auto records = run_joiner(mode(Mode::Go), text);
  // Lines 1-8 pass through (the Java part is not Go), 9-59 are the panic, 60 passes through.
  ASSERT_EQ(records.size(), 10u);
  EXPECT_EQ(records[8].substr(0, 26), "panic: my panic\n\ngoroutine");
  EXPECT_EQ(count_lines(records[8]), 51u);
  EXPECT_TRUE(records[8].ends_with(
      "created by runtime.gcenable\n  /usr/local/go/src/runtime/mgc.go:216 +0x58"));
  EXPECT_EQ(records[9], "one more line, no multiline");
  expect_same_for_any_batching(mode(Mode::Go), text);
}

TEST(MultilineGo, TabIndentedRuntimeFormat) {
  std::string panic =
      "panic: runtime error: index out of range [5] with length 3\n"
      "\n"
      "goroutine 1 [running]:\n"
      "main.(*Server).handle(0xc000012345, {0x4b1e20, 0x3})\n"
      "\t/app/server.go:42 +0x1d\n"
      "main.main()\n"
      "\t/app/main.go:8 +0x25\n"
      "exit status 2\n";
  auto records = run_joiner(mode(Mode::Go), "ok\n" + panic);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(count_lines(records[1]), 7u);
  EXPECT_EQ(records[2], "exit status 2");
}

TEST(MultilineCustom, OpenStackTraceLines) {
  // 56 Python tracebacks whose every line is a log line tagged TRACE; the reference counts come
  // from applying the same rule in Python to the file.
  std::string text = gunzip_corpus("multiline/os-loganalyze_screen-q-svc_python.txt.gz");
  MultilineOptions options;
  options.continue_pattern = R"(^\S+ \S+ \d+ TRACE )";
  auto records = run_joiner(options, text);
  ASSERT_EQ(records.size(), 47298u);
  size_t joined = 0, longest = 0;
  for (const auto& r : records) {
    size_t n = count_lines(r);
    joined += n > 1;
    longest = std::max(longest, n);
  }
  EXPECT_EQ(joined, 41u);
  EXPECT_EQ(longest, 18u);
  auto first = std::find_if(records.begin(), records.end(),
                            [](const std::string& r) { return count_lines(r) > 1; });
  EXPECT_TRUE(first->starts_with("2013-09-27 18:23:42.923 2820 ERROR neutron.api.v2.resource"));
  EXPECT_EQ(count_lines(*first), 14u);
  auto batched = run_joiner(options, text, 1000);
  EXPECT_EQ(batched, records);
}

TEST(MultilineCustom, PatternCombinations) {
  std::string text = "S1\nc\nc\nx\nS2\nc\n";
  MultilineOptions start_only;
  start_only.start_pattern = "^S";
  EXPECT_EQ(run_joiner(start_only, text), (std::vector<std::string>{"S1\nc\nc\nx", "S2\nc"}));

  MultilineOptions continue_only;
  continue_only.continue_pattern = "^c$";
  EXPECT_EQ(run_joiner(continue_only, text), (std::vector<std::string>{"S1\nc\nc", "x", "S2\nc"}));

  MultilineOptions both;
  both.start_pattern = "^S";
  both.continue_pattern = "^c$";
  EXPECT_EQ(run_joiner(both, "c\nS1\nc\nx\nc\nS2\n"),
            (std::vector<std::string>{"c", "S1\nc", "x", "c", "S2"}));
}

TEST(MultilineCustom, BadPatterns) {
  MultilineOptions options;
  options.start_pattern = "(unclosed";
  std::string error;
  EXPECT_EQ(MultilineJoiner::create(options, &error), nullptr);
  EXPECT_NE(error.find("start_pattern"), std::string::npos) << error;

  options.start_pattern.clear();
  options.continue_pattern = "[z-a]";
  error.clear();
  EXPECT_EQ(MultilineJoiner::create(options, &error), nullptr);
  EXPECT_NE(error.find("continue_pattern"), std::string::npos) << error;

  options.continue_pattern.clear();
  error.clear();
  EXPECT_EQ(MultilineJoiner::create(options, &error), nullptr);
  EXPECT_FALSE(error.empty());
}

TEST(MultilineJoin, ZeroCopyInBatchAndCrLf) {
  auto joiner = make(mode(Mode::Java));
  Batch batch;
  frame_text(batch, "head\r\n\tat a\r\n\tat b\r\nnext\r\n");
  joiner->join(batch, kMs);
  ASSERT_EQ(batch.events.size(), 1u);
  // "\r\n" between lines becomes "\n", in place: no copy into the arena.
  EXPECT_EQ(batch.events[0].line, "head\n\tat a\n\tat b");
  EXPECT_EQ(batch.events[0].line.data(), batch.bytes.data());
  ASSERT_TRUE(joiner->has_pending());
  EXPECT_EQ(joiner->pending_deadline_ns(), kMs + 1'000'000'000);

  Batch lf;
  frame_text(lf, "head\n  at a\n  at b\n");
  joiner->join(lf, 2 * kMs);
  // `next` (kept from the first batch) ends when `head` arrives.
  ASSERT_EQ(lf.events.size(), 1u);
  EXPECT_EQ(lf.events[0].line, "next");
  joiner->flush(lf, 2 * kMs, true);
  ASSERT_EQ(lf.events.size(), 2u);
  EXPECT_EQ(lf.events[1].line, "head\n  at a\n  at b");
}

TEST(MultilineJoin, RecordSpanningBatchesKeepsFirstLineMetadata) {
  auto joiner = make(mode(Mode::Java));
  Batch first;
  frame_text(first, "INFO one\nERROR two\n\tat a\n");
  for (size_t i = 0; i < first.events.size(); ++i) {
    first.events[i].offset = 100 + i * 10;
    first.events[i].timestamp_ns = 7000 + static_cast<int64_t>(i);
  }
  first.events[2].flags = kFlagParseError;
  joiner->join(first, kMs);
  ASSERT_EQ(first.events.size(), 1u);
  EXPECT_EQ(first.events[0].line, "INFO one");
  ASSERT_TRUE(joiner->has_pending());
  EXPECT_EQ(joiner->pending_offset(), 110u);
  std::memset(first.bytes.data(), '#', first.bytes.size());
  first.reset();

  Batch second;
  frame_text(second, "\tat b\n\t... 3 more\nINFO three\n");
  joiner->join(second, 2 * kMs);
  ASSERT_EQ(second.events.size(), 1u);
  const Event& record = second.events[0];
  EXPECT_EQ(record.line, "ERROR two\n\tat a\n\tat b\n\t... 3 more");
  EXPECT_EQ(record.offset, 110u);
  EXPECT_EQ(record.timestamp_ns, 7001);
  EXPECT_EQ(record.flags, kFlagParseError);
  // Copied into the batch's arena (the first batch is gone).
  EXPECT_FALSE(record.line.data() >= second.bytes.data() &&
               record.line.data() < second.bytes.data() + second.bytes.size());
  EXPECT_TRUE(joiner->has_pending());  // `INFO three` may still get a trace
}

TEST(MultilineJoin, FlushAfter) {
  MultilineOptions options = mode(Mode::Java);
  options.flush_after_ns = 500 * kMs;
  auto joiner = make(options);
  Batch batch;
  frame_text(batch, "ERROR x\n\tat a\n");
  joiner->join(batch, 10 * kMs);
  EXPECT_TRUE(batch.events.empty());
  EXPECT_EQ(joiner->pending_deadline_ns(), 510 * kMs);
  joiner->flush(batch, 509 * kMs, false);
  EXPECT_TRUE(batch.events.empty());
  // A line that continues the record moves the deadline.
  Batch more;
  frame_text(more, "\tat b\n");
  joiner->join(more, 400 * kMs);
  EXPECT_TRUE(more.events.empty());
  joiner->flush(more, 600 * kMs, false);
  EXPECT_TRUE(more.events.empty());
  joiner->flush(more, 900 * kMs, false);
  ASSERT_EQ(more.events.size(), 1u);
  EXPECT_EQ(more.events[0].line, "ERROR x\n\tat a\n\tat b");
  for (size_t i = 0; i < kReadPadding; ++i)
    EXPECT_EQ(more.events[0].line.data()[more.events[0].line.size() + i], '\0');
  EXPECT_FALSE(joiner->has_pending());
  // Nothing kept: flush does nothing.
  joiner->flush(more, 2000 * kMs, true);
  EXPECT_EQ(more.events.size(), 1u);
}

TEST(MultilineJoin, MaxLinesAndMaxBytesCut) {
  MultilineOptions options = mode(Mode::Java);
  options.max_lines = 4;
  auto joiner = make(options);
  std::string text = "ERROR x\n";
  for (int i = 0; i < 9; ++i) text += "\tat f" + std::to_string(i) + "\n";
  auto records = run_joiner(*joiner, text);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(count_lines(records[0]), 4u);
  EXPECT_EQ(count_lines(records[1]), 4u);
  EXPECT_EQ(records[2], "\tat f7\n\tat f8");
  EXPECT_EQ(joiner->records_cut(), 2u);
  EXPECT_EQ(run_joiner(options, text, 3), records);

  options = mode(Mode::Java);
  options.max_bytes = 20;
  joiner = make(options);
  records = run_joiner(*joiner, "ERROR x\n\tat aaaa\n\tat bbbb\n\tat cccc\n");
  EXPECT_EQ(records, (std::vector<std::string>{"ERROR x\n\tat aaaa", "\tat bbbb\n\tat cccc"}));
  EXPECT_EQ(joiner->records_cut(), 1u);
  for (const auto& r : records) EXPECT_LE(r.size(), 20u);
}

TEST(MultilineJoin, DifferentStreamEndsRecord) {
  auto joiner = make(mode(Mode::Java));
  Batch batch;
  frame_text(batch, "ERROR out\n\tat err-frame\n\tat out-frame\nINFO err\n\tat e\n");
  StreamId streams[] = {StreamId::Stdout, StreamId::Stderr, StreamId::Stdout, StreamId::Stderr,
                        StreamId::Stderr};
  for (size_t i = 0; i < 5; ++i) batch.events[i].stream_id = streams[i];
  joiner->join(batch, kMs);
  joiner->flush(batch, kMs, true);
  std::vector<std::string> lines;
  for (const Event& e : batch.events) lines.emplace_back(e.line);
  EXPECT_EQ(lines, (std::vector<std::string>{"ERROR out", "\tat err-frame", "\tat out-frame",
                                             "INFO err\n\tat e"}));
  EXPECT_EQ(batch.events[3].stream_id, StreamId::Stderr);
}

TEST(MultilineJoin, SplitPiecesAreNeverJoined) {
  auto joiner = make(mode(Mode::Java));
  Batch batch;
  std::string text = "ERROR x\n\tat " + std::string(40, 'a') + "\n\tat b\n";
  batch.bytes.reserve(text.size() + kReadPadding);
  batch.bytes.append(text);
  LineFramer framer(FramerOptions{.max_line_bytes = 20});
  framer.finish(batch);
  ASSERT_GT(batch.events.size(), 4u);
  size_t pieces = batch.events.size() - 2;
  joiner->join(batch, kMs);
  joiner->flush(batch, kMs, true);
  ASSERT_EQ(batch.events.size(), 1 + pieces + 1);
  EXPECT_EQ(batch.events[0].line, "ERROR x");
  EXPECT_EQ(batch.events.back().line, "\tat b");
}

TEST(MultilineJoin, PlainLinesPassUntouched) {
  for (Mode m : {Mode::Python, Mode::Go}) {
    auto joiner = make(mode(m));
    Batch batch;
    testing::fill_batch(batch, {"a", "b", "", "c"});
    std::vector<const char*> before;
    for (const Event& e : batch.events) before.push_back(e.line.data());
    joiner->join(batch, kMs);
    ASSERT_EQ(batch.events.size(), 4u);
    for (size_t i = 0; i < 4; ++i) EXPECT_EQ(batch.events[i].line.data(), before[i]);
    EXPECT_FALSE(joiner->has_pending());  // no trace started: nothing waits
  }
}

}  // namespace
}  // namespace sluice
