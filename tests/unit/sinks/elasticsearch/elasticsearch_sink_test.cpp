// The elasticsearch sink: configuration (options, defaults, errors with their key, SLUICE_SINKS
// URLs) and delivery against a small scripted `_bulk` server on loopback
// (tests/support/http_server.hpp): item retries alone, dead letters next to stored neighbours,
// whole-request retries, 413 splits, 409 on `create`, acknowledgement only after the answer,
// batches straddling requests, backpressure, shutdown.
#include "sinks/elasticsearch/elasticsearch_sink.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <thread>

#include "base/clock.hpp"
#include "config/factory.hpp"
#include "config/topology.hpp"
#include "options/components.hpp"
#include "options/config_error.hpp"
#include "support/es_bulk_answers.hpp"
#include "support/files.hpp"
#include "support/http_server.hpp"
#include "support/sink_config.hpp"
#include "support/temp_dir.hpp"

namespace sluice {
namespace {

using testing::bulk_answer;
using testing::per_doc;
using testing::Received;
using testing::Reply;
using testing::ScriptedHttpServer;

// --- the sink under test -------------------------------------------------------------------------

using testing::no_env;

std::unique_ptr<ElasticsearchSink> make_sink(const std::string& yaml,
                                             const std::string& data_dir = "data",
                                             const EnvLookup& env = no_env()) {
  return testing::build_sink<ElasticsearchSink>("elasticsearch", "es", yaml, data_dir, env);
}

std::string config_error(const std::string& yaml) {
  return testing::config_error_of([&] { make_sink(yaml); });
}

struct FakeOwner final : DeliveryOwner {
  void finished(EncodedBatch* batch, int64_t /*cost*/) override { done[batch] += 1; }
  std::map<EncodedBatch*, int> done;
};

std::unique_ptr<EncodedBatch> make_batch(const std::vector<std::string>& events,
                                         uint64_t id_base = 0) {
  auto batch = std::make_unique<EncodedBatch>();
  for (size_t i = 0; i < events.size(); ++i) {
    batch->data.append(events[i]);
    batch->data.push_back('\n');
    batch->ends.push_back(static_cast<uint32_t>(batch->data.size()));
    batch->ids.push_back(EventId{id_base, i});
  }
  return batch;
}

class ElasticsearchSinkTest : public ::testing::Test {
 protected:
  // Sink options for fast tests: tiny backoffs; `extra` is appended to the YAML mapping.
  std::unique_ptr<ElasticsearchSink> sink_for(const ScriptedHttpServer& server,
                                              const std::string& extra = "") {
    return make_sink("{endpoint: '" + server.url() +
                         "', index: logs, retry_backoff_min: 10ms, retry_backoff_max: 40ms" +
                         (extra.empty() ? "" : ", " + extra) + "}",
                     dir_.string());
  }

  Delivery deliver(ElasticsearchSink& sink, const std::vector<std::string>& events) {
    batches_.push_back(make_batch(events, batches_.size()));
    Delivery delivery(batches_.back().get(), &owner_, 1);
    sink.consume(delivery);
    return delivery;
  }
  [[nodiscard]] int done(size_t batch) { return owner_.done[batches_[batch].get()]; }

