// Building `_bulk` bodies: action lines (index/create, _index, _id), event lines, the trailing
// newline, index name sanitising, event ids as base64url, the target.
#include "sinks/elasticsearch/bulk_request.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "base/json_writer.hpp"

namespace sluice::es {
namespace {

// A batch as the workers make it: events ending in '\n', `per_event` renderings per event.
std::unique_ptr<EncodedBatch> make_batch(const std::vector<std::string>& events,
                                         const std::vector<std::vector<std::string>>& rendered = {},
                                         const std::vector<EventId>& ids = {}) {
  auto batch = std::make_unique<EncodedBatch>();
  for (size_t i = 0; i < events.size(); ++i) {
    batch->data.append(events[i]);
    batch->data.push_back('\n');
    batch->ends.push_back(static_cast<uint32_t>(batch->data.size()));
    if (!rendered.empty()) {
      for (const std::string& value : rendered[i]) {
        batch->rendered.append(value);
        batch->rendered_ends.push_back(static_cast<uint32_t>(batch->rendered.size()));
      }
    }
  }
  batch->templates_per_event = rendered.empty() ? 0 : static_cast<uint32_t>(rendered[0].size());
  batch->ids = ids;
  return batch;
}

std::string build(BulkBodyBuilder& builder, const EncodedBatch& batch) {
  ByteBuffer body;
  for (size_t i = 0; i < batch.count(); ++i) builder.append(body, batch, i);
  return std::string(body.view());
}

TEST(EsBulkRequest, IndexActionsWithStaticIndexAndNoIds) {
  ActionSpec spec;
  spec.static_index = "logs";
  spec.id = IdMode::None;
  BulkBodyBuilder builder(spec);
  auto batch = make_batch({R"({"a":1})", R"({"b":"x"})"});
  EXPECT_EQ(build(builder, *batch),
            "{\"index\":{\"_index\":\"logs\"}}\n{\"a\":1}\n"
            "{\"index\":{\"_index\":\"logs\"}}\n{\"b\":\"x\"}\n");
}

TEST(EsBulkRequest, CreateActionsWithAutoIds) {
  ActionSpec spec;
  spec.action = Action::Create;
  spec.static_index = "logs-app";
  spec.id = IdMode::Auto;
  BulkBodyBuilder builder(spec);
  EventId id{0x0001020304050607, 0x08090a0b0c0d0e0f};
  auto batch = make_batch({R"({"a":1})"}, {}, {id});
  // Bytes 00..0f in base64url without padding.
  EXPECT_EQ(build(builder, *batch),
            "{\"create\":{\"_index\":\"logs-app\",\"_id\":\"AAECAwQFBgcICQoLDA0ODw\"}}\n"
            "{\"a\":1}\n");
}

TEST(EsBulkRequest, EventIdIsBigEndianBase64Url) {
  char out[kEventIdChars];
  format_event_id(EventId{~0ULL, ~0ULL}, out);
  EXPECT_EQ(std::string(out, kEventIdChars), "_____________________w");
  format_event_id(EventId{0, 0}, out);
  EXPECT_EQ(std::string(out, kEventIdChars), "AAAAAAAAAAAAAAAAAAAAAA");
  // hi first: 0xfb ff ... gives "-_"-range characters (base64url, not '+' '/').
  format_event_id(EventId{0xfbff000000000000, 1}, out);
  EXPECT_EQ(std::string(out, kEventIdChars), "-_8AAAAAAAAAAAAAAAAAAQ");
}

TEST(EsBulkRequest, RenderedIndexAndIdTemplate) {
  ActionSpec spec;
  spec.index_slot = 0;
  spec.default_index = "logs-unknown";
  spec.id = IdMode::Template;
  spec.id_slot = 1;
  BulkBodyBuilder builder(spec);
  std::string missing(kMissingField);
  auto batch =
      make_batch({"{}", "{}", "{}"},
                 {{"logs-Web App", "r\"1"}, {"logs-" + missing, "r2"}, {"logs-db", missing}});
  EXPECT_EQ(build(builder, *batch),
            "{\"index\":{\"_index\":\"logs-web_app\",\"_id\":\"r\\\"1\"}}\n{}\n"
            "{\"index\":{\"_index\":\"logs-unknown\",\"_id\":\"r2\"}}\n{}\n"
            "{\"index\":{\"_index\":\"logs-db\"}}\n{}\n");
  EXPECT_EQ(builder.index_of(*batch, 0), "logs-web_app");
  EXPECT_EQ(builder.index_of(*batch, 1), "logs-unknown");
}

TEST(EsBulkRequest, IndexNamesAreSanitised) {
  auto sanitise = [](std::string_view name) {
    ByteBuffer out;
    out.append("x:");
    bool ok = append_index_name(out, name);
    return ok ? std::string(out.view()) : "<none>:" + std::string(out.view());
  };
  EXPECT_EQ(sanitise("Logs/2024*?\"<>|,#: \\x"), "x:logs_2024___________x");
  EXPECT_EQ(sanitise("-_+abc"), "x:abc");
  EXPECT_EQ(sanitise("__"), "<none>:x:");
  EXPECT_EQ(sanitise(".."), "<none>:x:");
  EXPECT_EQ(sanitise(""), "<none>:x:");
  EXPECT_EQ(sanitise("a\x01"
                     "b"),
            "x:a_b");
  EXPECT_EQ(sanitise("journal-\xc3\xa9t\xc3\xa9"), "x:journal-\xc3\xa9t\xc3\xa9");  // UTF-8 kept
  EXPECT_EQ(sanitise("bad-\xc3("), "x:bad-_(");                                     // invalid: _
  EXPECT_EQ(sanitise("ok-\xc3\xa9-\xff-\xe6\x97"), "x:ok-\xc3\xa9-_-__");  // only bad bytes
  // Elasticsearch wants names that lowercasing does not change, in all of Unicode.
  EXPECT_EQ(sanitise("LOGS-\xc3\x84\xc3\x96-\xd0\x94"),
            "x:logs-\xc3\xa4\xc3\xb6-\xd0\xb4");      // ÄÖ Д
  EXPECT_EQ(sanitise("\xc8\xba"), "x:\xe2\xb1\xa5");  // Ⱥ -> ⱥ grows from 2 to 3 bytes
  EXPECT_EQ(sanitise("\xc4\xb0x"), "x:ix");           // İ
  EXPECT_FALSE(is_valid_index_name("logs-\xc3\x84"));
  EXPECT_TRUE(is_valid_index_name("logs-\xc3\xa4"));
  // 255 bytes is a name; longer ones keep 240 bytes (not half a character), `-`, a hash.
  EXPECT_EQ(sanitise(std::string(255, 'a')), "x:" + std::string(255, 'a'));
  std::string longest = sanitise(std::string(300, 'a'));
  EXPECT_EQ(longest.size(), 2 + 249u);
  EXPECT_EQ(longest.substr(0, 2 + 241), "x:" + std::string(240, 'a') + "-");
  EXPECT_NE(sanitise(std::string(300, 'a')), sanitise(std::string(301, 'a')));
  std::string straddling = std::string(239, 'a') + "\xc3\xa9" + std::string(100, 'b');
  EXPECT_EQ(sanitise(straddling).substr(0, 2 + 240), "x:" + std::string(239, 'a') + "-");
  // A name that lowercasing makes longer is measured after lowercasing.
  std::string growing;
  for (int k = 0; k < 100; ++k) growing += "\xc8\xba";  // 200 bytes, 300 once lowercased
  std::string grown = sanitise(growing);
  EXPECT_EQ(grown.size(), 2 + 249u);
  EXPECT_TRUE(is_valid_utf8(grown));
  EXPECT_TRUE(is_valid_index_name("logs-2024.01.02"));
  EXPECT_FALSE(is_valid_index_name("Logs"));
  EXPECT_FALSE(is_valid_index_name("_logs"));
  EXPECT_FALSE(is_valid_index_name("a b"));
}

TEST(EsBulkRequest, EventWithoutNewlineStillEndsTheBody) {
  ActionSpec spec;
  spec.static_index = "i";
  spec.id = IdMode::None;
  BulkBodyBuilder builder(spec);
  EncodedBatch batch;
  batch.data.append("{\"a\":1}");  // no trailing newline
  batch.ends.push_back(static_cast<uint32_t>(batch.data.size()));
  ByteBuffer body;
  builder.append(body, batch, 0);
  EXPECT_EQ(body.view(), "{\"index\":{\"_index\":\"i\"}}\n{\"a\":1}\n");
}

TEST(EsBulkRequest, TargetWithPipeline) {
  EXPECT_EQ(bulk_target(""), "/_bulk");
  EXPECT_EQ(bulk_target("my-pipeline"), "/_bulk?pipeline=my-pipeline");
  EXPECT_EQ(bulk_target("a b&c"), "/_bulk?pipeline=a%20b%26c");
}

TEST(EsBulkRequest, AppendingReusesTheBuffer) {
  ActionSpec spec;
  spec.static_index = "logs";
  BulkBodyBuilder builder(spec);
  auto batch = make_batch({R"({"a":1})", R"({"a":2})"}, {}, {EventId{1, 2}, EventId{3, 4}});
  ByteBuffer body;
  for (int round = 0; round < 2; ++round) {
    body.clear();
    for (size_t i = 0; i < batch->count(); ++i) builder.append(body, *batch, i);
  }
  const char* data = body.data();
  size_t capacity = body.capacity();
  body.clear();
  for (size_t i = 0; i < batch->count(); ++i) builder.append(body, *batch, i);
  EXPECT_EQ(body.data(), data);  // no reallocation once warm
  EXPECT_EQ(body.capacity(), capacity);
}

}  // namespace
}  // namespace sluice::es
