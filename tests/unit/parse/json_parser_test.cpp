#include "parse/json_parser.hpp"

#include <gtest/gtest.h>

#include <string>

#include "sluice/byte_buffer.hpp"

namespace sluice {
namespace {

struct Parsed {
  bool ok;
  std::vector<Field> fields;
};

// Keeps the padded line alive for the views in `fields`.
class JsonParserTest : public ::testing::Test {
 protected:
  Parsed parse(const std::string& line) {
    buffer_.clear();
    buffer_.reserve(line.size() + 64);
    buffer_.append(line);
    std::vector<Field> fields;
    bool ok = parse_json_object(std::string_view(buffer_.data(), line.size()), buffer_.capacity(),
                                arena_, fields);
    return {ok, fields};
  }
  ByteBuffer buffer_;
  Arena arena_;
};

TEST_F(JsonParserTest, TopLevelMembersBecomeFields) {
  Parsed p = parse(R"({"level":"info","n":42,"f":1.5e3,"ok":true,"none":null})");
  ASSERT_TRUE(p.ok);
  ASSERT_EQ(p.fields.size(), 5u);
  EXPECT_EQ(p.fields[0].key, "level");
  EXPECT_EQ(p.fields[0].value.kind, ValueKind::String);
  EXPECT_EQ(p.fields[0].value.text, "info");
  EXPECT_EQ(p.fields[1].value.kind, ValueKind::Number);
  EXPECT_EQ(p.fields[1].value.text, "42");
  EXPECT_EQ(p.fields[2].value.text, "1.5e3");
  EXPECT_EQ(p.fields[3].value.kind, ValueKind::Bool);
  EXPECT_EQ(p.fields[4].value.kind, ValueKind::Null);
}

TEST_F(JsonParserTest, EscapedStringsAreUnescaped) {
  Parsed p = parse(R"({"k\"ey":"a\"b\\c\n\u00e9"})");
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.fields[0].key, "k\"ey");
  EXPECT_EQ(p.fields[0].value.text, "a\"b\\c\n\xC3\xA9");
}

TEST_F(JsonParserTest, NestedValuesAreCompactedJson) {
  Parsed p = parse(R"({"o": { "a" : [1, 2 , {"b":"x\"y"}] , "e":{}}})");
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.fields[0].value.kind, ValueKind::Json);
  EXPECT_EQ(p.fields[0].value.text, R"({"a":[1,2,{"b":"x\"y"}],"e":{}})");
}

TEST_F(JsonParserTest, SurroundingWhitespaceIsAllowed) { EXPECT_TRUE(parse("  {\"a\":1}  ").ok); }

TEST_F(JsonParserTest, RejectsWhatIsNotOneObject) {
  for (const char* bad :
       {"", "[1,2]", "\"str\"", "42", "{\"a\":", "{\"a\":1", "{\"a\":1} trailing", "{\"a\":1}{}",
        "{a:1}", "{\"a\":tru}", "{\"a\":01}", "{\"a\":\"\xff\"}", "{\"a\":[1,2}"}) {
    Parsed p = parse(bad);
    EXPECT_FALSE(p.ok) << bad;
    EXPECT_TRUE(p.fields.empty()) << bad;
  }
}

// The fields that are left (a duplicate key's earlier fields are removed: null key).
std::vector<Field> live(const std::vector<Field>& fields) {
  std::vector<Field> out;
  for (const Field& f : fields) {
    if (f.key.data() != nullptr) out.push_back(f);
  }
  return out;
}

TEST_F(JsonParserTest, DuplicateKeysKeepTheLastValue) {
  Parsed p = parse(R"({"a":1,"b":"x","a":2})");
  ASSERT_TRUE(p.ok);
  auto fields = live(p.fields);
  ASSERT_EQ(fields.size(), 2u);
  EXPECT_EQ(fields[0].key, "b");
  EXPECT_EQ(fields[1].key, "a");
  EXPECT_EQ(fields[1].value.text, "2");
}

TEST_F(JsonParserTest, KeysEqualAfterUnescapingAreDuplicates) {
  Parsed p = parse(R"({"a":1,"\u0061":2,"k\"":3,"k\u0022":4,"":5,"":6})");
  ASSERT_TRUE(p.ok);
  auto fields = live(p.fields);
  ASSERT_EQ(fields.size(), 3u);
  EXPECT_EQ(fields[0].key, "a");
  EXPECT_EQ(fields[0].value.text, "2");
  EXPECT_EQ(fields[1].key, "k\"");
  EXPECT_EQ(fields[1].value.text, "4");
  EXPECT_EQ(fields[2].key, "");
  EXPECT_EQ(fields[2].value.text, "6");
}

