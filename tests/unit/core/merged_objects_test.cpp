// Parsed fields and metadata that share an ECS object (`log`, `host`, `process`, `kubernetes`,
// ...) are written as one object: the metadata is merged in, never silently dropped.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "core/encoder.hpp"
#include "core/event_view.hpp"
#include "parse/framer.hpp"

namespace sluice {
namespace {

class MergedObjects : public ::testing::Test {
 protected:
  MergedObjects() {
    frame_text(batch_, "x\n");
    auto origin = std::make_shared<Origin>();
    origin->file_path = "/var/log/app.log";
    origin->fields = {{"kubernetes.pod.name", "web"}, {"kubernetes.namespace", "shop"}};
    batch_.origin = origin;
    event().offset = 7;
    event().timestamp_ns = 1;
  }
  Event& event() { return batch_.events[0]; }
  void add(std::string_view key, ValueKind kind, std::string_view text) {
    batch_.fields.push_back(Field{key, Value{kind, true, text}});
    event().first_field = 0;
    event().field_count = static_cast<uint32_t>(batch_.fields.size());
  }
  std::string encode() {
    ByteBuffer out;
    encode_event(batch_, event(), meta_, EncodingSpec{}, out);
    return std::string(out.view());
  }
  static size_t count(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  }

  Batch batch_;
  SourceMeta meta_{"src", "node-1", false};
};

TEST_F(MergedObjects, DottedTextFieldsNestBesideTheMetadata) {
  add("message", ValueKind::String, "started");
  add("log.logger", ValueKind::String, "org.Foo");
  add("process.pid", ValueKind::Number, "12");
  add("process.thread.name", ValueKind::String, "main");
  add("host.hostname", ValueKind::String, "combo");
  const std::string json = encode();
  EXPECT_NE(
      json.find(R"("log":{"logger":"org.Foo","file":{"path":"/var/log/app.log"},"offset":7})"),
      std::string::npos)
      << json;
  EXPECT_NE(json.find(R"("process":{"pid":12,"thread":{"name":"main"}})"), std::string::npos)
      << json;
  EXPECT_NE(json.find(R"("host":{"hostname":"combo","name":"node-1"})"), std::string::npos) << json;
  EXPECT_EQ(count(json, R"("log":)"), 1u) << json;
  EXPECT_EQ(count(json, R"("host":)"), 1u) << json;
}

TEST_F(MergedObjects, ParsedJsonObjectsKeepTheMetadata) {
  // `{"host":{"ip":"10.0.0.1"},"log":{"level":"info"},"kubernetes":{"labels":{"app":"a"}}}`
  add("host", ValueKind::Json, R"({"ip":"10.0.0.1"})");
  add("log", ValueKind::Json, R"({"level":"info"})");
  add("kubernetes", ValueKind::Json, R"({"labels":{"app":"a"}})");
  const std::string json = encode();
  EXPECT_NE(json.find(R"("host":{"ip":"10.0.0.1","name":"node-1"})"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("log":{"level":"info","file":{"path":"/var/log/app.log"},"offset":7})"),
            std::string::npos)
      << json;
  EXPECT_NE(
      json.find(R"("kubernetes":{"labels":{"app":"a"},"pod":{"name":"web"},"namespace":"shop"})"),
      std::string::npos)
      << json;
  EXPECT_EQ(count(json, R"("host":)"), 1u) << json;
  EXPECT_EQ(count(json, R"("log":)"), 1u) << json;
  EXPECT_EQ(count(json, R"("kubernetes":)"), 1u) << json;
}

TEST_F(MergedObjects, TheLinesOwnMemberWins) {
  add("host", ValueKind::Json, R"({"name":"from-the-line","n":{"x":[1,"]"]}})");
  add("log.offset", ValueKind::Number, "99");
  const std::string json = encode();
  EXPECT_NE(json.find(R"("host":{"name":"from-the-line","n":{"x":[1,"]"]}})"), std::string::npos)
      << json;
  EXPECT_EQ(json.find("node-1"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("log":{"offset":99,"file":{"path":"/var/log/app.log"}})"),
            std::string::npos)
      << json;
}

TEST_F(MergedObjects, SharedPathsOpenEachObjectOnce) {
  // Not adjacent in the line: sorted before nesting, so `origin` is one object.
  add("log.origin.file", ValueKind::String, "a.go");
  add("log.logger", ValueKind::String, "x");
  add("log.origin.line", ValueKind::Number, "3");
  const std::string json = encode();
  EXPECT_NE(json.find(R"("log":{"logger":"x","origin":{"file":"a.go","line":3},"file":)"),
            std::string::npos)
      << json;
  EXPECT_EQ(count(json, R"("origin":)"), 1u) << json;
}

TEST_F(MergedObjects, AMemberUnderAnotherKeepsItsDottedName) {
  // `a` is a value and a path: the members under `a` cannot nest without writing `a` twice.
  add("process.a", ValueKind::Number, "1");
  add("process.a.b", ValueKind::Number, "2");
  add("process.c.d", ValueKind::Number, "3");
  const std::string json = encode();
  EXPECT_NE(json.find(R"("process":{"a":1,"a.b":2,"c":{"d":3}})"), std::string::npos) << json;
}

TEST_F(MergedObjects, AParsedScalarStillReplacesTheMetadata) {
  add("host", ValueKind::String, "web1");
  const std::string json = encode();
  EXPECT_NE(json.find(R"("host":"web1")"), std::string::npos) << json;
  EXPECT_EQ(json.find("node-1"), std::string::npos) << json;
  EXPECT_EQ(count(json, R"("host":)"), 1u) << json;
}

TEST_F(MergedObjects, LookupsFallThroughToTheMergedMetadata) {
  add("host", ValueKind::Json, R"({"hostname":"combo"})");
  EventView view(batch_, event(), meta_);
  ASSERT_TRUE(view.get("host.name").has_value());
  EXPECT_EQ(view.get("host.name")->text, "node-1");
  EXPECT_EQ(view.get("host.hostname")->text, "combo");
  EXPECT_EQ(view.get("log.file.path")->text, "/var/log/app.log");
  EXPECT_FALSE(view.get("host.missing").has_value());
}

}  // namespace
}  // namespace sluice
