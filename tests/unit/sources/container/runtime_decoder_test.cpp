#include "sources/container/runtime_decoder.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "parse/framer.hpp"
#include "support/files.hpp"

// Samples from ../shared/corpus (see its README for each file's upstream and licence):
// elastic/beats, fluent/fluent-bit, grafana/loki (promtail), criblpacks (all Apache-2.0).

namespace sluice {
namespace {

constexpr int64_t kReadTime = 1'700'000'000'000'000'000;
constexpr uint64_t kNone = std::numeric_limits<uint64_t>::max();

std::string corpus(const std::string& name) { return testing::corpus_file(name); }

struct Line {
  std::string text;
  int64_t time = 0;
  uint64_t offset = 0;
  uint16_t flags = 0;
  StreamId stream = StreamId::FromBatch;
};

// Checks what every consumer of a decoded batch relies on, then copies the lines out.
std::vector<Line> lines_of(const Batch& out, size_t max_line) {
  EXPECT_GE(out.bytes.capacity(), out.bytes.size() + kReadPadding);
  std::vector<Line> lines;
  for (const Event& e : out.events) {
    EXPECT_GE(e.line.data(), out.bytes.data());
    EXPECT_LE(e.line.data() + e.line.size(), out.bytes.data() + out.bytes.size());
    EXPECT_LE(e.line.size(), max_line);
    lines.push_back({std::string(e.line), e.timestamp_ns, e.offset, e.flags, e.stream_id});
  }
  return lines;
}

// Runs records through a decoder the way the container source does: framed from the file's
// bytes, each event carrying its record's offset.
class Decoding {
 public:
  explicit Decoding(size_t max_line = 1 << 20, size_t framer_max = 1 << 20)
      : decoder(max_line), max_line_(max_line), framer_max_(framer_max) {}

  // Decodes `text` (whole records) as the next part of the file; returns the lines it yields.
  std::vector<Line> feed(std::string_view text) {
    Batch in;
    frame_text(in, text, FramerOptions{framer_max_});
    for (Event& e : in.events) {
      e.offset = file_offset_ + static_cast<uint64_t>(e.line.data() - in.bytes.data());
    }
    file_offset_ += text.size();
    in.read_time_ns = kReadTime;
    Batch out;
    decoder.decode(in, out);
    return lines_of(out, max_line_);
  }
  std::vector<Line> flush() {
    Batch out;
    decoder.flush_pending(out);
    return lines_of(out, max_line_);
  }

  RuntimeDecoder decoder;

