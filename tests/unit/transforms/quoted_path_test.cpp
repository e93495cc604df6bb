// Field paths with a double-quoted segment (`kubernetes.labels."app.kubernetes.io/name"`, `"a.b"`,
// `x."a.b"`) in conditions, templates and remap, read against real events: an origin's label
// map and parsed fields whose keys hold dots.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/event_view.hpp"
#include "core/origin_maps.hpp"
#include "core/template.hpp"
#include "options/descriptor.hpp"
#include "options/map_reader.hpp"
#include "parse/framer.hpp"
#include "transforms/condition.hpp"
#include "transforms/remap.hpp"

namespace sluice {

const ComponentDescriptor& remap_transform_descriptor();  // src/transforms/remap.cpp

namespace {

class QuotedPaths : public ::testing::Test {
 protected:
  QuotedPaths() {
    frame_text(batch_, "x\n");
    auto origin = std::make_shared<Origin>();
    origin->fields = {{"kubernetes.pod.name", "web-0"}, {"kubernetes.namespace", "shop"}};
    add_origin_map(*origin, "kubernetes.labels",
                   {{"app", "shop-web"}, {"app.kubernetes.io/name", "web"}, {"say\"hi\\", "q"}});
    batch_.origin = origin;
    add("a.b", Value{ValueKind::Number, true, "1"});
    add("x", Value{ValueKind::Json, true, R"({"a.b":2,"c":{"d.e":"deep"}})"});
    add("message", Value{ValueKind::String, true, "hello"});
  }
  void add(std::string_view key, Value value) {
    batch_.fields.push_back(Field{key, value});
    batch_.events[0].field_count = static_cast<uint32_t>(batch_.fields.size());
  }
  bool eval(std::string_view expression) {
    std::string error;
    auto condition = Condition::compile(expression, &error);
    EXPECT_NE(condition, nullptr) << expression << ": " << error;
    if (!condition) return false;
    return condition->matches(EventView(batch_, batch_.events[0], meta_));
  }
  static std::string error_of(std::string_view expression) {
    std::string error;
    EXPECT_EQ(Condition::compile(expression, &error), nullptr) << expression;
    return error;
  }

  Batch batch_;
  SourceMeta meta_{"src", "node-1", false};
};

TEST_F(QuotedPaths, ConditionsReadLabelMapsByQuotedKey) {
  EXPECT_TRUE(eval(R"(kubernetes.labels."app.kubernetes.io/name" == "web")"));
  EXPECT_FALSE(eval(R"(kubernetes.labels."app.kubernetes.io/name" == "shop-web")"));
  EXPECT_TRUE(eval(R"(kubernetes.labels.app == "shop-web")"));
  EXPECT_TRUE(eval(R"(kubernetes.labels."app" == shop-web)"));
  EXPECT_TRUE(eval(R"(kubernetes.labels."say\"hi\\" == q)"));
  EXPECT_TRUE(eval(R"(kubernetes.labels."app.kubernetes.io/name" exists)"));
  EXPECT_FALSE(eval(R"(kubernetes.labels."app.kubernetes.io" exists)"));
  EXPECT_TRUE(eval(R"(kubernetes.labels."nope" != web)"));
  EXPECT_TRUE(eval(R"(not kubernetes.labels."team" exists and kubernetes.pod.name == web-0)"));
  EXPECT_TRUE(eval(R"((kubernetes.labels."app.kubernetes.io/name"=~^we))"));
}

TEST_F(QuotedPaths, ConditionsReadParsedKeysWithDots) {
  EXPECT_TRUE(eval(R"("a.b" == 1)"));
  EXPECT_TRUE(eval("a.b == 1"));  // a parsed top-level key is matched as written, as before
  EXPECT_TRUE(eval(R"(x."a.b" == 2)"));
  EXPECT_FALSE(eval(R"(x.a.b == 2)"));  // unquoted, that is x → a → b
  EXPECT_TRUE(eval(R"(x.c."d.e" == deep)"));
  EXPECT_TRUE(eval(R"("message" == hello)"));  // quoted plain names are the plain names
}

TEST_F(QuotedPaths, ConditionErrorsSayWhereTheQuoteIs) {
  EXPECT_EQ(error_of(R"(kubernetes.labels."app == web)"),
            "column 19: unterminated quoted name in field path, expected a closing \"");
  EXPECT_EQ(error_of(R"(level == info and "a.b == 1)"),
            "column 19: unterminated quoted name in field path, expected a closing \"");
  EXPECT_NE(error_of(R"(labels."a\x" == 1)").find("column 10: in a quoted name"),
            std::string::npos);
  EXPECT_NE(error_of(R"(labels."" == 1)").find("column 8: empty quoted name"), std::string::npos);
  EXPECT_NE(error_of(R"(labels"a" == 1)").find("column 7: a quoted name in a field path must"),
            std::string::npos);
  EXPECT_NE(error_of(R"(labels."a"b == 1)").find("column 11: expected '.' after the quoted"),
            std::string::npos);
}

TEST_F(QuotedPaths, TemplatesReadQuotedSegments) {
  std::string error;
  auto t = Template::parse(R"(logs-{{ kubernetes.labels."app.kubernetes.io/name" }}-{{ "a.b" }})",
                           &error);
  ASSERT_TRUE(t) << error;
  ByteBuffer out;
  EXPECT_TRUE(
      t->render(EventView(batch_, batch_.events[0], meta_), 0, Template::RenderOptions{}, out));
  EXPECT_EQ(out.view(), "logs-web-1");
  // `}}` inside a quoted name does not close the placeholder.
  auto braces = Template::parse(R"({{ x."}}" }})", &error);
  ASSERT_TRUE(braces) << error;
  EXPECT_FALSE(braces->is_static());
  EXPECT_FALSE(Template::parse(R"(a-{{ labels."app }}-b)", &error));
  EXPECT_NE(error.find("unterminated quoted name"), std::string::npos) << error;
  EXPECT_NE(error.find("at character 8"), std::string::npos) << error;
}

std::unique_ptr<Transform> remap_from(const std::string& yaml) {
  YAML::Node node = YAML::Load(yaml);
  MapReader reader(node, "transform `r`", "test.yaml",
                   [](const std::string&) -> std::optional<std::string> { return std::nullopt; });
  return remap_transform_descriptor().make_transform(reader, "r");
}

TEST_F(QuotedPaths, RemapNamesKeysWithDotsByQuotedSegments) {
  // `"a.b"` is the key a.b; `x."y.z"` the flat key x.y.z.
  auto remap = remap_from(R"(rename: {'"a.b"': 'renamed."c.d"'}
remove: ['"message"']
add: {'"e.f"': 1})");
  std::vector<Event> out;
  remap->apply(batch_, meta_, std::span<const Event>(batch_.events), out);
  ASSERT_EQ(out.size(), 1u);
  EventView view(batch_, out[0], meta_);
  ASSERT_TRUE(view.get("renamed.c.d"));
  EXPECT_EQ(view.get("renamed.c.d")->text, "1");
  EXPECT_FALSE(view.get("a.b"));
  EXPECT_FALSE(view.get("message"));
  ASSERT_TRUE(view.get(R"("e.f")"));
  EXPECT_EQ(view.get(R"("e.f")")->text, "1");
  try {
    remap_from(R"(remove: ['labels."app'])");
    ADD_FAILURE() << "an unterminated quote must be a config error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("unterminated quoted name"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace sluice
