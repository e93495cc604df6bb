// The elasticsearch sink's `dedot` (default true): the keys of an origin's label and annotation
// maps reach Elasticsearch with `_` for `.`, while another sink of the same pipeline gets them as
// written. Driven through a real pipeline (its workers encode once per distinct EncodingSpec)
// into a scripted `_bulk` server on loopback.
#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "core/origin_maps.hpp"
#include "core/pipeline.hpp"
#include "parse/event_parser.hpp"
#include "sinks/elasticsearch/elasticsearch_sink.hpp"
#include "support/batch.hpp"
#include "support/es_bulk_answers.hpp"
#include "support/http_server.hpp"
#include "support/sink_config.hpp"
#include "support/temp_dir.hpp"

namespace sluice {
namespace {

using testing::Received;
using testing::ScriptedHttpServer;

std::shared_ptr<const Origin> pod_origin() {
  auto origin = std::make_shared<Origin>();
  origin->file_path = "/var/log/containers/web-0_shop_app-0123.log";
  origin->fields = {{"kubernetes.pod.name", "web-0"}, {"kubernetes.namespace", "shop"}};
  add_origin_map(*origin, "kubernetes.labels",
                 {{"app", "shop"}, {"app.kubernetes.io/name", "web"}});
  add_origin_map(*origin, "kubernetes.annotations", {{"example.com/team", "payments"}});
  return origin;
}

// One batch of `lines` from a pod's log file, then waits for it to be acknowledged.
class PodSource final : public Source {
 public:
  explicit PodSource(std::vector<std::string> lines) : lines_(std::move(lines)) {}
  void run(SourceContext& ctx) override {
    Batch* batch = ctx.acquire();
    batch->stream = "stdout";
    testing::fill_batch(*batch, lines_);
    batch->origin = pod_origin();
    batch->checkpoint = 1;
    ctx.push(batch);
    acked = ctx.wait_for_acks(monotonic_ns() + 10'000'000'000);
  }
  void stop() override {}
  bool acked = false;

 private:
  std::vector<std::string> lines_;
};

// Keeps what it is given, in the default JSON encoding.
class JsonSink final : public Sink {
 public:
  EncodingSpec encoding() const override { return EncodingSpec{}; }
  void consume(Delivery d) override {
    std::lock_guard lock(mu);
    for (size_t i = 0; i < d.batch().count(); ++i) events.emplace_back(d.batch().event(i));
    d.done();
  }
  void shutdown() override {}
  std::mutex mu;
  std::vector<std::string> events;
};

struct Delivered {
  std::vector<std::string> es_docs;
  std::vector<std::string> json_events;
};

// Runs a pipeline: PodSource → an elasticsearch sink with `es_options` and a JsonSink.
Delivered run_pipeline(const std::string& es_options) {
  ScriptedHttpServer server(
      {.handler = testing::per_doc([](const std::string&, size_t) { return 201; })});
  testing::TempDir dir{"sluice-es-dedot"};
  auto es = testing::build_sink<ElasticsearchSink>(
      "elasticsearch", "es",
      "{endpoint: '" + server.url() + "', index: logs, flush_interval: 10ms" + es_options + "}",
      dir.path(), testing::no_env());
  auto json = std::make_unique<JsonSink>();
  JsonSink* json_sink = json.get();

  std::vector<SourceSpec> sources;
  std::string error;
  ParserOptions parser;
  parser.kind = ParserKind::Auto;
  auto source = std::make_unique<PodSource>(
      std::vector<std::string>{R"({"msg":"one"})", "level=info msg=two", "three"});
  PodSource* pod = source.get();
  sources.push_back(SourceSpec{"pods", std::move(source), EventParser::create(parser, &error),
                               SourceMeta{"pods", "node-1", false}});
  std::vector<SinkSpec> sinks;
  auto add_sink = [&](const std::string& name, std::unique_ptr<Sink> sink) {
    SinkSpec spec;
    spec.name = name;
    spec.sink = std::move(sink);
    spec.inputs = {"pods"};
    sinks.push_back(std::move(spec));
  };
  add_sink("es", std::move(es));
  add_sink("json", std::move(json));
  Pipeline pipeline(PipelineOptions{}, std::move(sources), {}, std::move(sinks));
  EXPECT_EQ(pipeline.run(), 0);
  EXPECT_TRUE(pod->acked);
  Delivered delivered;
  for (const Received& request : server.requests()) {
    delivered.es_docs.insert(delivered.es_docs.end(), request.docs.begin(), request.docs.end());
  }
  std::lock_guard lock(json_sink->mu);
  delivered.json_events = json_sink->events;
  return delivered;
}

TEST(ElasticsearchDedot, OnByDefaultForElasticsearchOnly) {
  const Delivered delivered = run_pipeline("");
  ASSERT_EQ(delivered.es_docs.size(), 3u);
  ASSERT_EQ(delivered.json_events.size(), 3u);
  for (const std::string& doc : delivered.es_docs) {
    EXPECT_NE(doc.find(R"("labels":{"app":"shop","app_kubernetes_io/name":"web"},)"
                       R"("annotations":{"example_com/team":"payments"})"),
              std::string::npos)
        << doc;
    EXPECT_EQ(doc.find("app.kubernetes.io"), std::string::npos) << doc;
    // Only the map keys: the file path and the other metadata are as they were.
    EXPECT_NE(doc.find(R"("kubernetes":{"pod":{"name":"web-0"},"namespace":"shop",)"),
              std::string::npos)
        << doc;
  }
  for (const std::string& event : delivered.json_events) {
    EXPECT_NE(event.find(R"("labels":{"app":"shop","app.kubernetes.io/name":"web"},)"
                         R"("annotations":{"example.com/team":"payments"})"),
              std::string::npos)
        << event;
  }
}

TEST(ElasticsearchDedot, OffKeepsTheKeysAsWritten) {
  const Delivered delivered = run_pipeline(", dedot: false");
  ASSERT_EQ(delivered.es_docs.size(), 3u);
  for (const std::string& doc : delivered.es_docs) {
    EXPECT_NE(doc.find(R"("labels":{"app":"shop","app.kubernetes.io/name":"web"})"),
              std::string::npos)
        << doc;
  }
}

TEST(ElasticsearchDedot, TheOptionSetsTheEncodingItAsksFor) {
  auto sink = testing::build_sink<ElasticsearchSink>(
      "elasticsearch", "es", "{endpoint: 'http://es:9200'}", "data", testing::no_env());
  EXPECT_TRUE(sink->encoding().dedot_map_keys);
  sink = testing::build_sink<ElasticsearchSink>("elasticsearch", "es",
                                                "{endpoint: 'http://es:9200', dedot: false}",
                                                "data", testing::no_env());
  EXPECT_FALSE(sink->encoding().dedot_map_keys);
  const std::string error = testing::config_error_of([] {
    testing::build_sink<ElasticsearchSink>("elasticsearch", "es",
                                           "{endpoint: 'http://es:9200', dedot: maybe}", "data",
                                           testing::no_env());
  });
  EXPECT_NE(error.find("dedot"), std::string::npos) << error;
}

}  // namespace
}  // namespace sluice