 private:
  size_t max_line_;
  size_t framer_max_;
  uint64_t file_offset_ = 0;
};

std::vector<std::string> texts(const std::vector<Line>& lines) {
  std::vector<std::string> t;
  t.reserve(lines.size());
  for (const Line& l : lines) t.push_back(l.text);
  return t;
}

// ---- The corpus, file by file --------------------------------------------------------------

TEST(RuntimeDecoderCorpus, BeatsCorruptedRecordIsKeptRawAndFlagged) {
  // Real `docker build` output; record 7 lost its leading `{`.
  const std::string file = corpus("containers/beats_docker_corrupted.log");
  Decoding d;
  auto lines = d.feed(file);
  ASSERT_EQ(lines.size(), 21u);
  EXPECT_EQ(lines[0].text, "Fetching main repository github.com/elastic/beats...");
  EXPECT_EQ(lines[0].time, 1456959531338462311);  // 2016-03-02T22:58:51.338462311Z
  EXPECT_EQ(lines[0].stream, StreamId::Stdout);
  EXPECT_EQ(lines[0].flags, 0);
  EXPECT_EQ(lines[6].text,
            R"("log":"cp packetbeat.yml /build/packetbeat-linux.yml\n","stream":"stdout",)"
            R"("time":"2016-03-02T22:59:04.647847045Z"})");
  EXPECT_EQ(lines[6].flags, kFlagParseError);
  EXPECT_EQ(lines[6].time, kReadTime);
  EXPECT_EQ(lines[6].offset, file.find("\"log\":\"cp packetbeat.yml /build/packetbeat-linux"));
  EXPECT_EQ(lines[7].text, "# binary");
  EXPECT_EQ(lines[11].text, "sed -i.bk 's/device: any/device: en0/' /build/packetbeat-darwin.yml");
  EXPECT_EQ(lines[20].text, "Moving binaries to host...");
  EXPECT_EQ(d.decoder.malformed(), 1u);
  EXPECT_EQ(d.decoder.joined(), 0u);
  EXPECT_FALSE(d.decoder.has_pending());
}

TEST(RuntimeDecoderCorpus, SingleDockerRecords) {
  Decoding d;
  auto apache = d.feed(corpus("containers/fluent-bit_default_apache-logs_apache-logs.log"));
  ASSERT_EQ(apache.size(), 1u);
  EXPECT_EQ(apache[0].text,
            R"(20.38.166.115 - - [21/Feb/2018:17:26:53 +0000] "GET /intra-abdominally HTTP/1.0" )"
            "500 2216");
  // `time` with 8 fractional digits.
  auto redis = d.feed(corpus("containers/fluent-bit_k8s_session-db-redis.log"));
  ASSERT_EQ(redis.size(), 1u);
  EXPECT_EQ(redis[0].text, "1:M 19 Sep 18:58:22.134 * Background saving terminated with success");
  EXPECT_EQ(redis[0].time, 1537383502134877280);
  // One record per stream.
  auto both =
      d.feed(corpus("containers/fluent-bit_k8s_annotations-parser_multiple-1_container-1.log"));
  ASSERT_EQ(both.size(), 2u);
  EXPECT_EQ(both[0].stream, StreamId::Stdout);
  EXPECT_EQ(both[1].stream, StreamId::Stderr);
  EXPECT_EQ(both[1].text, "[2019-04-05T14:54:23.584269761] Container 1 is logging on stderr");
  EXPECT_EQ(both[1].time, 1554141513698656444);
  // An escaped JSON access record comes out as the JSON the application wrote.
  auto istio =
      d.feed(corpus("containers/fluent-bit_socks_session-db-fdd649d68-cq5sp_istio-proxy.log"));
  ASSERT_EQ(istio.size(), 1u);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(istio[0].text).get(doc), simdjson::SUCCESS);
  EXPECT_EQ(std::string_view(doc["destinationName"].get_string().value()),
            "user-db-7dcc9649dc-b72rs");
  EXPECT_EQ(d.decoder.malformed(), 0u);
}

TEST(RuntimeDecoderCorpus, UnescapesOneLevelOnly) {
  // The application's text is itself escaped JSON, three levels deep: the runtime's own level
  // goes, the application's stay.
  Decoding d;
  auto json = d.feed(corpus("containers/fluent-bit_k8s_core_unescaping_json.log"));
  ASSERT_EQ(json.size(), 1u);
  EXPECT_EQ(
      json[0].text,
      R"json({"stringified-json":"{\"stringified-json\":\"{\\\"stringified-json\\\":\\\"\\\"}\"}","text":"quoted \"text with embedded quoted \\\"text\\\"\""})json");
  auto text = d.feed(corpus("containers/fluent-bit_k8s_core_unescaping_text.log"));
  ASSERT_EQ(text.size(), 1u);
  EXPECT_EQ(
      text[0].text,
      R"(Text with embedded quoted "text with embedded quoted \"text with embedded quoted \\\"text\\\"\"")");
  EXPECT_EQ(d.decoder.invalid_escapes(), 0u);
}

TEST(RuntimeDecoderCorpus, InnerTextIsTheParsersConcern) {
  Decoding d;
  // The application wrote invalid JSON; the record around it is fine, so it is no decode error.
  auto invalid =
      d.feed(corpus("containers/fluent-bit_k8s_options_merge-log-enabled_invalid-json.log"));
  ASSERT_EQ(invalid.size(), 1u);
  EXPECT_EQ(invalid[0].text, R"({"text":"Simple text"])");
  EXPECT_EQ(invalid[0].flags, 0);
  // An escaped "\n" inside the text is a real newline in the line; only the trailing one goes.
  auto inner = d.feed(corpus("containers/fluent-bit_k8s_options_merge-log-trim-enabled_json.log"));
  ASSERT_EQ(inner.size(), 1u);
  EXPECT_EQ(inner[0].text, "{\"text\":\"Simple text\n\"}");
  EXPECT_EQ(d.decoder.malformed(), 0u);
}

TEST(RuntimeDecoderCorpus, DockerPartialsAreJoined) {
  // Records with only "log": no stream (the batch's), no time (the read time).
  Decoding d;
  const std::string file = corpus("containers/fluent-bit_dockermode_splitted_multiple_lines.log");
  auto lines = d.feed(file);
  EXPECT_EQ(texts(lines),
            (std::vector<std::string>{"2020-03-24 Multiple lines: ", "first bullet point",
                                      "second bullet point", "third bullet point",
                                      "fourth bullet point", "2020-03-24 Single line"}));
  EXPECT_EQ(lines[3].offset, file.find("{\"log\":\"third "));
  EXPECT_EQ(lines[3].stream, StreamId::FromBatch);
  EXPECT_EQ(lines[3].time, kReadTime);
  EXPECT_EQ(d.decoder.joined(), 1u);

  Decoding two;
  auto split = two.feed(corpus("containers/fluent-bit_tail_dockermode_splitted_line.log"));
  EXPECT_EQ(texts(split),
            (std::vector<std::string>{"2020-03-24 Single line", "2020-03-24 Another single line"}));
  EXPECT_EQ(two.decoder.joined(), 2u);
  EXPECT_FALSE(two.decoder.has_pending());

  // Grouping these bullets into one event is the multiline stage's job, not the decoder's.
  Decoding three;
  auto bullets =
      three.feed(corpus("containers/fluent-bit_tail_dockermode_firstline_detection.log"));
  EXPECT_EQ(bullets.size(), 9u);
  EXPECT_EQ(three.decoder.joined(), 0u);
}

TEST(RuntimeDecoderCorpus, CriStackTrace) {
  // containerd records, all `stderr F`; fractions of 8 and 9 digits.
  Decoding d;
  auto lines = d.feed(corpus("containers/fluent-bit_avro-multiline_cri-extracted.log"));
  ASSERT_EQ(lines.size(), 19u);
  EXPECT_EQ(lines[0].text, "hdfsExists: invokeMethod((Lorg/apache/hadoop/fs/Path;)Z) error:");
  EXPECT_EQ(lines[1].time, 1597871184337540770);  // 2020-08-19T21:06:24.33754077Z
  EXPECT_EQ(lines[2].text, "\tat org.apache.hadoop.ipc.Client.call(Client.java:1475)");
  for (const Line& l : lines) {
    EXPECT_EQ(l.stream, StreamId::Stderr);
    EXPECT_EQ(l.flags, 0);
  }
  EXPECT_EQ(d.decoder.joined(), 0u);
}

TEST(RuntimeDecoderCorpus, CriOPartialsJoinAndTheTruncatedTailWaitsForFlush) {
  // CRI-O (`+00:00` times). The sample writes every trace line as a `P` record; by the CRI
  // spec a `P` record's text goes on in the next record with no separator, so records 2-10
  // make one line and the trace lines run together. Upstream truncated the sample after 8 more
  // `P` records: that line stays kept until flush_pending().
  const std::string file = corpus("containers/cribl_crio-multiline.log");
  Decoding d;
  auto lines = d.feed(file);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].text.substr(0, 27), "2021-02-09 11:19:04.814 DEB");
  EXPECT_EQ(lines[0].time, 1612869544815514933);  // 2021-02-09T11:19:04.815514933+00:00
  EXPECT_EQ(lines[1].text.size(), 951u);
  EXPECT_NE(lines[1].text.find("XXXXXXXXXXXXXXXXXXXXXXXXXxxx.xxx.microservices.exceptions"),
            std::string::npos);
  EXPECT_EQ(lines[1].offset, 156u);  // the first `P` record
  EXPECT_EQ(lines[1].stream, StreamId::Stdout);
  EXPECT_EQ(lines[2].text.substr(0, 27), "2021-02-09 11:19:04.814 DEB");
  EXPECT_EQ(d.decoder.joined(), 1u);
  EXPECT_TRUE(d.decoder.has_pending());
  EXPECT_EQ(d.decoder.pending_offset(), 1677u);  // record 12, the first kept one

  auto flushed = d.flush();
  ASSERT_EQ(flushed.size(), 1u);
  EXPECT_EQ(flushed[0].text.size(), 794u);
  EXPECT_EQ(flushed[0].offset, 1677u);
  EXPECT_EQ(flushed[0].flags, 0);
  EXPECT_TRUE(flushed[0].text.ends_with("Method.java:566) ~[na:na]"));
  EXPECT_FALSE(d.decoder.has_pending());
  EXPECT_EQ(d.decoder.pending_offset(), kNone);
  EXPECT_EQ(d.decoder.joined(), 2u);
}

