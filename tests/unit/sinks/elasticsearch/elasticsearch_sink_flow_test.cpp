// The elasticsearch sink's flow through the real pipeline: the buffer it gets by default holds
// `concurrency` full requests in flight plus the one filling (with the pipeline's usual 8 MiB the
// source stalled and the last requests went out part-filled), an explicit `buffer.max_bytes`
// is kept, and gzip bodies (compressed on the GzipPool's threads) stay right when requests are
// sent again whole, item by item, or split.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.hpp"
#include "config/factory.hpp"
#include "core/pipeline.hpp"
#include "sinks/elasticsearch/elasticsearch_sink.hpp"
#include "support/batch.hpp"
#include "support/es_bulk_answers.hpp"
#include "support/http_server.hpp"
#include "support/temp_dir.hpp"

namespace sluice {
namespace {

using testing::bulk_answer;
using testing::per_doc;
using testing::Received;
using testing::Reply;
using testing::ScriptedHttpServer;

class ElasticsearchSinkFlow : public ::testing::Test {
 protected:
  // The sink `es` as build_pipeline makes it from `options` (a YAML mapping's contents).
  SinkSpec build_sink(const std::string& options) {
    Topology topology;
    topology.file = "test.yaml";
    topology.root = YAML::Load("{data_dir: '" + dir_.string() + "'}");
    ComponentDecl decl;
    decl.name = "es";
    decl.type = "elasticsearch";
    decl.inputs = {"in"};
    decl.node = YAML::Load("{type: elasticsearch, inputs: [in], " + options + "}");
    decl.file = "test.yaml";
    topology.sinks.push_back(decl);
    BuildContext context;
    context.env = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
    BuiltPipeline built = build_pipeline(topology, context);
    return std::move(built.sinks.at(0));
  }

