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