TEST(RuntimeDecoderCorpus, OpenShiftSampleWithoutNewlinesIsAllPartials) {
  // Docker-json-like records hand-made for a demo: "log" has no trailing "\n" (dockerd always
  // writes one at the end of a line) and a few values hold raw tabs (dockerd escapes them). By
  // the json-file rules every record is a partial, so each stream's records are kept and
  // joined; nothing is lost, and flush_pending() gives one line per stream, oldest first.
  Decoding d;
  EXPECT_TRUE(d.feed(corpus("multiline/cribl_openshift-multiline_docker-json.log")).empty());
  EXPECT_EQ(d.decoder.pending_offset(), 0u);
  auto lines = d.flush();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].stream, StreamId::Stdout);
  EXPECT_EQ(lines[0].text.size(), 132u);  // 2 records
  EXPECT_EQ(lines[1].stream, StreamId::Stderr);
  EXPECT_EQ(lines[1].text.size(), 4003u);  // 45 records
  EXPECT_NE(lines[1].text.find("\tat java.util.regex.Matcher.start(Matcher.java:374)"),
            std::string::npos);
  EXPECT_EQ(d.decoder.malformed(), 0u);

  // With a line limit the same records come out as they accumulate, in flagged pieces.
  Decoding small(1000);
  auto pieces = small.feed(corpus("multiline/cribl_openshift-multiline_docker-json.log"));
  EXPECT_EQ(pieces.size(), 4u);
  for (const Line& l : pieces) EXPECT_EQ(l.flags, kFlagSplit);
}

