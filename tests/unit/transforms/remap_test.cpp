#include "transforms/remap.hpp"

#include <gtest/gtest.h>

#include "core/encoder.hpp"
#include "parse/event_parser.hpp"
#include "sluice/source_meta.hpp"
#include "support/batch.hpp"

namespace sluice {
namespace {

std::string apply_remap(const std::string& line, RemapOptions options, std::string* original) {
  Batch batch;
  testing::fill_batch(batch, {line});
  batch.stream = "stdout";
  std::string error;
  EventParser::create(ParserOptions{}, &error)->parse(batch, 0);
  SourceMeta meta{"app", "h", false};
  RemapTransform remap(std::move(options));
  std::vector<Event> out;
  remap.apply(batch, meta, batch.events, out);
  ByteBuffer a, b;
  encode_event(batch, out[0], meta, EncodingSpec{}, a);
  encode_event(batch, batch.events[0], meta, EncodingSpec{}, b);
  *original = std::string(b.view());
  return std::string(a.view());
}

TEST(Remap, RenameRemoveAddInOrder) {
  RemapOptions o;
  o.rename.emplace_back("msg", "message");
  o.rename.emplace_back("stream", "channel");
  o.remove = {"pid", "host.name"};
  o.add.emplace_back("env", typed_scalar("prod", false));
  o.add.emplace_back("count", typed_scalar("3", false));
  o.add.emplace_back("quoted", typed_scalar("3", true));
  std::string original;
  std::string out = apply_remap(R"({"msg":"hi","pid":7,"@timestamp":"2024-01-01T00:00:00Z"})",
                                std::move(o), &original);
  EXPECT_EQ(out,
            R"({"@timestamp":"2024-01-01T00:00:00.000000000Z","message":"hi","channel":"stdout",)"
            R"("env":"prod","count":3,"quoted":"3","source":"app"})"
            "\n");
  // The event the remap was given is unchanged (a sibling branch may still use it).
  EXPECT_NE(original.find(R"("msg":"hi","pid":7)"), std::string::npos);
  EXPECT_NE(original.find(R"("host":{"name":"h"})"), std::string::npos);
}

TEST(Remap, AddReplacesExistingField) {
  RemapOptions o;
  o.add.emplace_back("level", typed_scalar("warn", false));
  std::string original;
  std::string out = apply_remap(R"({"level":"info"})", std::move(o), &original);
  EXPECT_EQ(out.find("\"info\""), std::string::npos);
  EXPECT_NE(out.find(R"("level":"warn")"), std::string::npos);
}

TEST(Remap, AddingOrRenamingOntoMetadataReplacesIt) {
  auto count = [](const std::string& text, const std::string& key) {
    size_t n = 0;
    for (size_t at = text.find(key); at != std::string::npos; at = text.find(key, at + 1)) ++n;
    return n;
  };
  RemapOptions o;
  o.rename.emplace_back("when", "@timestamp");
  o.add.emplace_back("source", typed_scalar("other", false));
  o.add.emplace_back("host.name", typed_scalar("h2", false));
  o.add.emplace_back("stream", typed_scalar("s2", false));
  std::string original;
  std::string out = apply_remap(R"({"when":"noon","msg":"m"})", std::move(o), &original);
  EXPECT_EQ(count(out, R"("@timestamp":)"), 1u) << out;
  EXPECT_NE(out.find(R"("@timestamp":"noon")"), std::string::npos) << out;
  EXPECT_EQ(count(out, R"("source":)"), 1u) << out;
  EXPECT_EQ(count(out, R"("stream":)"), 1u) << out;
  // A dotted key under a metadata object is written inside that object, in place of its member.
  EXPECT_NE(out.find(R"("host":{"name":"h2"})"), std::string::npos) << out;
  EXPECT_EQ(count(out, R"("host":)"), 1u) << out;
}

TEST(Remap, TypedScalars) {
  EXPECT_EQ(typed_scalar("-1.5e3", false).kind, ValueKind::Number);
  EXPECT_EQ(typed_scalar("007", false).kind, ValueKind::String);
  EXPECT_EQ(typed_scalar("true", false).kind, ValueKind::Bool);
  EXPECT_EQ(typed_scalar("null", false).kind, ValueKind::Null);
  EXPECT_EQ(typed_scalar("1.", false).kind, ValueKind::String);
  EXPECT_EQ(typed_scalar("true", true).kind, ValueKind::String);
}

}  // namespace
}  // namespace sluice
