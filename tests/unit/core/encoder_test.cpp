#include "core/encoder.hpp"

#include <gtest/gtest.h>

#include <cstdio>

#include "base/json_writer.hpp"
#include "parse/event_parser.hpp"
#include "support/batch.hpp"

namespace sluice {
namespace {

std::string json_string(std::string_view s, bool valid = false) {
  ByteBuffer out;
  append_json_string(out, s, valid);
  return std::string(out.view());
}

TEST(JsonWriter, EscapesQuotesBackslashesAndControls) {
  EXPECT_EQ(json_string("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(json_string("t\tn\nr\r"), R"("t\tn\nr\r")");
  EXPECT_EQ(json_string(std::string("nul\0x", 5)), R"("nul\u0000x")");
  EXPECT_EQ(json_string("\x01\x1f"), R"("\u0001\u001f")");
  EXPECT_EQ(json_string("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"),
            "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"");
}

TEST(JsonWriter, ReplacesInvalidUtf8) {
  const std::string kReplacement = "\xEF\xBF\xBD";
  EXPECT_EQ(json_string("a\xFF"
                        "b"),
            "\"a" + kReplacement + "b\"");
  EXPECT_EQ(json_string("\xC3"), "\"" + kReplacement + "\"");  // truncated sequence
  EXPECT_EQ(json_string("\xC0\xAF"), "\"" + kReplacement + kReplacement + "\"");  // overlong
  EXPECT_EQ(json_string("\xED\xA0\x80"),                                          // surrogate
            "\"" + kReplacement + kReplacement + kReplacement + "\"");
  EXPECT_EQ(json_string("\xF4\x90\x80\x80"),  // above U+10FFFF
            "\"" + kReplacement + kReplacement + kReplacement + kReplacement + "\"");
  EXPECT_EQ(json_string("\xFF\n"), "\"" + kReplacement + "\\n\"");
}

// A plain byte-by-byte reference, to check the word-at-a-time scan at every position.
std::string reference_escape(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '"') {
      out += "\\\"";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += c == '\t' ? "\\t" : c == '\r' ? "\\r" : c == '\b' ? "\\b" : c == '\f' ? "\\f" : buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

TEST(JsonWriter, EscapesAtEveryPositionOfAWord) {
  for (char special : {'"', '\\', '\n', '\x01', '\x1f', '\0', ' ', '\x7f', '!', '#', '[', ']'}) {
    for (size_t length : {1u, 7u, 8u, 9u, 16u, 17u, 33u}) {
      for (size_t pos = 0; pos < length; ++pos) {
        std::string s(length, 'a');
        s[pos] = special;
        EXPECT_EQ(json_string(s, true), reference_escape(s))
            << "special " << int(special) << " at " << pos << " of " << length;
      }
    }
  }
  // Multi-byte UTF-8 across word boundaries stays as it is.
  std::string text = "abcdef\xC3\xA9ghijklm\xE2\x82\xACnop\"q";
  EXPECT_EQ(json_string(text), reference_escape(text));
}

// Short strings are checked in overlapping halves and bytes, longer ones in words with an
// overlapping last word: every length, every position, validated or not, and bytes that are not
// ASCII (a valid two-byte character kept, an invalid byte replaced) anywhere.
TEST(JsonWriter, EveryLengthAndPositionOfShortStrings) {
  const std::string kReplacement = "\xEF\xBF\xBD";
  for (size_t length = 0; length <= 40; ++length) {
    const std::string plain(length, 'a');
    EXPECT_EQ(json_string(plain), "\"" + plain + "\"");
    for (size_t pos = 0; pos < length; ++pos) {
      for (char special : {'"', '\\', '\n', '\x01', '\x1f', '\0', '\x7f', '~'}) {
        std::string s = plain;
        s[pos] = special;
        EXPECT_EQ(json_string(s), reference_escape(s))
            << "special " << int(special) << " at " << pos << " of " << length;
      }
      std::string two_byte = plain;
      two_byte.replace(pos, 1, "\xC3\xA9");
      EXPECT_EQ(json_string(two_byte), "\"" + two_byte + "\"") << pos << " of " << length;
      std::string invalid = plain;
      invalid[pos] = '\xFF';
      std::string expected = plain;
      expected.replace(pos, 1, kReplacement);
      EXPECT_EQ(json_string(invalid), "\"" + expected + "\"") << pos << " of " << length;
    }
  }
}

class EncoderTest : public ::testing::Test {
 protected:
  // Parses `lines` with `kind` and encodes them.
  std::vector<std::string> encode(const std::vector<std::string>& lines, EncodingSpec spec,
                                  ParserKind kind = ParserKind::Auto, bool keep_raw = false) {
    Batch batch;
    testing::fill_batch(batch, lines);
    batch.stream = "stdout";
    batch.read_time_ns = 1'700'000'000'123'456'789;
    ParserOptions options;
    options.kind = kind;
    std::string error;
    auto parser = EventParser::create(options, &error);
    parser->parse(batch, batch.read_time_ns);
    SourceMeta meta{"app", "node-1", keep_raw};
    std::vector<std::string> out;
    for (const Event& e : batch.events) {
      ByteBuffer buf;
      encode_event(batch, e, meta, spec, buf);
      out.emplace_back(buf.view());
    }
    return out;
  }
};

TEST_F(EncoderTest, JsonEventSchema) {
  auto out = encode({R"({"time":"2024-01-02T15:04:05.5+01:00","level":"info","n":1})"}, {});
  EXPECT_EQ(
      out[0],
      R"({"@timestamp":"2024-01-02T14:04:05.500000000Z","time":"2024-01-02T15:04:05.5+01:00",)"
      R"("level":"info","n":1,"source":"app","stream":"stdout","host":{"name":"node-1"}})"
      "\n");
}

TEST_F(EncoderTest, PlainLineKeepsMessageAndReadTime) {
  auto out = encode({"hello world"}, {});
  EXPECT_EQ(out[0], R"({"@timestamp":"2023-11-14T22:13:20.123456789Z","message":"hello world",)"
                    R"("source":"app","stream":"stdout","host":{"name":"node-1"}})"
                    "\n");
}

TEST_F(EncoderTest, AtTimestampIsNormalisedNotDuplicated) {
  auto out = encode({R"({"@timestamp":"2024-01-02T15:04:05Z","m":1})"}, {});
  EXPECT_EQ(out[0].find("\"@timestamp\":\"2024-01-02T15:04:05.000000000Z\""), 1u);
  EXPECT_EQ(out[0].find("@timestamp", 5), std::string::npos);
}

TEST_F(EncoderTest, UnparsableAtTimestampIsKeptUnderAnotherName) {
  auto out = encode({R"({"@timestamp":"yesterday"})"}, {});
  EXPECT_NE(out[0].find(R"("@timestamp_raw":"yesterday")"), std::string::npos);
  EXPECT_EQ(out[0].find("\"@timestamp\"", 5), std::string::npos);
}

TEST_F(EncoderTest, ParseErrorIsTagged) {
  auto out = encode({R"({"broken": )"}, {});
  EXPECT_NE(out[0].find(R"("message":"{\"broken\": ")"), std::string::npos);
  EXPECT_NE(out[0].find(R"("tags":["parse_error"])"), std::string::npos);
}

TEST_F(EncoderTest, ParsedFieldsWinOverMetadata) {
  auto out = encode({R"({"source":"mine","host":"h"})"}, {});
  EXPECT_NE(out[0].find(R"("source":"mine")"), std::string::npos);
  EXPECT_EQ(out[0].find(R"("source":"app")"), std::string::npos);
  EXPECT_EQ(out[0].find(R"("host":{)"), std::string::npos);
}

TEST_F(EncoderTest, KeepRawAddsEventOriginal) {
  auto out = encode({"level=info a=1"}, {}, ParserKind::Auto, true);
  EXPECT_NE(out[0].find(R"("event":{"original":"level=info a=1"})"), std::string::npos);
}

TEST_F(EncoderTest, RawIsTheLine) {
  auto out = encode({"  {\"x\": 1} "}, {EncodingSpec::Kind::Raw, false});
  EXPECT_EQ(out[0], "  {\"x\": 1} \n");
}

TEST_F(EncoderTest, TextShowsLevelMessageAndFields) {
  auto out = encode({R"(level=warn msg="disk full" pct=91)"}, {EncodingSpec::Kind::Text, false});
  EXPECT_EQ(out[0], "2023-11-14T22:13:20.123Z WARN  disk full pct=91\n");
  // The field the time came from is not repeated.
  auto timed = encode({R"(ts=2024-01-02T03:04:05Z level=info msg=up port=80)"},
                      {EncodingSpec::Kind::Text, false});
  EXPECT_EQ(timed[0], "2024-01-02T03:04:05.000Z INFO  up port=80\n");
  auto colored = encode({R"(level=error msg=x)"}, {EncodingSpec::Kind::Text, true});
  EXPECT_NE(colored[0].find("\x1b[31mERROR"), std::string::npos);
}

TEST_F(EncoderTest, TextNeutralisesTerminalEscapes) {
  auto out = encode({"evil \x1b[2J line"}, {EncodingSpec::Kind::Text, false});
  EXPECT_EQ(out[0].find('\x1b'), std::string::npos);
  EXPECT_NE(out[0].find("\\x1b[2J"), std::string::npos);
}

}  // namespace
}  // namespace sluice

namespace sluice {
namespace {

// How often `key` (with its quotes) appears in `text`.
size_t count_key(const std::string& text, const std::string& key) {
  size_t n = 0;
  for (size_t at = text.find(key); at != std::string::npos; at = text.find(key, at + 1)) ++n;
  return n;
}

TEST_F(EncoderTest, DuplicateKeysAreWrittenOnceWithTheLastValue) {
  std::vector<std::string> lines = {R"({"a":1,"b":0,"a":2})", R"({"a":1,"\u0061":2})",
                                    "a=1 b=0 a=2", R"({"o":{"a":1,"a":2}})"};
  auto json = encode(lines, {});
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(count_key(json[i], R"("a":)"), 1u) << json[i];
    EXPECT_TRUE(json[i].find(R"("a":2)") != std::string::npos ||
                json[i].find(R"("a":"2")") != std::string::npos)
        << json[i];
  }
  EXPECT_NE(json[3].find(R"("o":{"a":2})"), std::string::npos) << json[3];
  auto text = encode(lines, {EncodingSpec::Kind::Text, false});
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(count_key(text[i], " a="), 1u) << text[i];
    EXPECT_NE(text[i].find(" a=2"), std::string::npos) << text[i];
  }
}

TEST_F(EncoderTest, UnparsableAtTimestampReplacesALineOwnRawOne) {
  auto out = encode({R"({"@timestamp_raw":"mine","@timestamp":"yesterday"})"}, {});
  EXPECT_EQ(count_key(out[0], R"("@timestamp_raw":)"), 1u) << out[0];
  EXPECT_NE(out[0].find(R"("@timestamp_raw":"yesterday")"), std::string::npos) << out[0];
}

TEST_F(EncoderTest, NumbersBeyondDoubleRangeAreWrittenAsTheyCame) {
  auto out = encode({R"({"n":1e999999,"m":-1e400,"t":1e-999999,"ts":1e999999,"a":[1E400]})"}, {});
  EXPECT_NE(out[0].find(R"("n":1e999999,"m":-1e400,"t":1e-999999,"ts":1e999999,"a":[1E400])"),
            std::string::npos)
      << out[0];
  EXPECT_EQ(out[0].find("parse_error"), std::string::npos) << out[0];
}

TEST(EncoderMetadataKeys, AFieldNamedAtTimestampIsNotWrittenBesideTheEventTime) {
  Batch batch;
  frame_text(batch, "x\n");
  batch.fields.push_back(Field{"@timestamp", Value{ValueKind::String, true, "later"}});
  Event& event = batch.events[0];
  event.first_field = 0;
  event.field_count = 1;
  event.timestamp_ns = 1;
  SourceMeta meta{"src", "host", false};
  ByteBuffer out;
  encode_event(batch, event, meta, EncodingSpec{}, out);
  std::string json(out.view());
  EXPECT_EQ(count_key(json, R"("@timestamp":)"), 1u) << json;
  EXPECT_EQ(json.find("later"), std::string::npos) << json;
  // Hidden (a remap replaced it), the field is the one written.
  event.hidden_meta = kMetaTimestamp;
  out.clear();
  encode_event(batch, event, meta, EncodingSpec{}, out);
  json = std::string(out.view());
  EXPECT_EQ(count_key(json, R"("@timestamp":)"), 1u) << json;
  EXPECT_NE(json.find(R"("@timestamp":"later")"), std::string::npos) << json;
}

TEST(EncoderSourceMetadata, OriginAndEventMetadataNestUnderTheirGroups) {
  Batch batch;
  frame_text(batch, "hello\n");
  auto origin = std::make_shared<Origin>();
  origin->file_path = "/var/log/containers/a.log";
  origin->fields = {{"kubernetes.pod.name", "web"},
                    {"kubernetes.pod.uid", "u1"},
                    {"kubernetes.namespace", "shop"},
                    {"container.id", "abc"}};
  batch.origin = origin;
  batch.meta.push_back(Field{"kafka.topic", Value{ValueKind::String, true, "logs"}});
  batch.meta.push_back(Field{"kafka.partition", Value{ValueKind::Number, true, "2"}});
  batch.meta.push_back(Field{"kafka.offset", Value{ValueKind::Number, true, "42"}});
  Event& event = batch.events[0];
  event.offset = 7;
  event.meta_first = 0;
  event.meta_count = 3;
  event.timestamp_ns = 1;
  SourceMeta meta{"src", "host", false};
  ByteBuffer out;
  encode_event(batch, event, meta, EncodingSpec{}, out);
  std::string json(out.data(), out.size());
  EXPECT_NE(json.find(R"("log":{"file":{"path":"/var/log/containers/a.log"},"offset":7})"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find(R"("kubernetes":{"pod":{"name":"web","uid":"u1"},"namespace":"shop"},)"
                      R"("container":{"id":"abc"},"kafka":{"topic":"logs","partition":2,)"
                      R"("offset":42})"),
            std::string::npos)
      << json;
}

TEST(EncoderSourceMetadata, ParsedFieldOfTheSameGroupWins) {
  Batch batch;
  frame_text(batch, "x\n");
  batch.fields.push_back(Field{"kafka", Value{ValueKind::String, true, "mine"}});
  batch.meta.push_back(Field{"kafka.offset", Value{ValueKind::Number, true, "42"}});
  Event& event = batch.events[0];
  event.first_field = 0;
  event.field_count = 1;
  event.meta_count = 1;
  SourceMeta meta{"src", "host", false};
  ByteBuffer out;
  encode_event(batch, event, meta, EncodingSpec{}, out);
  std::string json(out.data(), out.size());
  EXPECT_NE(json.find(R"("kafka":"mine")"), std::string::npos) << json;
  EXPECT_EQ(json.find("42"), std::string::npos) << json;
}

TEST(EncoderSourceMetadata, DottedSourceKeyTakesThePlaceOfTheSourceName) {
  // `parser: clf` writes ECS `source.address`; `"source":"src"` beside it would be a string and
  // an object of one name, which Elasticsearch cannot map.
  Batch batch;
  frame_text(batch, "x\n");
  batch.fields.push_back(Field{"source.address", Value{ValueKind::String, true, "10.0.0.1"}});
  Event& event = batch.events[0];
  event.first_field = 0;
  event.field_count = 1;
  SourceMeta meta{"src", "host", false};
  ByteBuffer out;
  encode_event(batch, event, meta, EncodingSpec{}, out);
  std::string json(out.data(), out.size());
  EXPECT_NE(json.find(R"("source.address":"10.0.0.1")"), std::string::npos) << json;
  EXPECT_EQ(json.find(R"("source":)"), std::string::npos) << json;
}

}  // namespace
}  // namespace sluice