TEST(RuntimeDecoderCorpus, DockerApiStreamsAreNotLogFilesAndPassRaw) {
  // These are captures of the Docker Engine API stream (`docker logs` over the socket): binary
  // 8-byte frame headers, or TTY text with `<time> ` prefixes. No runtime writes them to a log
  // file, so the file-based decoder recognises neither format: every record comes out raw,
  // flagged and counted, byte for byte. Decoding them belongs to a Docker API source.
  for (const char* name : {"containers/loki-promtail_docker-api-stream_flog.log",
                           "containers/loki-promtail_docker-api-stream_partial.log",
                           "containers/loki-promtail_docker-api-tty_partial-tty.log"}) {
    SCOPED_TRACE(name);
    const std::string file = corpus(name);
    Decoding d;
    auto lines = d.feed(file);
    std::string rebuilt;
    for (const Line& l : lines) {
      EXPECT_EQ(l.flags, kFlagParseError);
      EXPECT_EQ(l.time, kReadTime);
      rebuilt += l.text;
      rebuilt += file[l.offset + l.text.size()] == '\r' ? "\r\n" : "\n";
    }
    EXPECT_EQ(rebuilt, file);
    EXPECT_EQ(d.decoder.malformed(), lines.size());
  }
  EXPECT_EQ(Decoding().feed(corpus("containers/loki-promtail_docker-api-stream_flog.log")).size(),
            1151u);
}

// ---- Behaviour, with fixtures written from the CRI logging spec and dockerd's json-file ------

TEST(RuntimeDecoder, CriPartialsInterleaveAcrossStreams) {
  Decoding d;
  auto lines = d.feed(
      "2024-05-07T18:57:50.904275087Z stdout P out one \n"
      "2024-05-07T18:57:50.904275088Z stderr P err one \n"
      "2024-05-07T18:57:51.904275089Z stdout P part \n"
      "2024-05-07T18:57:51.904275090Z stderr F part\n"
      "2024-05-07T18:57:52.904275091Z stdout F done\n"
      "2024-05-07T18:57:53.904275092Z stdout F single\n");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].text, "err one part");
  EXPECT_EQ(lines[0].stream, StreamId::Stderr);
  EXPECT_EQ(lines[0].offset, 49u);                // its first record
  EXPECT_EQ(lines[0].time, 1715108270904275088);  // and that record's time
  EXPECT_EQ(lines[1].text, "out one part done");
  EXPECT_EQ(lines[1].offset, 0u);
  EXPECT_EQ(lines[2].text, "single");
  EXPECT_EQ(d.decoder.joined(), 2u);
}

