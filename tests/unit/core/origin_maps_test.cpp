// An origin's maps (pod labels and annotations, add_origin_map): keys with dots and slashes are
// written as they are in every encoding (never split into objects), inside the origin's
// `kubernetes` object, merged with a parsed one; dedotted on request; found by lookups; and the
// memo of layouts writes the same bytes as the general encoder.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/encode_memo.hpp"
#include "core/encoder.hpp"
#include "core/event_view.hpp"
#include "core/origin_maps.hpp"
#include "parse/event_parser.hpp"
#include "parse/framer.hpp"

namespace sluice {
namespace {

std::shared_ptr<Origin> pod_origin() {
  auto origin = std::make_shared<Origin>();
  origin->file_path = "/var/log/containers/web-0_shop_app-0123.log";
  origin->fields = {
      {"kubernetes.pod.name", "web-0"}, {"kubernetes.namespace", "shop"}, {"container.id", "0123"}};
  // Given out of order, with a key twice: sorted, the last value kept.
  add_origin_map(*origin, "kubernetes.labels",
                 {{"app.kubernetes.io/name", "web"},
                  {"app", "shop-web"},
                  {"team", "old"},
                  {"team", "payments"}});
  add_origin_map(*origin, "kubernetes.annotations", {{"example.com/owner", "ops \"blue\""}});
  return origin;
}

constexpr std::string_view kLabels =
    R"("labels":{"app":"shop-web","app.kubernetes.io/name":"web","team":"payments"})";
constexpr std::string_view kDedottedLabels =
    R"("labels":{"app":"shop-web","app_kubernetes_io/name":"web","team":"payments"})";
constexpr std::string_view kAnnotations = R"("annotations":{"example.com/owner":"ops \"blue\""})";

class OriginMaps : public ::testing::Test {
 protected:
  OriginMaps() {
    frame_text(batch_, "x\n");
    batch_.origin = pod_origin();
    event().offset = 7;
    event().timestamp_ns = 1;
  }
  Event& event() { return batch_.events[0]; }
  void add(std::string_view key, ValueKind kind, std::string_view text) {
    batch_.fields.push_back(Field{key, Value{kind, true, text}});
    event().first_field = 0;
    event().field_count = static_cast<uint32_t>(batch_.fields.size());
  }
  std::string encode(EncodingSpec spec = {}) {
    ByteBuffer out;
    encode_event(batch_, event(), meta_, spec, out);
    return std::string(out.view());
  }
  static size_t count(const std::string& text, std::string_view what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  }

  Batch batch_;
  SourceMeta meta_{"src", "node-1", false};
};

TEST_F(OriginMaps, AddMapSortsKeepsTheLastValueAndSkipsEmptyMaps) {
  Origin origin;
  add_origin_map(origin, "kubernetes.labels", {{"b", "1"}, {"a", "2"}, {"b", "3"}});
  add_origin_map(origin, "kubernetes.namespace_labels", {});
  ASSERT_EQ(origin.maps.size(), 1u);
  EXPECT_EQ(origin.maps[0].json, R"({"a":"2","b":"3"})");
  add_origin_map(origin, "kubernetes.labels", {{"c.d", "4"}});  // again: replaces
  ASSERT_EQ(origin.maps.size(), 1u);
  EXPECT_EQ(origin.maps[0].json, R"({"c.d":"4"})");
  EXPECT_EQ(origin.maps[0].json_dedot, R"({"c_d":"4"})");
  ASSERT_NE(origin.find_map("kubernetes.labels"), nullptr);
  EXPECT_EQ(origin.find_map("kubernetes.annotations"), nullptr);
}

TEST_F(OriginMaps, DedotKeepsOneOfTheKeysThatBecomeEqual) {
  Origin origin;
  add_origin_map(origin, "kubernetes.labels", {{"a.b", "dotted"}, {"a_b", "underscored"}});
  EXPECT_EQ(origin.maps[0].json, R"({"a.b":"dotted","a_b":"underscored"})");
  EXPECT_EQ(origin.maps[0].json_dedot, R"({"a_b":"dotted"})");
}

TEST_F(OriginMaps, JsonWritesTheKeysAsTheyAreInsideTheKubernetesObject) {
  add("message", ValueKind::String, "hello");
  const std::string json = encode();
  EXPECT_NE(json.find(std::string(R"("kubernetes":{"pod":{"name":"web-0"},"namespace":"shop",)") +
                      std::string(kLabels) + "," + std::string(kAnnotations) +
                      R"(},"container":{"id":"0123"})"),
            std::string::npos)
      << json;
  EXPECT_EQ(count(json, R"("kubernetes":)"), 1u) << json;
  EXPECT_EQ(json.find(R"("app.kubernetes.io":{)"), std::string::npos) << json;
}