  // Ticks the sink (as the sink thread does) until `condition`, at most 10 s.
  static bool drive(ElasticsearchSink& sink, const std::function<bool()>& condition) {
    int64_t deadline = monotonic_ns() + 10'000'000'000;
    while (!condition()) {
      if (monotonic_ns() > deadline) return false;
      sink.tick(wall_clock_ns());
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return true;
  }

  std::string dead_letters() {
    return testing::read_file(DeadLetterWriter::path_for(dir_.string(), "es"));
  }

  testing::TempDir tmp_{"sluice-es-sink"};
  std::filesystem::path dir_ = tmp_.path();
  FakeOwner owner_;
  std::vector<std::unique_ptr<EncodedBatch>> batches_;
};

// --- configuration -------------------------------------------------------------------------------

TEST(ElasticsearchSinkConfig, DefaultsAndOptions) {
  auto sink = make_sink("{endpoint: 'http://es:9200'}");
  const auto& o = sink->options();
  ASSERT_EQ(o.transport.endpoints.size(), 1u);
  EXPECT_EQ(o.transport.endpoints[0].host, "es");
  EXPECT_EQ(o.transport.endpoints[0].port, "9200");
  EXPECT_EQ(o.index.text(), "sluice-%Y.%m.%d");
  EXPECT_EQ(o.action.action, es::Action::Index);
  EXPECT_EQ(o.action.id, es::IdMode::Auto);
  EXPECT_TRUE(sink->wants_event_ids());
  EXPECT_FALSE(o.gzip);
  EXPECT_EQ(o.max_batch_bytes, 5u << 20);
  EXPECT_EQ(o.max_batch_events, 10000u);
  EXPECT_EQ(o.flush_interval_ns, 1'000'000'000);
  EXPECT_EQ(o.concurrency, 2u);
  EXPECT_EQ(o.retry_backoff_min_ns, 100'000'000);
  EXPECT_EQ(o.retry_backoff_max_ns, 30'000'000'000);
  EXPECT_EQ(o.transport.timeout_ns, 60'000'000'000);
  EXPECT_TRUE(o.transport.tls.verify);
  EXPECT_TRUE(o.transport.headers.empty());
  EXPECT_EQ(sink->target(), "/_bulk");
  EXPECT_EQ(sink->encoding().kind, EncodingSpec::Kind::Json);
  // The time-based index is rendered per event; "unknown" stands in for a missing field.
  ASSERT_EQ(sink->templates().size(), 1u);
  EXPECT_EQ(sink->templates()[0]->sink_render_options().missing, "unknown");

  sink = make_sink(
      R"({endpoints: ['http://a:9200', 'https://b/es'], index: "logs-{{ app }}",
      default_index: logs-other, mode: data_stream, id: "{{ request_id }}", pipeline: p1,
      compression: gzip, auth: {user: elastic, password: secret}, tls: {verify: false},
      timeout: 5s, max_batch_bytes: 1MiB, max_batch_events: 500, flush_interval: 200ms,
      concurrency: 4, retry_backoff_min: 1s, retry_backoff_max: 1m})");
  const auto& p = sink->options();
  ASSERT_EQ(p.transport.endpoints.size(), 2u);
  EXPECT_TRUE(p.transport.endpoints[1].tls);
  EXPECT_EQ(p.transport.endpoints[1].base_path, "/es");
  EXPECT_EQ(p.action.action, es::Action::Create);
  EXPECT_EQ(p.action.id, es::IdMode::Template);
  EXPECT_FALSE(sink->wants_event_ids());
  EXPECT_EQ(p.action.default_index, "logs-other");
  EXPECT_EQ(sink->target(), "/_bulk?pipeline=p1");
  EXPECT_TRUE(p.gzip);
  ASSERT_EQ(p.transport.headers.size(), 1u);
  EXPECT_EQ(p.transport.headers[0].first, "Authorization");
  EXPECT_EQ(p.transport.headers[0].second,
            "Basic ZWxhc3RpYzpzZWNyZXQ=");  // elastic:secret
  EXPECT_FALSE(p.transport.tls.verify);
  EXPECT_EQ(p.transport.timeout_ns, 5'000'000'000);
  EXPECT_EQ(p.max_batch_bytes, 1u << 20);
  EXPECT_EQ(p.max_batch_events, 500u);
  EXPECT_EQ(p.flush_interval_ns, 200'000'000);
  EXPECT_EQ(p.concurrency, 4u);
  EXPECT_EQ(p.retry_backoff_max_ns, 60'000'000'000);
  // Index then id, rendered as they are, with a marker for a missing field.
  auto templates = sink->templates();
  ASSERT_EQ(templates.size(), 2u);
  EXPECT_EQ(templates[0]->text(), "logs-{{ app }}");
  EXPECT_EQ(templates[1]->text(), "{{ request_id }}");
  EXPECT_EQ(templates[0]->sink_render_options().missing, es::kMissingField);
  EXPECT_EQ(templates[0]->sink_render_options().mode, Template::RenderMode::IndexName);
  EXPECT_EQ(templates[1]->sink_render_options().mode, Template::RenderMode::Raw);

  sink = make_sink("{endpoint: 'http://a', index: logs, id: none, auth: {api_key: abc}}");
  EXPECT_TRUE(sink->templates().empty());
  EXPECT_EQ(sink->options().action.static_index, "logs");
  EXPECT_EQ(sink->options().action.id, es::IdMode::None);
  EXPECT_EQ(sink->options().transport.headers[0].second, "ApiKey abc");
}

TEST(ElasticsearchSinkConfig, ShutdownWaitFollowsTheShutdownTimeout) {
  EnvLookup env = [](const std::string& name) -> std::optional<std::string> {
    if (name == "SLUICE_SHUTDOWN_TIMEOUT_SECONDS") return "5";
    return std::nullopt;
  };
  EXPECT_EQ(make_sink("{endpoint: 'http://a'}", "data", env)->options().flush_timeout_ns,
            4'000'000'000);
}

TEST(ElasticsearchSinkConfig, ErrorsNameTheKey) {
  struct Case {
    const char* yaml;
    const char* message;
  };
  for (const Case& c : std::vector<Case>{
           {"{index: logs}", "`endpoints` is required"},
           {"{endpoint: 'ftp://a'}", "test.yaml"},
           {"{endpoint: 'http://u:p@a'}", "auth"},
           {"{endpoint: 'http://a', endpoints: ['http://b']}", "not both"},
           {"{endpoint: 'http://a', mode: stream}", "`mode` must be one of index, data_stream"},
           {"{endpoint: 'http://a', index: 'Logs'}", "not valid as an index name"},
           {"{endpoint: 'http://a', index: 'logs {{ app }}'}", "the character ` `"},
           {"{endpoint: 'http://a', index: '_logs-{{ app }}'}", "cannot start with"},
           {"{endpoint: 'http://a', index: 'logs-{{ app'}", "unclosed"},
           {"{endpoint: 'http://a', mode: data_stream, index: '.ds-logs'}", "`.ds-`"},
           {"{endpoint: 'http://a', mode: data_stream, index: 'Logs-{{ app "
            "}}'}",
            "not allowed in a data stream name"},
           {"{endpoint: 'http://a', default_index: 'A b'}", "`default_index`"},
           {"{endpoint: 'http://a', id: fixed}", "`id` must be none, auto or a template"},
           {"{endpoint: 'http://a', compression: zstd}", "`compression` must be one of none, gzip"},
           {"{endpoint: 'http://a', auth: {user: u}}", "`password`"},
           {"{endpoint: 'http://a', auth: {user: u, password: p, api_key: k}}", "not both"},
           {"{endpoint: 'http://a', auth: {api_key: ''}}", "empty"},
           {"{endpoint: 'http://a', auth: {api_key: \"a\\nb\"}}", "line break"},
           {"{endpoint: 'http://a', auth: {token: x}}", "token"},
           {"{endpoint: 'http://a', tls: {ca_file: /nonexistent/ca.pem}}", "cannot read"},
           {"{endpoint: 'http://a', tls: {cert_file: /etc/hostname}}", "`key_file`"},
           {"{endpoint: 'http://a', max_batch_bytes: 10}", "`max_batch_bytes`"},
           {"{endpoint: 'http://a', max_batch_events: 0}", "max_batch_events"},
           {"{endpoint: 'http://a', concurrency: 0}", "concurrency"},
           {"{endpoint: 'http://a', flush_interval: 0s}", "`flush_interval` must be positive"},
           {"{endpoint: 'http://a', retry_backoff_min: 2s, retry_backoff_max: "
            "1s}",
            "`retry_backoff_max` must be at least"},
           {"{endpoint: 'http://a', batch_size: 10}", "batch_size"},
       }) {
    std::string e = config_error(c.yaml);
    EXPECT_NE(e.find(c.message), std::string::npos) << c.yaml << " → " << e;
    EXPECT_NE(e.find("test.yaml"), std::string::npos) << c.yaml << " → " << e;
  }
}

TEST(ElasticsearchSinkConfig, SinkUrls) {
  std::vector<ComponentDecl> sources(1);
  sources[0].name = "app";
  auto decls = sinks_from_urls(
      "elasticsearch+http://h1:9200,h2:9200/"
      "logs-x?mode=data_stream&compression=gzip,"
      "elasticsearch+https://es.example.com/prefix/other,stdout://",
      sources);
  ASSERT_EQ(decls.size(), 3u);
  EXPECT_EQ(decls[0].type, "elasticsearch");
  EXPECT_EQ(decls[0].name, "elasticsearch");
  EXPECT_EQ(decls[1].name, "elasticsearch_2");
  YAML::Node node = decls[0].node;
  const ComponentDescriptor& es = testing::descriptor_of(ComponentKind::Sink, "elasticsearch");
  MapReader reader = testing::component_reader(es, node, "sink", no_env());
  reader.string("type");
  reader.string_list("inputs");
  BuildContext context;
  auto sink = es.make_sink(reader, "elasticsearch", context);
  reader.finish();
  const auto& o = static_cast<ElasticsearchSink&>(*sink).options();
  ASSERT_EQ(o.transport.endpoints.size(), 2u);
  EXPECT_EQ(o.transport.endpoints[1].host, "h2");
  EXPECT_EQ(o.index.text(), "logs-x");
  EXPECT_EQ(o.action.action, es::Action::Create);
  EXPECT_TRUE(o.gzip);
  node = decls[1].node;
  EXPECT_EQ(node["endpoints"][0].as<std::string>(), "https://es.example.com/prefix");
  EXPECT_EQ(node["index"].as<std::string>(), "other");
  // Without an index, the default one.
  decls = sinks_from_urls("elasticsearch+http://h:9200", sources);
  EXPECT_FALSE(decls[0].node["index"]);
  EXPECT_THROW(sinks_from_urls("elasticsearch+ftp://h/logs", sources), ConfigError);
  EXPECT_THROW(sinks_from_urls("elasticsearch+http:///logs", sources), ConfigError);
}

// --- delivery against the scripted server --------------------------------------------------------

TEST_F(ElasticsearchSinkTest, AllStoredAcksAfterTheAnswer) {
  ScriptedHttpServer server({.handler = [](const Received& r) {
    return Reply{.status = 200,
                 .body = R"({"took":1,"errors":false,"items":[]})"};  // items are not read
  }});
  server.hold(true);
  auto sink = sink_for(server);
  deliver(*sink, {R"({"a":1})", R"({"a":2})"});
  ASSERT_TRUE(drive(*sink, [&] { return server.request_count() == 1; }));
  // Sent but not answered yet: not acknowledged.
  for (int k = 0; k < 20; ++k) sink->tick(wall_clock_ns());
  EXPECT_EQ(done(0), 0);
  server.hold(false);
  ASSERT_TRUE(drive(*sink, [&] { return done(0) == 1; }));
  Received r = server.requests()[0];
  EXPECT_EQ(r.target, "/_bulk");
  EXPECT_EQ(r.header("content-type"), "application/x-ndjson");
  EXPECT_EQ(r.content,
            "{\"index\":{\"_index\":\"logs\",\"_id\":"
            "\"AAAAAAAAAAAAAAAAAAAAAA\"}}\n{\"a\":1}\n"
            "{\"index\":{\"_index\":\"logs\",\"_id\":"
            "\"AAAAAAAAAAAAAAAAAAAAAQ\"}}\n{\"a\":2}\n");
  EXPECT_EQ(sink->totals().stored, 2u);
  EXPECT_EQ(sink->totals().requests, 1u);
  sink->shutdown();
  EXPECT_EQ(done(0), 1);
}

TEST_F(ElasticsearchSinkTest, ItemRejected429IsRetriedAlone) {
  ScriptedHttpServer server({.handler = per_doc([](const std::string& doc, size_t request) {
                               return request == 0 && doc == R"({"n":2})" ? 429 : 201;
                             })});
  auto sink = sink_for(server);
  deliver(*sink, {R"({"n":1})", R"({"n":2})", R"({"n":3})"});
  ASSERT_TRUE(drive(*sink, [&] { return done(0) == 1; }));
  auto received = server.requests();
  ASSERT_EQ(received.size(), 2u);
  EXPECT_EQ(received[0].docs.size(), 3u);
  ASSERT_EQ(received[1].docs.size(), 1u);  // only the rejected item, with its id
  EXPECT_EQ(received[1].docs[0], R"({"n":2})");
  EXPECT_EQ(received[1].actions[0], received[0].actions[1]);
  auto t = sink->totals();
  EXPECT_EQ(t.stored, 3u);
  EXPECT_EQ(t.retried_items, 1u);
  EXPECT_EQ(t.requests, 2u);
  EXPECT_EQ(sink->status().retries.load(), 1u);
  EXPECT_EQ(sink->status().failing_since_ns.load(),
            0);  // healthy again after the success
  sink->shutdown();
}

TEST_F(ElasticsearchSinkTest, ItemRejected400IsDeadLetteredAndNeighboursAcked) {
  ScriptedHttpServer server({.handler = per_doc([](const std::string& doc, size_t) {
                               return doc.find("bad") != std::string::npos ? 400 : 201;
                             })});
  auto sink = sink_for(server);
  deliver(*sink, {R"({"n":1})", R"({"bad":"x"})", R"({"n":3})"});
  ASSERT_TRUE(drive(*sink, [&] { return done(0) == 1; }));
  EXPECT_EQ(server.request_count(), 1u);  // nothing sent again
  auto t = sink->totals();
  EXPECT_EQ(t.stored, 2u);
  EXPECT_EQ(t.dead_lettered, 1u);
  EXPECT_EQ(sink->status().dead_lettered.load(), 1u);
  std::string dead = dead_letters();
  EXPECT_NE(
      dead.find(R"("sink":"es","index":"logs","error":"mapper_parsing_exception: failed: 400")"),
      std::string::npos)
      << dead;
  EXPECT_NE(dead.find(R"("event":"{\"bad\":\"x\"}")"), std::string::npos) << dead;
  EXPECT_EQ(std::count(dead.begin(), dead.end(), '\n'), 1);
  sink->shutdown();
}

TEST_F(ElasticsearchSinkTest, RequestAnswered503IsRetriedWhole) {
  ScriptedHttpServer server({.handler = [](const Received& r) {
    if (r.number < 2) return Reply{.status = 503, .body = R"({"error":"unavailable"})"};
    return Reply{.status = 200, .body = bulk_answer(std::vector<int>(r.docs.size(), 201))};
  }});
  auto sink = sink_for(server);
  deliver(*sink, {R"({"n":1})", R"({"n":2})"});
  ASSERT_TRUE(drive(*sink, [&] { return done(0) == 1; }));
  auto received = server.requests();
  ASSERT_EQ(received.size(), 3u);
  EXPECT_EQ(received[1].content, received[0].content);
  EXPECT_EQ(received[2].content, received[0].content);
  auto t = sink->totals();
  EXPECT_EQ(t.failed_requests, 2u);
  EXPECT_EQ(t.retried_items, 4u);
  EXPECT_EQ(t.stored, 2u);
  EXPECT_EQ(sink->status().retries.load(), 2u);
  EXPECT_EQ(sink->status().failing_since_ns.load(), 0);
  sink->shutdown();
}

TEST_F(ElasticsearchSinkTest, UnauthorizedAndMalformedAnswersAreRetriedNotLost) {
  ScriptedHttpServer server({.handler = [](const Received& r) {
    if (r.number == 0) return Reply{.status = 401, .body = R"({"error":"security_exception"})"};
    if (r.number == 1) return Reply{.status = 200, .body = "<html>proxy</html>"};
    if (r.number == 2) {  // one item for two actions
      return Reply{.status = 200, .body = R"({"errors":true,"items":[{"index":{"status":201}}]})"};
    }
    return Reply{.status = 200, .body = bulk_answer(std::vector<int>(r.docs.size(), 201))};
  }});
  auto sink = sink_for(server);
  deliver(*sink, {R"({"n":1})", R"({"n":2})"});
  ASSERT_TRUE(drive(*sink, [&] { return done(0) == 1; }));
  EXPECT_EQ(server.request_count(), 4u);
  EXPECT_EQ(sink->totals().failed_requests, 3u);
  EXPECT_EQ(sink->totals().dead_lettered, 0u);
  sink->shutdown();
}

TEST_F(ElasticsearchSinkTest, TooLargeRequestIsSplitAndASingleEventDeadLettered) {
  ScriptedHttpServer server({.handler = [](const Received& r) {
    bool huge = std::any_of(r.docs.begin(), r.docs.end(), [](const std::string& d) {
      return d.find("huge") != std::string::npos;
    });
    if (huge || r.docs.size() > 2) return Reply{.status = 413, .body = ""};
    return Reply{.status = 200, .body = bulk_answer(std::vector<int>(r.docs.size(), 201))};
  }});
  auto sink = sink_for(server);
  deliver(*sink, {R"({"n":1})", R"({"n":2})", R"({"huge":1})", R"({"n":4})"});
  ASSERT_TRUE(drive(*sink, [&] { return done(0) == 1; }));
  auto t = sink->totals();
  EXPECT_EQ(t.stored, 3u);
  EXPECT_EQ(t.dead_lettered, 1u);
  EXPECT_NE(dead_letters().find("413"), std::string::npos);
  // 4 events → 413; halves [1,2] stored, [huge,4] → 413; [huge] → dead letter, [4] stored.
  EXPECT_EQ(server.request_count(), 5u);
  sink->shutdown();
}

TEST_F(ElasticsearchSinkTest, CreateConflictWithIdCountsAsAlreadyPresent) {
  ScriptedHttpServer server({.handler = [](const Received& r) {
    std::vector<int> statuses;
    for (const auto& doc : r.docs) statuses.push_back(doc == R"({"n":1})" ? 409 : 201);
    return Reply{.status = 200, .body = bulk_answer(statuses, "create")};
  }});
  auto sink = sink_for(server, "mode: data_stream");
  deliver(*sink, {R"({"n":1})", R"({"n":2})"});
  ASSERT_TRUE(drive(*sink, [&] { return done(0) == 1; }));
  EXPECT_EQ(server.requests()[0].actions[0].rfind(R"({"create":{"_index":"logs","_id":")", 0), 0u);
  auto t = sink->totals();
  EXPECT_EQ(t.already_present, 1u);
  EXPECT_EQ(t.stored, 1u);
  EXPECT_EQ(t.dead_lettered, 0u);
  sink->shutdown();
}

TEST_F(ElasticsearchSinkTest, ConflictWithoutIdIsDeadLettered) {
  ScriptedHttpServer server({.handler = [](const Received& r) {
    return Reply{.status = 200,
                 .body = bulk_answer(std::vector<int>(r.docs.size(), 409), "create")};
  }});
  auto sink = sink_for(server, "mode: data_stream, id: none");
  deliver(*sink, {R"({"n":1})"});
  ASSERT_TRUE(drive(*sink, [&] { return done(0) == 1; }));
  EXPECT_EQ(server.requests()[0].actions[0], R"({"create":{"_index":"logs"}})");
  EXPECT_EQ(sink->totals().dead_lettered, 1u);
  sink->shutdown();
}

TEST_F(ElasticsearchSinkTest, DeliveriesShareRequestsAndStraddleThem) {
  ScriptedHttpServer server({.handler = per_doc([](const std::string&, size_t) { return 201; })});
  server.hold(true);
  auto sink = sink_for(server, "max_batch_events: 4, flush_interval: 1h, concurrency: 4");
  deliver(*sink, {"{\"b\":0}", "{\"b\":0}", "{\"b\":0}"});
  deliver(*sink, {"{\"b\":1}", "{\"b\":1}", "{\"b\":1}"});  // one in the first request
  ASSERT_TRUE(drive(*sink, [&] { return server.request_count() == 2; }));  // the rest on idle
  auto received = server.requests();
  // Sent in parallel: the answers may come in any order.
  if (received[0].docs.size() != 4) std::swap(received[0], received[1]);
  EXPECT_EQ(received[0].docs,
            (std::vector<std::string>{"{\"b\":0}", "{\"b\":0}", "{\"b\":0}", "{\"b\":1}"}));
  EXPECT_EQ(received[1].docs.size(), 2u);
  EXPECT_EQ(done(0) + done(1), 0);
  server.hold(false);
  ASSERT_TRUE(drive(*sink, [&] { return done(0) == 1 && done(1) == 1; }));
  sink->shutdown();
}

TEST_F(ElasticsearchSinkTest, BatchStraddlingRequestsWaitsForBoth) {
  // The second request fails once: the first batch is done only when its last event is stored.
  ScriptedHttpServer server({.handler = [](const Received& r) {
    if (r.number == 1) return Reply{.status = 503, .body = ""};
    return Reply{.status = 200, .body = bulk_answer(std::vector<int>(r.docs.size(), 201))};
  }});
  auto sink = sink_for(server, "max_batch_events: 2, flush_interval: 1h, concurrency: 1");
  deliver(*sink, {"{\"n\":1}", "{\"n\":2}", "{\"n\":3}"});
  ASSERT_TRUE(drive(*sink, [&] { return server.request_count() >= 2; }));
  EXPECT_EQ(done(0), 0);
  ASSERT_TRUE(drive(*sink, [&] { return done(0) == 1; }));
  EXPECT_EQ(server.request_count(), 3u);
  sink->shutdown();
}

TEST_F(ElasticsearchSinkTest, ConsumeBlocksWhileConcurrencyRequestsAreOutstanding) {
  ScriptedHttpServer server({.handler = per_doc([](const std::string&, size_t) { return 201; })});
  server.hold(true);
  auto sink = sink_for(server, "max_batch_events: 1, concurrency: 1");
  std::atomic<bool> returned{false};
  std::thread sink_thread([&] {
    // The first event fills a request that goes out; the second fills the next, which must wait for
    // an answer to the first.
    deliver(*sink, {"{\"n\":1}", "{\"n\":2}"});
    returned = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(returned.load());
  EXPECT_EQ(server.request_count(), 1u);
  server.hold(false);
  sink_thread.join();
  EXPECT_TRUE(returned.load());
  ASSERT_TRUE(drive(*sink, [&] { return done(0) == 1; }));
  EXPECT_EQ(server.request_count(), 2u);
  sink->shutdown();
}

TEST_F(ElasticsearchSinkTest, PartialRequestGoesOutAfterTheFlushInterval) {
  ScriptedHttpServer server({.handler = per_doc([](const std::string&, size_t) { return 201; })});
  auto sink = sink_for(server, "flush_interval: 50ms");
  deliver(*sink, {"{\"n\":1}"});
  // Ticks right after consume() (a busy queue) do not flush; the interval does.
  int64_t start = monotonic_ns();
  while (server.request_count() == 0 && monotonic_ns() - start < 2'000'000'000) {
    deliver(*sink, {});  // keeps the queue "busy"
    sink->tick(wall_clock_ns());
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(server.request_count(), 1u);
  EXPECT_GE(monotonic_ns() - start, 40'000'000);
  sink->shutdown();
}

TEST_F(ElasticsearchSinkTest, GzipBodiesAuthPipelineAndRenderedIndex) {
  ScriptedHttpServer server({.handler = per_doc([](const std::string&, size_t) { return 201; })});
  auto sink = make_sink("{endpoint: '" + server.url() +
                            "', index: 'logs-{{ app }}', default_index: logs-none, id: none, "
                            "compression: gzip, pipeline: p, auth: {api_key: k1}}",
                        dir_.string());
  auto batch = std::make_unique<EncodedBatch>();
  for (const char* app : {"Web", "\x01"}) {
    batch->data.append("{}\n");
    batch->ends.push_back(static_cast<uint32_t>(batch->data.size()));
    batch->rendered.append(std::string("logs-") + app);
    batch->rendered_ends.push_back(static_cast<uint32_t>(batch->rendered.size()));
  }
  batch->templates_per_event = 1;
  batches_.push_back(std::move(batch));
  sink->consume(Delivery(batches_.back().get(), &owner_, 1));
  ASSERT_TRUE(drive(*sink, [&] { return done(0) == 1; }));
  Received r = server.requests()[0];
  EXPECT_EQ(r.header("content-encoding"), "gzip");
  EXPECT_EQ(r.header("authorization"), "ApiKey k1");
  EXPECT_EQ(r.target, "/_bulk?pipeline=p");
  EXPECT_EQ(r.content,
            "{\"index\":{\"_index\":\"logs-web\"}}\n{}\n{\"index\":{\"_"
            "index\":\"logs-none\"}}\n{}\n");
  sink->shutdown();
}

TEST_F(ElasticsearchSinkTest, ShutdownSendsPendingEvents) {
  ScriptedHttpServer server({.handler = per_doc([](const std::string&, size_t) { return 201; })});
  auto sink = sink_for(server, "flush_interval: 1h");
  deliver(*sink, {"{\"n\":1}"});
  EXPECT_EQ(server.request_count(), 0u);
  sink->shutdown();
  EXPECT_EQ(server.request_count(), 1u);
  EXPECT_EQ(done(0), 1);
}

TEST_F(ElasticsearchSinkTest, ShutdownLeavesUnconfirmedEventsUnacknowledged) {
  ScriptedHttpServer server(
      {.handler = [](const Received&) { return Reply{.status = 503, .body = ""}; }});
  EnvLookup env = [](const std::string& name) -> std::optional<std::string> {
    if (name == "SLUICE_SHUTDOWN_TIMEOUT_SECONDS") return "0.3";
    return std::nullopt;
  };
  auto sink = make_sink("{endpoint: '" + server.url() + "', index: logs, retry_backoff_min: 10ms}",
                        dir_.string(), env);
  deliver(*sink, {"{\"n\":1}"});
  int64_t start = monotonic_ns();
  sink->shutdown();
  EXPECT_LT(monotonic_ns() - start, 2'000'000'000);
  EXPECT_GE(server.request_count(), 1u);
  EXPECT_EQ(done(0), 0);  // the source keeps its checkpoint before the event
}

TEST_F(ElasticsearchSinkTest, DownClusterIsRetriedUntilItIsBack) {
  // Nothing listens on the port at first: connection errors are retried whole.
  const uint16_t port = testing::refused_port();
  auto sink = make_sink("{endpoint: 'http://127.0.0.1:" + std::to_string(port) +
                            "', index: logs, retry_backoff_min: 10ms, retry_backoff_max: 20ms}",
                        dir_.string());
  deliver(*sink, {"{\"n\":1}"});
  ASSERT_TRUE(drive(*sink, [&] { return sink->totals().failed_requests >= 1; }));
  EXPECT_NE(sink->status().failing_since_ns.load(), 0);  // /health turns failing after the grace
  EXPECT_EQ(done(0), 0);
  ScriptedHttpServer server(
      {.handler = per_doc([](const std::string&, size_t) { return 201; }), .port = port});
  ASSERT_TRUE(drive(*sink, [&] { return done(0) == 1; }));
  EXPECT_EQ(sink->status().failing_since_ns.load(), 0);
  EXPECT_EQ(sink->totals().stored, 1u);
  sink->shutdown();
}

}  // namespace
}  // namespace sluice