TEST(RuntimeDecoder, PartialCarriesOverToTheNextBatch) {
  Decoding d;
  EXPECT_TRUE(
      d.feed("{\"log\":\"first \",\"stream\":\"stderr\",\"time\":\"2024-01-02T03:04:05Z\"}\n"
             "{\"log\":\"half \",\"stream\":\"stderr\",\"time\":\"2024-01-02T03:04:06Z\"}\n")
          .empty());
  EXPECT_TRUE(d.decoder.has_pending());
  EXPECT_EQ(d.decoder.pending_offset(), 0u);
  auto lines = d.feed(
      "{\"log\":\"other\\n\",\"stream\":\"stdout\",\"time\":\"2024-01-02T03:04:07Z\"}\n"
      "{\"log\":\"end\\n\",\"stream\":\"stderr\",\"time\":\"2024-01-02T03:04:08Z\"}\n");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].text, "other");
  EXPECT_EQ(lines[1].text, "first half end");
  EXPECT_EQ(lines[1].offset, 0u);
  EXPECT_EQ(lines[1].time, 1704164645000000000);
  EXPECT_FALSE(d.decoder.has_pending());
  EXPECT_EQ(d.decoder.pending_offset(), kNone);
}

TEST(RuntimeDecoder, LongLinesAreCutIntoFlaggedPieces) {
  Decoding d(10);
  // A single record over the limit.
  auto one = d.feed("2024-01-01T00:00:00Z stdout F 0123456789abcdefghijXYZ\n");
  EXPECT_EQ(texts(one), (std::vector<std::string>{"0123456789", "abcdefghij", "XYZ"}));
  for (const Line& l : one) EXPECT_EQ(l.flags, kFlagSplit);

  // Partials: a piece leaves as soon as the kept text passes the limit, and the checkpoint may
  // then pass the records before the one the kept rest came from.
  auto first = d.feed(
      "2024-01-01T00:00:01Z stderr P 01234567\n"    // offset 54
      "2024-01-01T00:00:02Z stderr P 89abcdef\n");  // offset 93
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].text, "0123456789");
  EXPECT_EQ(first[0].offset, 54u);
  EXPECT_EQ(first[0].flags, kFlagSplit);
  EXPECT_EQ(d.decoder.pending_offset(), 93u);
  auto last = d.feed("2024-01-01T00:00:03Z stderr F gh\n");
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(last[0].text, "abcdefgh");
  EXPECT_EQ(last[0].offset, 93u);
  EXPECT_EQ(last[0].flags, kFlagSplit);  // the rest of a cut line

  // A cut never splits a UTF-8 character.
  auto utf8 = d.feed("2024-01-01T00:00:04Z stdout F 123456789\xc3\xa9xy\n");
  EXPECT_EQ(texts(utf8), (std::vector<std::string>{"123456789", "\xc3\xa9xy"}));

  // Runtimes split partials by bytes, so a character can straddle two records. When the cut
  // keeps a byte of an earlier record, the checkpoint must not pass that record.
  Decoding straddle(10);
  const std::string first_record = "2024-01-01T00:00:05Z stdout P 123456789\xc3\n";
  auto none = straddle.feed(first_record);
  EXPECT_TRUE(none.empty());
  auto cut = straddle.feed("2024-01-01T00:00:06Z stdout P \xa9xyz\n");
  EXPECT_EQ(texts(cut), (std::vector<std::string>{"123456789"}));
  EXPECT_EQ(straddle.decoder.pending_offset(), 0u);
  EXPECT_EQ(texts(straddle.flush()), (std::vector<std::string>{"\xc3\xa9xyz"}));
}

TEST(RuntimeDecoder, FlushPendingEmitsKeptPartialsOldestFirst) {
  Decoding d;
  d.feed(
      "{\"log\":\"no newline\",\"stream\":\"stderr\"}\n"
      "2024-01-01T00:00:00Z stdout P cri \n"
      "2024-01-01T00:00:01Z stdout P kept\n");
  EXPECT_EQ(d.decoder.pending_offset(), 0u);
  auto lines = d.flush();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].text, "no newline");
  EXPECT_EQ(lines[0].stream, StreamId::Stderr);
  EXPECT_EQ(lines[1].text, "cri kept");
  EXPECT_EQ(lines[1].stream, StreamId::Stdout);
  EXPECT_TRUE(d.flush().empty());
}

