// The worker hot path (parse, timestamp, filter, remap, encode) allocates nothing per event
// once a batch's buffers have warmed up. A separate binary, because it replaces the global
// operator new to count allocations.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "core/encoder.hpp"
#include "parse/event_parser.hpp"
#include "parse/framer.hpp"
#include "transforms/condition.hpp"
#include "transforms/filter.hpp"
#include "transforms/remap.hpp"

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace sluice {
namespace {

std::string corpus() {
  std::string text;
  for (int i = 0; i < 2000; ++i) {
    switch (i % 4) {
      case 0:
        text += R"({"time":"2024-05-01T12:00:00.)" + std::to_string(100 + i % 900) +
                R"(+02:00","level":"warn","msg":"slow \"request\"","n":)" + std::to_string(i) +
                R"(,"nested":{"pod":{"name":"web-)" + std::to_string(i % 7) + R"("}},"ok":true})";
        break;
      case 1:
        text += "ts=1714564802123 level=info msg=\"cache miss\" key=k" + std::to_string(i);
        break;
      case 2:
        text += "plain text line number " + std::to_string(i) + " with caf\xC3\xA9 and \xFF bad";
        break;
      default:
        if (i % 8 == 3) {
          // Repeated keys (top level, nested, many) and numbers beyond double range.
          text += R"({"level":"info","n":1e999999,"o":{"k":1,"k":[{"a":1,"a":2}]},"level":"warn")";
          for (int k = 0; k < 40; ++k) text += ",\"k" + std::to_string(k % 30) + "\":-1e400";
          text += "}";
        } else {
          text += R"({"broken": )" + std::to_string(i);
        }
    }
    text += '\n';
  }
  return text;
}

// Runs one batch through what a worker does with it, for one source with two branches.
void run_hot_path(Batch& batch, const std::string& text, const EventParser& parser,
                  const Transform& filter, const Transform& remap, std::vector<Event>& filtered,
                  std::vector<Event>& remapped, ByteBuffer& json, ByteBuffer& text_out) {
  batch.reset();
  batch.stream = "stdout";
  batch.read_time_ns = 1'700'000'000'000'000'000;
  frame_text(batch, text);
  parser.parse(batch, batch.read_time_ns);
  SourceMeta meta{"app", "host-1", true};
  filtered.clear();
  remapped.clear();
  filter.apply(batch, meta, batch.events, filtered);
  remap.apply(batch, meta, filtered, remapped);
  json.clear();
  text_out.clear();
  for (const Event& e : batch.events) encode_event(batch, e, meta, EncodingSpec{}, json);
  for (const Event& e : remapped) {
    encode_event(batch, e, meta, EncodingSpec{EncodingSpec::Kind::Text, true}, text_out);
  }
}

TEST(HotPath, NoAllocationPerEventAfterWarmUp) {
  const std::string text = corpus();
  std::string error;
  auto parser = EventParser::create(ParserOptions{}, &error);
  ASSERT_TRUE(parser) << error;
  FilterTransform filter(
      Condition::compile("level >= warn or nested.pod.name == 'web-3' or msg =~ 'miss'", &error));
  RemapOptions remap_options;
  remap_options.rename.emplace_back("msg", "message");
  remap_options.remove = {"n"};
  remap_options.add.emplace_back("env", Value{ValueKind::String, true, "prod"});
  RemapTransform remap(std::move(remap_options));

  Batch batch;
  std::vector<Event> filtered, remapped;
  ByteBuffer json, text_out;
  // Warm-up: buffers, arena chunks, thread-local parsers grow to their working size. The cold
  // pass must allocate, or the counter is not counting.
  long cold = g_allocations.load();
  run_hot_path(batch, text, *parser, filter, remap, filtered, remapped, json, text_out);
  EXPECT_GT(g_allocations.load() - cold, 0);
  for (int i = 0; i < 2; ++i) {
    run_hot_path(batch, text, *parser, filter, remap, filtered, remapped, json, text_out);
  }
  ASSERT_GT(remapped.size(), 500u);

  long before = g_allocations.load();
  for (int i = 0; i < 5; ++i) {
    run_hot_path(batch, text, *parser, filter, remap, filtered, remapped, json, text_out);
  }
  long allocations = g_allocations.load() - before;
  EXPECT_EQ(allocations, 0) << "allocations over 5 batches of " << batch.events.size() << " events";
}

}  // namespace
}  // namespace sluice