  testing::TempDir tmp_{"sluice-es-flow"};
  std::filesystem::path dir_ = tmp_.path();
};

// Pushes `batches` batches of `per_batch` lines of `line_bytes` bytes, then waits for the acks.
class LineSource final : public Source {
 public:
  LineSource(int batches, int per_batch, size_t line_bytes)
      : batches_(batches), per_batch_(per_batch), line_bytes_(line_bytes) {}
  void run(SourceContext& ctx) override {
    int n = 0;
    for (int b = 0; b < batches_ && !stop_; ++b) {
      Batch* batch = ctx.acquire();
      batch->stream = "stdin";
      std::vector<std::string> lines;
      for (int i = 0; i < per_batch_; ++i) {
        std::string line = "line " + std::to_string(n++) + " ";
        line.resize(line_bytes_, 'x');
        lines.push_back(std::move(line));
      }
      testing::fill_batch(*batch, lines);
      for (size_t i = 0; i < batch->events.size(); ++i) {
        batch->events[i].offset = static_cast<uint64_t>(b) * per_batch_ + i;
      }
      batch->checkpoint = static_cast<uint64_t>(b) + 1;
      ctx.push(batch);
    }
    all_acked = ctx.wait_for_acks(monotonic_ns() + 30'000'000'000);
  }
  void stop() override { stop_ = true; }
  std::atomic<bool> all_acked{false};

 private:
  int batches_;
  int per_batch_;
  size_t line_bytes_;
  std::atomic<bool> stop_{false};
};

TEST_F(ElasticsearchSinkFlow, BufferDefaultsToConcurrencyPlusOneRequests) {
  SinkSpec spec = build_sink("endpoint: 'http://es:9200'");
  const auto& sink = static_cast<const ElasticsearchSink&>(*spec.sink);
  // 8 MiB of queue + (2 in flight + 1 filling) × 5 MiB × 1.5.
  EXPECT_EQ(sink.buffer_bytes_needed(), (8 << 20) + 3 * (5 << 20) * 3 / 2);
  EXPECT_EQ(spec.buffer_max_bytes, sink.buffer_bytes_needed());
  // It follows concurrency and max_batch_bytes.
  spec = build_sink("endpoint: 'http://es:9200', concurrency: 4, max_batch_bytes: 1MiB");
  EXPECT_EQ(spec.buffer_max_bytes, (8 << 20) + 5 * (1 << 20) * 3 / 2);
  // A small configuration keeps the pipeline's default as the floor.
  spec = build_sink("endpoint: 'http://es:9200', concurrency: 1, max_batch_bytes: 1KiB");
  EXPECT_EQ(spec.buffer_max_bytes, (8 << 20) + 2 * 1024 * 3 / 2);
  // What the config says wins.
  spec = build_sink("endpoint: 'http://es:9200', buffer: {max_bytes: 4MiB}");
  EXPECT_EQ(spec.buffer_max_bytes, 4 << 20);
}

TEST_F(ElasticsearchSinkFlow, KeepsConcurrencyFullRequestsInFlight) {
  ScriptedHttpServer server({.handler = per_doc([](const std::string&, size_t) { return 201; })});
  server.hold(true);  // a slow cluster: nothing is answered yet
  // 12 requests of ~1 MB in flight (the test server reads bodies up to 1 MiB): their batches
  // hold ~11 MB, more than the pipeline's usual 8 MiB. ~590 body bytes (~530 bytes of batch) per
  // event: ~1,700 events a request.
  constexpr size_t kConcurrency = 12;
  constexpr int kBatches = 30;
  constexpr int kPerBatch = 1000;
  std::vector<SourceSpec> sources;
  ParserOptions parser;
  parser.kind = ParserKind::None;
  std::string error;
  auto* source = new LineSource(kBatches, kPerBatch, 400);
  sources.push_back(SourceSpec{"in", std::unique_ptr<Source>(source),
                               EventParser::create(parser, &error), SourceMeta{"in", "h", false}});
  std::vector<SinkSpec> sinks;
  sinks.push_back(
      build_sink("endpoint: '" + server.url() +
                 "', index: logs, max_batch_bytes: 1000KiB, flush_interval: 1h, concurrency: " +
                 std::to_string(kConcurrency)));
  auto* sink = static_cast<ElasticsearchSink*>(sinks[0].sink.get());
  PipelineOptions options;
  options.workers = 2;
  Pipeline pipeline(options, std::move(sources), {}, std::move(sinks));
  int status = -1;
  std::thread runner([&] { status = pipeline.run(); });

  int64_t deadline = monotonic_ns() + 20'000'000'000;
  while (server.request_count() < kConcurrency && monotonic_ns() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::vector<Received> received = server.requests();
  server.hold(false);
  runner.join();
  ASSERT_EQ(received.size(), kConcurrency);
  // All went out because they were full (closed before max_batch_bytes would be passed), not
  // part-filled on idle because the source was held back by the buffer. (flush_interval is an
  // hour so that a loaded machine's slow workers cannot make a request go out on the timer, one
  // cause of the part-filled requests of a starved ASan run; an empty queue is the other.)
  size_t max_bytes = sink->options().max_batch_bytes;
  for (const Received& r : received) {
    EXPECT_GT(r.content.size() + 1024, max_bytes) << r.docs.size() << " events";
    EXPECT_LE(r.content.size(), max_bytes);
  }
  EXPECT_EQ(status, 0);
  EXPECT_TRUE(source->all_acked.load());
  EXPECT_EQ(sink->totals().stored, static_cast<uint64_t>(kBatches * kPerBatch));
}

TEST_F(ElasticsearchSinkFlow, GzipBodiesAreRightWhenSentAgain) {
  // The first request: 503 (sent again whole); more than 3 events: 413 (split); the first
  // time item "n":2 is read: 429 (sent again alone).
  auto rejected = std::make_shared<std::atomic<bool>>(false);
  ScriptedHttpServer server({.handler = [rejected](const Received& r) {
    if (r.number == 0) return Reply{.status = 503, .body = ""};
    if (r.docs.size() > 3) return Reply{.status = 413, .body = ""};
    std::vector<int> statuses;
    for (const auto& doc : r.docs) {
      statuses.push_back(doc == "{\"n\":2}" && !rejected->exchange(true) ? 429 : 201);
    }
    return Reply{.status = 200, .body = bulk_answer(statuses)};
  }});
  SinkSpec spec = build_sink("endpoint: '" + server.url() +
                             "', index: logs, id: none, compression: gzip, flush_interval: 1h, "
                             "retry_backoff_min: 10ms, retry_backoff_max: 20ms");
  auto& sink = static_cast<ElasticsearchSink&>(*spec.sink);
  struct Owner final : DeliveryOwner {
    void finished(EncodedBatch*, int64_t) override { ++done; }
    std::atomic<int> done{0};
  } owner;
  EncodedBatch batch;
  for (int n = 1; n <= 6; ++n) {
    batch.data.append("{\"n\":" + std::to_string(n) + "}\n");
    batch.ends.push_back(static_cast<uint32_t>(batch.data.size()));
  }
  sink.consume(Delivery(&batch, &owner, 1));
  int64_t deadline = monotonic_ns() + 10'000'000'000;
  while (owner.done == 0 && monotonic_ns() < deadline) {
    sink.tick(wall_clock_ns());
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_EQ(owner.done.load(), 1);
  std::vector<Received> received = server.requests();
  // 6 (503) → 6 again (413) → 3 + 3 (in parallel); then the "n":2 item alone, once the half that
  // holds it is answered. The two halves and the single item race each other: only the order
  // that causality fixes is checked.
  ASSERT_EQ(received.size(), 5u);
  auto bulk_of = [](std::initializer_list<int> numbers) {
    std::string body;
    for (int n : numbers)
      body += "{\"index\":{\"_index\":\"logs\"}}\n{\"n\":" + std::to_string(n) + "}\n";
    return body;
  };
  EXPECT_EQ(received[0].content, bulk_of({1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(received[1].content, bulk_of({1, 2, 3, 4, 5, 6}));
  for (const Received& r : received) EXPECT_EQ(r.header("content-encoding"), "gzip");
  std::vector<std::string> rest;
  for (size_t i = 2; i < received.size(); ++i) rest.push_back(received[i].content);
  auto position = [&rest](const std::string& body) {
    return std::find(rest.begin(), rest.end(), body) - rest.begin();
  };
  const auto first_half = position(bulk_of({1, 2, 3}));
  const auto second_half = position(bulk_of({4, 5, 6}));
  const auto single = position(bulk_of({2}));
  const auto none = static_cast<std::ptrdiff_t>(rest.size());
  ASSERT_NE(first_half, none) << "the first half was never sent";
  ASSERT_NE(second_half, none) << "the second half was never sent";
  ASSERT_NE(single, none) << "the rejected item was never sent again";
  EXPECT_LT(first_half, single) << "the item was sent again before the answer that rejected it";
  EXPECT_EQ(sink.totals().stored, 6u);
  sink.shutdown();
}

}  // namespace
}  // namespace sluice