TEST(RuntimeDecoder, EscapesIncludingSurrogatesAndInvalidOnesKeptVerbatim) {
  Decoding d;
  auto lines =
      d.feed(R"({"log":"tab\tq\"s\\/\/ \u00e9 \u20ac \ud83d\ude00 \u0041\r\n","stream":"stdout"})"
             "\n"
             R"({"log":"bad \q \ud800 \udc00x \u12G4 \u00\n","stream":"stdout"})"
             "\n"
             R"({"log":"\n"})"
             "\n");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].text, "tab\tq\"s\\// \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 A");
  EXPECT_EQ(lines[1].text, "bad \\q \\ud800 \\udc00x \\u12G4 \\u00");
  EXPECT_EQ(lines[2].text, "");
  EXPECT_EQ(lines[2].stream, StreamId::FromBatch);
  EXPECT_EQ(d.decoder.invalid_escapes(), 1u);
  EXPECT_EQ(d.decoder.malformed(), 0u);
}

TEST(RuntimeDecoder, ExtraKeysAndSpacingAreTolerated) {
  Decoding d;
  auto lines =
      d.feed(R"( { "stream" : "stderr", "attrs" : {"tag":"x","n":[1,-2.5e3,true,null,{"a":[]}]},)"
             R"( "log" : "hello\n" , "time" : "2024-01-02T03:04:05.5+01:00" } )"
             "\n"
             R"({"log":"tty\r\n","stream":"stdout","time":"not a time"})"
             "\n");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].text, "hello");
  EXPECT_EQ(lines[0].stream, StreamId::Stderr);
  EXPECT_EQ(lines[0].time, 1704161045500000000);
  EXPECT_EQ(lines[1].text, "tty");
  EXPECT_EQ(lines[1].time, kReadTime);  // an unreadable time falls back to the read time
  EXPECT_EQ(d.decoder.malformed(), 0u);
}

TEST(RuntimeDecoder, CorruptRecordsAreFlaggedNotDropped) {
  const std::vector<std::string> bad = {
      "",
      "plain text",
      R"({"log":"unterminated)",
      R"({"log":"x\n","stream":"stdout"} trailing)",
      R"({"stream":"stdout","time":"2024-01-02T03:04:05Z"})",  // no "log"
      R"({"log":42})",
      R"({"log":"x\n",})",
      R"({"log":"x\n","attrs":{"a":[1,2}})",
      R"({"log":"x\n","n":nul})",
      "2024-01-02T03:04:05Z stdin F message",
      "2024-01-02T03:04:05Z stdout",
      "2024-01-02T03:04:05Z stdout  two spaces",
      "2024-13-02T03:04:05Z stdout F bad month",
      "1700000000 stdout F epoch is not RFC 3339",
  };
  std::string text;
  for (const std::string& b : bad) text += b + "\n";
  Decoding d;
  auto lines = d.feed(text);
  ASSERT_EQ(lines.size(), bad.size());
  for (size_t i = 0; i < bad.size(); ++i) {
    EXPECT_EQ(lines[i].text, bad[i]);
    EXPECT_EQ(lines[i].flags, kFlagParseError) << bad[i];
    EXPECT_EQ(lines[i].time, kReadTime);
    EXPECT_EQ(lines[i].stream, StreamId::FromBatch);
  }
  EXPECT_EQ(d.decoder.malformed(), bad.size());
}

TEST(RuntimeDecoder, CriTagsAndEmptyMessages) {
  Decoding d;
  auto lines = d.feed(
      "2024-01-02T03:04:05Z stdout F:x full with extra tag\n"
      "2024-01-02T03:04:05Z stdout P:x part \n"
      "2024-01-02T03:04:05Z stdout F end\n"
      "2024-01-02T03:04:05Z stderr F \n"
      "2024-01-02T03:04:05Z stderr F\n");
  EXPECT_EQ(texts(lines), (std::vector<std::string>{"full with extra tag", "part end", "", ""}));
  EXPECT_EQ(d.decoder.malformed(), 0u);
}