TEST_F(JsonParserTest, NestedDuplicateKeysKeepTheLastValue) {
  Parsed p = parse(
      R"({"o":{"b":1,"c":[{"e":1,"e":{"f":1,"f":2}},{"e":3}],"b":{"d":1,"\u0064":2},"g":0}})");
  ASSERT_TRUE(p.ok);
  ASSERT_EQ(p.fields.size(), 1u);
  EXPECT_EQ(p.fields[0].value.text, R"({"c":[{"e":{"f":2}},{"e":3}],"b":{"d":2},"g":0})");
}

TEST_F(JsonParserTest, ManyKeysAreDeduplicatedByHashing) {
  // More keys than the small-object filter takes: every key twice, then once more.
  std::string line = "{";
  for (int round = 0; round < 3; ++round) {
    for (int k = 0; k < 500; ++k) {
      line += "\"k" + std::to_string(k) + "\":" + std::to_string(round) + ",";
    }
  }
  line += "\"nested\":{";
  for (int k = 0; k < 100; ++k) line += "\"n\":" + std::to_string(k) + ",";
  line += "\"n\":\"last\"}}";
  Parsed p = parse(line);
  ASSERT_TRUE(p.ok);
  auto fields = live(p.fields);
  ASSERT_EQ(fields.size(), 501u);
  for (int k = 0; k < 500; ++k) {
    EXPECT_EQ(fields[k].key, "k" + std::to_string(k));
    EXPECT_EQ(fields[k].value.text, "2");
  }
  EXPECT_EQ(fields[500].value.text, R"({"n":"last"})");
}

TEST_F(JsonParserTest, NumbersBeyondDoubleRangeAreKeptAsWritten) {
  Parsed p =
      parse(R"({"inf":1e999999,"neg":-1e400,"tiny":1e-999999,"big":123456789012345678901234567890,)"
            R"("u":18446744073709551616,"i":-9223372036854775809,"E":2E+9999 ,)"
            R"("o":{"x":[1e999999, -1E400]}})");
  ASSERT_TRUE(p.ok);
  ASSERT_EQ(p.fields.size(), 8u);
  const char* expected[] = {"1e999999",
                            "-1e400",
                            "1e-999999",
                            "123456789012345678901234567890",
                            "18446744073709551616",
                            "-9223372036854775809",
                            "2E+9999",
                            R"({"x":[1e999999,-1E400]})"};
  for (size_t i = 0; i < 7; ++i) {
    EXPECT_EQ(p.fields[i].value.kind, ValueKind::Number) << i;
    EXPECT_EQ(p.fields[i].value.text, expected[i]);
  }
  EXPECT_EQ(p.fields[7].value.text, expected[7]);
}

TEST_F(JsonParserTest, IntegersOfHundredsOfDigitsAreKeptAsWritten) {
  const std::string digits(400, '9');
  Parsed p = parse(R"({"n":)" + digits + R"(,"o":[-)" + digits + "]}");
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.fields[0].value.text, digits);
  EXPECT_EQ(p.fields[1].value.text, "[-" + digits + "]");
}

TEST_F(JsonParserTest, MalformedNumbersStillFail) {
  for (const char* bad : {R"({"a":1e999999x})", R"({"a":1e})", R"({"a":-})", R"({"a":1.e5})",
                          R"({"a":01e999})", R"({"a":+1e999})", R"({"o":[1e999.5]})"}) {
    Parsed p = parse(bad);
    EXPECT_FALSE(p.ok) << bad;
  }
}

TEST_F(JsonParserTest, FindsNestedPath) {
  Value v;
  Arena arena;
  ASSERT_TRUE(find_json_path(R"({"pod":{"name":"web-1","n":3}})", "pod.name", arena, &v));
  EXPECT_EQ(v.text, "web-1");
  ASSERT_TRUE(find_json_path(R"({"pod":{"name":"web-1","n":3}})", "pod.n", arena, &v));
  EXPECT_EQ(v.kind, ValueKind::Number);
  EXPECT_FALSE(find_json_path(R"({"pod":{"name":"web-1"}})", "pod.missing", arena, &v));
}

}  // namespace
}  // namespace sluice