TEST_F(OriginMaps, MapsWithNoFieldOfTheirObjectComeAfterTheFields) {
  auto origin = std::make_shared<Origin>();
  origin->fields = {{"container.id", "0123"}};
  add_origin_map(*origin, "kubernetes.labels", {{"app", "web"}});
  batch_.origin = origin;
  const std::string json = encode();
  EXPECT_NE(json.find(R"("container":{"id":"0123"},"kubernetes":{"labels":{"app":"web"}})"),
            std::string::npos)
      << json;
}

TEST_F(OriginMaps, DedotWritesUnderscoresInTheMapKeysOnly) {
  add("message", ValueKind::String, "hello");
  add("a.b", ValueKind::String, "parsed");
  const std::string json = encode(EncodingSpec{.dedot_map_keys = true});
  EXPECT_NE(json.find(kDedottedLabels), std::string::npos) << json;
  EXPECT_NE(json.find(R"("annotations":{"example_com/owner":"ops \"blue\""})"), std::string::npos)
      << json;
  EXPECT_NE(json.find(R"("kubernetes":{"pod":{"name":"web-0"})"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("a.b":"parsed")"), std::string::npos) << json;
  EXPECT_EQ(json.find("app.kubernetes.io"), std::string::npos) << json;
}

TEST_F(OriginMaps, MergedWithAParsedKubernetesObject) {
  add("kubernetes", ValueKind::Json, R"({"host":"n1"})");
  std::string json = encode();
  EXPECT_NE(json.find(std::string(R"("kubernetes":{"host":"n1","pod":{"name":"web-0"},)") +
                      R"("namespace":"shop",)" + std::string(kLabels) + "," +
                      std::string(kAnnotations) + "}"),
            std::string::npos)
      << json;
  EXPECT_EQ(count(json, R"("kubernetes":)"), 1u) << json;
  json = encode(EncodingSpec{.dedot_map_keys = true});
  EXPECT_NE(json.find(kDedottedLabels), std::string::npos) << json;
}

TEST_F(OriginMaps, ParsedLabelsWinOverTheOrigins) {
  add("kubernetes", ValueKind::Json, R"({"labels":{"app":"mine"}})");
  std::string json = encode();
  EXPECT_NE(json.find(R"("kubernetes":{"labels":{"app":"mine"},"pod":{"name":"web-0"},)"),
            std::string::npos)
      << json;
  EXPECT_EQ(count(json, R"("labels":)"), 1u) << json;
  EXPECT_NE(json.find(kAnnotations), std::string::npos) << json;
  // The same with a dotted parsed key (a logfmt line's `kubernetes.labels.app=mine`).
  batch_.fields.clear();
  add("kubernetes.labels.app", ValueKind::String, "mine");
  json = encode();
  EXPECT_EQ(count(json, R"("labels":)"), 1u) << json;
  EXPECT_NE(json.find(R"("labels":{"app":"mine"})"), std::string::npos) << json;
  EXPECT_NE(json.find(kAnnotations), std::string::npos) << json;
}

TEST_F(OriginMaps, AParsedKubernetesScalarReplacesTheMetadataMapsIncluded) {
  add("kubernetes", ValueKind::String, "none");
  const std::string json = encode();
  EXPECT_NE(json.find(R"("kubernetes":"none")"), std::string::npos) << json;
  EXPECT_EQ(json.find("labels"), std::string::npos) << json;
}

TEST_F(OriginMaps, TextWritesEachEntryAsAKeyValueField) {
  add("message", ValueKind::String, "hello");
  const std::string text = encode(EncodingSpec{.kind = EncodingSpec::Kind::Text});
  EXPECT_NE(text.find(" hello kubernetes.labels.app=shop-web "
                      "kubernetes.labels.app.kubernetes.io/name=web "
                      "kubernetes.labels.team=payments "
                      "kubernetes.annotations.example.com/owner=\"ops \\\"blue\\\"\"\n"),
            std::string::npos)
      << text;
  const std::string colored = encode(EncodingSpec{.kind = EncodingSpec::Kind::Text, .color = true});
  EXPECT_NE(colored.find("\x1b[36mkubernetes.labels.app\x1b[0m=shop-web"), std::string::npos)
      << colored;
}

TEST_F(OriginMaps, LookupsFindEntriesByQuotedOrPlainKey) {
  add("message", ValueKind::String, "hello");
  EventView view(batch_, event(), meta_);
  auto text_of = [&](std::string_view path) {
    const std::optional<Value> value = view.get(path);
    return value ? std::string(value->text) : std::string("<missing>");
  };
  EXPECT_EQ(text_of(R"(kubernetes.labels."app.kubernetes.io/name")"), "web");
  EXPECT_EQ(text_of("kubernetes.labels.app"), "shop-web");
  EXPECT_EQ(text_of(R"(kubernetes.labels."app")"), "shop-web");
  EXPECT_EQ(text_of(R"(kubernetes.annotations."example.com/owner")"), "ops \"blue\"");
  EXPECT_EQ(text_of(R"(kubernetes.labels."app.kubernetes.io")"), "<missing>");
  EXPECT_EQ(text_of(R"(kubernetes.labels."nope")"), "<missing>");
  EXPECT_EQ(text_of("kubernetes.labels"), R"({"app":"shop-web","app.kubernetes.io/name":"web",)"
                                          R"("team":"payments"})");
  EXPECT_EQ(text_of(R"(kubernetes."pod.name")"), "web-0");  // joined, it names the field
  EXPECT_EQ(text_of("kubernetes.pod.name"), "web-0");
}

TEST_F(OriginMaps, LookupsReadQuotedSegmentsOfParsedFields) {
  add("a.b", ValueKind::Number, "1");
  add("x", ValueKind::Json, R"({"a.b":{"c":2},"q\"k":3,"a":{"b":4}})");
  add("kubernetes", ValueKind::Json, R"({"pod":{"ip":"10.0.0.9"}})");
  EventView view(batch_, event(), meta_);
  auto text_of = [&](std::string_view path) {
    const std::optional<Value> value = view.get(path);
    return value ? std::string(value->text) : std::string("<missing>");
  };
  EXPECT_EQ(text_of(R"("a.b")"), "1");
  EXPECT_EQ(text_of("a.b"), "1");
  EXPECT_EQ(text_of(R"(x."a.b".c)"), "2");
  EXPECT_EQ(text_of(R"(x."a.b")"), R"({"c":2})");
  EXPECT_EQ(text_of("x.a.b"), "4");
  EXPECT_EQ(text_of(R"(x."q\"k")"), "3");
  // A parsed `kubernetes` object without labels: the origin's labels are still found.
  EXPECT_EQ(text_of(R"(kubernetes.labels."app.kubernetes.io/name")"), "web");
  EXPECT_EQ(text_of("kubernetes.pod.ip"), "10.0.0.9");
}

// Every event encoded with and without the memo, reset once as for one output of one batch.
std::pair<std::string, std::string> both(const Batch& batch, const SourceMeta& meta,
                                         EncodingSpec spec, EncodeMemo& memo) {
  ByteBuffer general, memoised;
  memo.reset();
  for (const Event& e : batch.events) {
    encode_event(batch, e, meta, spec, general);
    encode_event(batch, e, meta, spec, memoised, memo);
  }
  return {std::string(general.view()), std::string(memoised.view())};
}

TEST(OriginMapsMemo, SameBytesAsTheGeneralEncoderWithAndWithoutDedot) {
  Batch batch;
  batch.stream = "stdout";
  batch.origin = pod_origin();
  std::string text;
  for (int i = 0; i < 50; ++i) {
    text += R"({"level":"info","msg":"request )" + std::to_string(i) +
            R"(","status":200})"
            "\n";
    text += "level=warn msg=slow kubernetes.node=n" + std::to_string(i) + "\n";
    text += "plain line " + std::to_string(i) + "\n";
  }
  frame_text(batch, text);
  ParserOptions options;
  options.kind = ParserKind::Auto;
  std::string error;
  auto parser = EventParser::create(options, &error);
  ASSERT_TRUE(parser) << error;
  for (size_t i = 0; i < batch.events.size(); ++i) batch.events[i].offset = 1000 + 97 * i;
  parser->parse(batch, 1'700'000'000'000'000'000);
  const SourceMeta meta{"app", "node-1", false};
  for (bool dedot : {false, true}) {
    EncodeMemo memo;
    auto [general, memoised] = both(batch, meta, EncodingSpec{.dedot_map_keys = dedot}, memo);
    EXPECT_EQ(general, memoised) << "dedot " << dedot;
    EXPECT_GT(memo.hits(), 100u) << "dedot " << dedot;
    EXPECT_NE(general.find(dedot ? kDedottedLabels : kLabels), std::string::npos) << general;
    // The logfmt lines' `kubernetes.node` merges with the origin's `kubernetes` object.
    EXPECT_NE(general.find(R"("kubernetes":{"node":"n3","pod":{"name":"web-0"})"),
              std::string::npos)
        << general;
  }
}

}  // namespace
}  // namespace sluice