TEST(RuntimeDecoder, CriRecordCutByTheFramerIsRejoined) {
  // containerd can be told not to split lines; the framer then cuts the record and the decoder
  // puts the message back together. The last piece is only known to be the last when the next
  // record comes.
  Decoding d(1 << 20, 40);
  const std::string message(100, 'm');
  auto lines = d.feed("2024-01-02T03:04:05Z stdout F " + message + "\n");
  EXPECT_TRUE(lines.empty());
  EXPECT_EQ(d.decoder.pending_offset(), 0u);
  lines = d.feed("2024-01-02T03:04:06Z stdout F next\n");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].text, message);
  EXPECT_EQ(lines[0].offset, 0u);
  EXPECT_EQ(lines[0].flags, 0);
  EXPECT_EQ(lines[1].text, "next");
  EXPECT_EQ(d.decoder.joined(), 0u);
}

TEST(RuntimeDecoder, DockerRecordCutByTheFramerIsReassembled) {
  // A framer limit below dockerd's record size (16 KiB of text plus JSON escaping) cuts records;
  // the decoder puts them back together before reading them (the stream comes after the text).
  Decoding d(1 << 20, 20);
  const std::string text = "0123456789012345678901234567890123456789";
  const std::string record = R"({"log":")" + text + R"(\n","stream":"stderr"})";
  auto lines = d.feed(record + "\n" + record.substr(0, record.size() - 19) + "}\n");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].text, text);
  EXPECT_EQ(lines[0].stream, StreamId::Stderr);
  EXPECT_EQ(lines[0].offset, 0u);
  EXPECT_EQ(lines[0].flags, 0);
  // The second record is still open (its last piece may not be the last): kept, and held
  // against the checkpoint, until the next record or a flush.
  EXPECT_TRUE(d.decoder.has_pending());
  EXPECT_EQ(d.decoder.pending_offset(), record.size() + 1);
  lines = d.flush();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].text, text);
  EXPECT_EQ(lines[0].stream, StreamId::FromBatch);
  EXPECT_EQ(d.decoder.joined(), 0u);
  EXPECT_EQ(d.decoder.malformed(), 0u);
}

TEST(RuntimeDecoder, HugeOrBrokenCutRecordsPassRaw) {
  // Past 2 * max_line_bytes + 128 KiB a cut record is no record dockerd writes: it goes on raw,
  // flagged and counted once, without being held in memory.
  Decoding d(16, 1000);
  const std::string huge = R"({"log":")" + std::string(200'000, 'h') + R"(\n"})";
  auto lines = d.feed(huge + "\n" + R"({"log":"ok\n"})" + "\n");
  std::string rebuilt;
  for (size_t i = 0; i + 1 < lines.size(); ++i) {
    EXPECT_EQ(lines[i].flags, kFlagParseError | kFlagSplit);
    EXPECT_EQ(lines[i].offset, 0u);
    rebuilt += lines[i].text;
  }
  EXPECT_EQ(rebuilt, huge);
  EXPECT_EQ(lines.back().text, "ok");
  EXPECT_EQ(d.decoder.malformed(), 1u);

  // Reassembled but corrupt: the whole record, raw.
  Decoding broken(1 << 20, 20);
  const std::string bad = R"({"log":"no closing quote, "stream":"stdout"})";
  lines = broken.feed(bad + "\n{\"log\":\"next\\n\"}\n");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].text, bad);
  EXPECT_EQ(lines[0].flags, kFlagParseError);
  EXPECT_EQ(lines[1].text, "next");
  EXPECT_EQ(broken.decoder.malformed(), 1u);
}

TEST(RuntimeDecoder, EventsAlreadyInOutputSurviveItsGrowth) {
  RuntimeDecoder decoder(1 << 20);
  Batch out;
  std::vector<std::string> expected;
  for (int i = 0; i < 50; ++i) {
    Batch in;
    const std::string text =
        "line " + std::to_string(i) + std::string(static_cast<size_t>(i) * 40, 'x');
    frame_text(in, "2024-01-02T03:04:05Z stdout F " + text + "\n");
    decoder.decode(in, out);  // one output batch, grown many times
    expected.push_back(text);
  }
  auto lines = lines_of(out, 1 << 20);
  EXPECT_EQ(texts(lines), expected);
}

}  // namespace
}  // namespace sluice
