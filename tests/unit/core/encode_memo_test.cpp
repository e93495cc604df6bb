// The encoder's memo of layouts (core/encode_memo.hpp) writes exactly the bytes the general
// encoder writes, event by event, whatever changes from one event to the next: keys, value
// kinds, flags, hidden metadata, streams, offsets, times, formats.
#include "core/encode_memo.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/encoder.hpp"
#include "parse/event_parser.hpp"
#include "parse/framer.hpp"
#include "support/files.hpp"

namespace sluice {
namespace {

// Every event of `batch` encoded with and without the memo (reset once, as for one output of one
// batch): the two outputs, which must be equal.
std::pair<std::string, std::string> both(const Batch& batch, const SourceMeta& meta,
                                         EncodeMemo& memo) {
  ByteBuffer general, memoised;
  memo.reset();
  for (const Event& e : batch.events) {
    encode_event(batch, e, meta, EncodingSpec{}, general);
    encode_event(batch, e, meta, EncodingSpec{}, memoised, memo);
  }
  return {std::string(general.view()), std::string(memoised.view())};
}

std::shared_ptr<Origin> file_origin() {
  auto origin = std::make_shared<Origin>();
  origin->file_path = "/var/log/containers/web_shop_app-0123.log";
  origin->fields = {{"kubernetes.pod.name", "web"}, {"kubernetes.namespace", "shop"}};
  return origin;
}

void parse_auto(Batch& batch) {
  ParserOptions options;
  options.kind = ParserKind::Auto;
  std::string error;
  auto parser = EventParser::create(options, &error);
  ASSERT_TRUE(parser) << error;
  for (size_t i = 0; i < batch.events.size(); ++i) batch.events[i].offset = 1000 + 97 * i;
  parser->parse(batch, 1'700'000'000'000'000'000);
}

const char* const kLogHub[] = {"Android", "Apache",      "BGL",       "HDFS",
                               "HPC",     "Hadoop",      "HealthApp", "Linux",
                               "Mac",     "OpenSSH",     "OpenStack", "Proxifier",
                               "Spark",   "Thunderbird", "Windows",   "Zookeeper"};

TEST(EncodeMemo, SameBytesAsTheGeneralEncoderOnEveryLogHubFileFromAFileAndFromAStream) {
  for (const char* system : kLogHub) {
    const std::string text = testing::corpus_file(std::string("loghub/") + system + "_2k.log");
    ASSERT_FALSE(text.empty()) << system;
    for (bool from_file : {true, false}) {
      Batch batch;
      batch.stream = "stdout";
      batch.read_time_ns = 1'700'000'000'000'000'000;
      if (from_file) batch.origin = file_origin();
      frame_text(batch, text);
      parse_auto(batch);
      EncodeMemo memo;
      auto [general, memoised] = both(batch, SourceMeta{"app", "node-1", false}, memo);
      ASSERT_EQ(general, memoised) << system << (from_file ? " from a file" : " from a stream");
      // The files whose lines keep one layout are written from it (each file has 2000 lines).
      if (std::string_view(system) == "Linux" || std::string_view(system) == "Hadoop") {
        EXPECT_GT(memo.hits(), 1500u) << system;
      }
    }
  }
}

TEST(EncodeMemo, SameBytesWhenTheFormatsAlternateLineByLine) {
  std::vector<std::vector<std::string>> lines;
  for (const char* system : kLogHub) {
    lines.push_back(
        testing::lines_of(testing::corpus_file(std::string("loghub/") + system + "_2k.log")));
  }
  std::string mixed;
  for (size_t i = 0; i < 300; ++i) {
    for (const auto& own : lines) mixed += own[i % own.size()] + "\n";
  }
  Batch batch;
  batch.stream = "stdout";
  batch.origin = file_origin();
  frame_text(batch, mixed);
  parse_auto(batch);
  EncodeMemo memo;
  auto [general, memoised] = both(batch, SourceMeta{"app", "node-1", false}, memo);
  EXPECT_EQ(general, memoised);
}

// One event per entry: its fields, flags, hidden metadata and stream.
struct Spec {
  std::vector<Field> fields;
  uint16_t flags = 0;
  uint8_t hidden = 0;
  StreamId stream = StreamId::FromBatch;
};

Batch batch_of(const std::vector<Spec>& specs) {
  Batch batch;
  batch.stream = "stdin";
  batch.origin = file_origin();
  std::string text;
  for (size_t i = 0; i < specs.size(); ++i) text += "line " + std::to_string(i) + "\n";
  frame_text(batch, text);
  for (size_t i = 0; i < specs.size(); ++i) {
    Event& e = batch.events[i];
    e.first_field = static_cast<uint32_t>(batch.fields.size());
    for (const Field& f : specs[i].fields) batch.fields.push_back(f);
    e.field_count = static_cast<uint32_t>(specs[i].fields.size());
    e.flags = specs[i].flags;
    e.hidden_meta = specs[i].hidden;
    e.stream_id = specs[i].stream;
    e.offset = 10 * i;
    e.timestamp_ns = 1'000'000'007 * static_cast<int64_t>(i + 1);
  }
  return batch;
}

Field str(std::string_view key, std::string_view text) {
  return Field{key, Value{ValueKind::String, false, text}};
}
Field num(std::string_view key, std::string_view text) {
  return Field{key, Value{ValueKind::Number, true, text}};
}

TEST(EncodeMemo, EveryDifferenceThatChangesTheLayoutIsSeen) {
  const Spec base{{str("message", "a"), str("host.hostname", "h1"), num("process.pid", "1")}};
  const std::vector<Spec> variants = {
      {{str("message", "c"), str("host.hostname", "h3"), str("process.pid", "3")}},  // a kind
      {{str("message", "d"), str("host.hostname", "h4"), num("process.pid", "4")},
       kFlagParseError},  // a tag
      {{str("message", "e"), str("host.hostname", "h5"), num("process.pid", "5")},
       0,
       kMetaHost | kMetaTimestamp},  // hidden metadata
      {{str("message", "f"), str("host.hostname", "h6"), num("process.pid", "6")},
       0,
       0,
       StreamId::Stderr},                                                             // a stream
      {{str("message", "g"), str("host.hostnames", "h7"), num("process.pid", "7")}},  // a key
      {{str("message", "h"), str("log.logger", "x"), num("process.pid", "8")}},  // merged `log`
      {{str("message", "i"), Field{std::string_view(), Value{}}, num("process.pid", "9")}},
      {{str("message", "a"), str("host.hostname", "h1")}},                           // fewer fields
      {{str("message", "a"), str("host.hostname", "h1"), num("process.tid", "1")}},  // same size
  };
  const SourceMeta meta{"app", "node-1", false};
  for (size_t i = 0; i < variants.size(); ++i) {
    for (const auto& pair : {std::vector<Spec>{base, variants[i]}, {variants[i], base}}) {
      Batch batch = batch_of(pair);
      EncodeMemo memo;
      auto [general, memoised] = both(batch, meta, memo);
      EXPECT_EQ(general, memoised) << "variant " << i;
      EXPECT_EQ(memo.hits(), 0u) << "variant " << i;
    }
  }
  // A scalar `log` replaces the metadata's; an object of the same key merges with it.
  const std::vector<Spec> kinds = {
      {{str("message", "m"), str("log", "a scalar log")}},
      {{str("message", "m"), Field{"log", Value{ValueKind::Json, true, R"({"logger":"y"})"}}}}};
  Batch batch = batch_of(kinds);
  EncodeMemo memo;
  auto [general, memoised] = both(batch, meta, memo);
  EXPECT_EQ(general, memoised);
  // The same layout, other values (escapes, invalid UTF-8 and all): written from the memo.
  const std::vector<Spec> same = {
      base, {{str("message", "b\n\"\xff"), str("host.hostname", "h2"), num("process.pid", "22")}}};
  batch = batch_of(same);
  auto [same_general, same_memoised] = both(batch, meta, memo);
  EXPECT_EQ(same_general, same_memoised);
  EXPECT_EQ(memo.hits(), 1u);
  EXPECT_NE(same_general.find("\"message\":\"b\\n\\\"\xEF\xBF\xBD\""), std::string::npos)
      << same_general;
}

TEST(EncodeMemo, EventsWithPerEventMetadataOrTheRawLineUseTheGeneralEncoder) {
  std::vector<Spec> specs(4, Spec{{str("message", "x")}});
  Batch batch = batch_of(specs);
  batch.meta.push_back(num("kafka.offset", "41"));
  batch.meta.push_back(num("kafka.offset", "42"));
  batch.events[2].meta_first = 0;
  batch.events[2].meta_count = 1;
  batch.events[3].meta_first = 1;
  batch.events[3].meta_count = 1;
  EncodeMemo memo;
  auto [general, memoised] = both(batch, SourceMeta{"app", "node-1", false}, memo);
  EXPECT_EQ(general, memoised);
  EXPECT_EQ(memo.hits(), 1u);
  auto [raw_general, raw_memoised] = both(batch, SourceMeta{"app", "node-1", true}, memo);
  EXPECT_EQ(raw_general, raw_memoised);
  EXPECT_EQ(memo.hits(), 0u);
}

}  // namespace
}  // namespace sluice
