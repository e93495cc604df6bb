// The kafka sink: config parsing and validation, SLUICE_SINKS URLs, and delivery semantics
// against librdkafka's in-process mock cluster (acknowledgement only after delivery reports,
// dead letters, truncation, re-production in order after transient failures).
#include "sinks/kafka/kafka_sink.hpp"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka_mock.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "base/clock.hpp"
#include "config/factory.hpp"
#include "config/topology.hpp"
#include "options/components.hpp"
#include "options/config_error.hpp"
#include "support/sink_config.hpp"
#include "support/temp_dir.hpp"

namespace sluice {

using testing::TempDir;
namespace {

using testing::no_env;

std::unique_ptr<KafkaSink> make_sink(const std::string& yaml, const std::string& data_dir = "data",
                                     EnvLookup env = no_env()) {
  return testing::build_sink<KafkaSink>("kafka", "k", yaml, data_dir, env);
}

std::string config_error(const std::string& yaml) {
  return testing::config_error_of([&] { make_sink(yaml); });
}

std::string setting(const KafkaSink& sink, const std::string& property) {
  std::string value = "<unset>";
  for (const auto& [k, v] : sink.options().librdkafka) {
    if (k == property) value = v;  // the last one wins, as in librdkafka
  }
  return value;
}

TEST(KafkaSinkConfig, DefaultsAndOptions) {
  auto sink = make_sink("{brokers: 'a:9092,b:9092', topic: logs}");
  EXPECT_EQ(setting(*sink, "bootstrap.servers"), "a:9092,b:9092");
  EXPECT_EQ(setting(*sink, "acks"), "-1");
  EXPECT_EQ(setting(*sink, "enable.idempotence"), "true");
  EXPECT_EQ(setting(*sink, "compression.codec"), "lz4");
  EXPECT_EQ(setting(*sink, "message.timeout.ms"), "0");  // librdkafka retries in order forever
  EXPECT_TRUE(sink->options().topic.is_static());
  EXPECT_FALSE(sink->options().key.has_value());
  EXPECT_TRUE(sink->templates().empty());
  EXPECT_EQ(sink->encoding().kind, EncodingSpec::Kind::Json);
  EXPECT_EQ(sink->options().too_large, KafkaSinkOptions::TooLarge::DeadLetter);
  EXPECT_EQ(sink->options().flush_timeout_ns, 8'000'000'000);

  sink = make_sink(R"({brokers: b:1, topic: "logs-{{ ns }}", default_topic: logs-other,
      key: "{{ user }}", headers: {h1: app, h2: "x-{{ a.b }}"}, encoding: raw,
      compression: zstd, acks: 1, message_too_large: truncate, flush_timeout: 2s,
      librdkafka: {linger.ms: 50, client.id: me}})");
  EXPECT_EQ(setting(*sink, "acks"), "1");
  EXPECT_EQ(setting(*sink, "enable.idempotence"), "false");  // only valid with acks=all
  EXPECT_EQ(setting(*sink, "compression.codec"), "zstd");
  EXPECT_EQ(setting(*sink, "linger.ms"), "50");
  EXPECT_EQ(setting(*sink, "client.id"), "me");
  EXPECT_EQ(sink->options().default_topic, "logs-other");
  EXPECT_EQ(sink->encoding().kind, EncodingSpec::Kind::Raw);
  EXPECT_EQ(sink->options().too_large, KafkaSinkOptions::TooLarge::Truncate);
  EXPECT_EQ(sink->options().flush_timeout_ns, 2'000'000'000);
  // Rendered per event, in this order: topic, key, headers.
  auto templates = sink->templates();
  ASSERT_EQ(templates.size(), 4u);
  EXPECT_EQ(templates[0]->text(), "logs-{{ ns }}");
  EXPECT_EQ(templates[1]->text(), "{{ user }}");
  EXPECT_EQ(templates[2]->text(), "{{ app }}");
  EXPECT_EQ(templates[3]->text(), "x-{{ a.b }}");
}

TEST(KafkaSinkConfig, FlushTimeoutFollowsTheShutdownTimeout) {
  EnvLookup env = [](const std::string& name) -> std::optional<std::string> {
    if (name == "SLUICE_SHUTDOWN_TIMEOUT_SECONDS") return "5";
    return std::nullopt;
  };
  auto sink = make_sink("{brokers: b:1, topic: t}", "data", env);
  EXPECT_EQ(sink->options().flush_timeout_ns, 4'000'000'000);
}

TEST(KafkaSinkConfig, ErrorsNameTheKeyAndLine) {
  std::string e = config_error("{topic: t}");
  EXPECT_NE(e.find("`brokers` is required"), std::string::npos) << e;
  e = config_error("{brokers: b:1}");
  EXPECT_NE(e.find("`topic` is required"), std::string::npos) << e;
  e = config_error("{brokers: b:1, topic: t, compression: brotli}");
  EXPECT_NE(e.find("`compression` must be one of none, gzip, snappy, lz4, zstd"), std::string::npos)
      << e;
  e = config_error("{brokers: b:1, topic: t, acks: 2}");
  EXPECT_NE(e.find("`acks` must be one of all, 1, 0"), std::string::npos) << e;
  e = config_error("{brokers: b:1, topic: 'bad topic'}");
  EXPECT_NE(e.find("`topic` must be"), std::string::npos) << e;
  e = config_error("{brokers: b:1, topic: t, encoding: text}");
  EXPECT_NE(e.find("`encoding`"), std::string::npos) << e;
  e = config_error("{brokers: b:1, topic: 'a-{{ x'}");
  EXPECT_NE(e.find("unclosed"), std::string::npos) << e;
  e = config_error("{brokers: b:1, topic: t, headers: {h: 'bad field!'}}");
  EXPECT_NE(e.find("invalid field name"), std::string::npos) << e;
  // librdkafka's own checks, blamed on the line of the offending key.
  e = config_error("brokers: b:1\ntopic: t\nlibrdkafka:\n  linger.ms: 5\n  no.such.property: 1\n");
  EXPECT_NE(e.find("test.yaml:5:"), std::string::npos) << e;
  EXPECT_NE(e.find("no.such.property"), std::string::npos) << e;
  e = config_error("brokers: b:1\ntopic: t\nlibrdkafka: {linger.ms: soon}\n");
  EXPECT_NE(e.find("linger.ms"), std::string::npos) << e;
  // A combination only rd_kafka_new() rejects: idempotence needs acks=all.
  e = config_error("{brokers: b:1, topic: t, acks: 1, librdkafka: {enable.idempotence: true}}");
  EXPECT_NE(e.find("librdkafka rejects the settings"), std::string::npos) << e;
}

TEST(KafkaSinkConfig, UnknownKeysAreRejectedByTheFactory) {
  // The factory calls finish() on the sink's mapping: a typo is an error.
  YAML::Node node = YAML::Load("{brokers: b:1, topic: t, compresion: gzip}");
  const ComponentDescriptor& kafka = testing::descriptor_of(ComponentKind::Sink, "kafka");
  MapReader reader = testing::component_reader(kafka, node, "sink `k`", no_env());
  BuildContext context;
  auto sink = kafka.make_sink(reader, "k", context);
  try {
    reader.finish();
    FAIL() << "no error for an unknown key";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("compression"), std::string::npos) << e.what();
  }
}

TEST(KafkaSinkUrls, BrokersTopicAndOptions) {
  std::vector<ComponentDecl> sources{{"in", "stdin", {}, YAML::Node(), "x"}};
  auto sinks = sinks_from_urls(
      "kafka://b1:9092,b2:9092/logs?compression=zstd&key=%7B%7B%20user%20%7D%7D"
      "&librdkafka.linger.ms=20&headers.app=service,file:///tmp/a,b.jsonl, stdout://",
      sources);
  ASSERT_EQ(sinks.size(), 3u);
  EXPECT_EQ(sinks[0].name, "kafka");
  EXPECT_EQ(sinks[0].type, "kafka");
  EXPECT_EQ(sinks[0].node["brokers"].Scalar(), "b1:9092,b2:9092");
  EXPECT_EQ(sinks[0].node["topic"].Scalar(), "logs");
  EXPECT_EQ(sinks[0].node["compression"].Scalar(), "zstd");
  EXPECT_EQ(sinks[0].node["key"].Scalar(), "{{ user }}");
  EXPECT_EQ(sinks[0].node["librdkafka"]["linger.ms"].Scalar(), "20");
  EXPECT_EQ(sinks[0].node["headers"]["app"].Scalar(), "service");
  EXPECT_EQ(sinks[1].node["path"].Scalar(), "/tmp/a,b.jsonl");  // a comma inside a path
  EXPECT_EQ(sinks[2].type, "stdout");
  EXPECT_THROW(sinks_from_urls("kafka://b:9092", sources), ConfigError);
  EXPECT_THROW(sinks_from_urls("kafka://b:9092/", sources), ConfigError);
  EXPECT_THROW(sinks_from_urls("kafka:///logs", sources), ConfigError);
}

// --- delivery against the mock cluster ---------------------------------------------------------

struct FakeOwner final : DeliveryOwner {
  void finished(EncodedBatch* batch, int64_t /*cost*/) override { done[batch] += 1; }
  std::map<EncodedBatch*, int> done;
};

// A batch as the workers make it: events ending in '\n', one rendered key per event.
std::unique_ptr<EncodedBatch> make_batch(const std::vector<std::string>& events,
                                         const std::vector<std::string>& keys) {
  auto batch = std::make_unique<EncodedBatch>();
  for (size_t i = 0; i < events.size(); ++i) {
    batch->data.append(events[i]);
    batch->data.push_back('\n');
    batch->ends.push_back(static_cast<uint32_t>(batch->data.size()));
    if (!keys.empty()) {
      batch->rendered.append(keys[i]);
      batch->rendered_ends.push_back(static_cast<uint32_t>(batch->rendered.size()));
    }
  }
  batch->templates_per_event = keys.empty() ? 0 : 1;
  return batch;
}

struct Message {
  int32_t partition;
  std::string key;
  std::string value;
};

class KafkaSinkDelivery : public ::testing::Test {
 protected:
  void SetUp() override {
    char errstr[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof errstr);
    mock_rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    ASSERT_NE(mock_rk_, nullptr) << errstr;
    cluster_ = rd_kafka_mock_cluster_new(mock_rk_, 3);
    ASSERT_NE(cluster_, nullptr);
    ASSERT_EQ(rd_kafka_mock_topic_create(cluster_, "t", 3, 3), RD_KAFKA_RESP_ERR_NO_ERROR);
    bootstrap_ = rd_kafka_mock_cluster_bootstraps(cluster_);
  }
  void TearDown() override {
    if (cluster_) rd_kafka_mock_cluster_destroy(cluster_);
    if (mock_rk_) rd_kafka_destroy(mock_rk_);
  }

  std::unique_ptr<KafkaSink> sink(const std::string& extra) {
    return make_sink("{brokers: '" + bootstrap_ + "', topic: t" + extra + "}", dir_);
  }

  // Ticks the sink until every batch is done (or the timeout passes).
  void tick_until_done(KafkaSink& s, FakeOwner& owner, size_t batches, int timeout_s = 20) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    while (owner.done.size() < batches && std::chrono::steady_clock::now() < deadline) {
      s.tick(wall_clock_ns());
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  // Reads every message of topic `t` (3 partitions) from the beginning.
  std::vector<Message> read_all(size_t expect) {
    char errstr[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap_.c_str(), errstr, sizeof errstr);
    rd_kafka_conf_set(conf, "group.id", "unit", errstr, sizeof errstr);
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(3);
    for (int p = 0; p < 3; ++p) {
      rd_kafka_topic_partition_list_add(list, "t", p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    }
    rd_kafka_assign(rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    std::vector<Message> out;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (out.size() < expect && std::chrono::steady_clock::now() < deadline) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
      if (m == nullptr) continue;
      if (!m->err) {
        out.push_back({m->partition,
                       m->key ? std::string(static_cast<const char*>(m->key), m->key_len) : "",
                       std::string(static_cast<const char*>(m->payload), m->len)});
      }
      rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return out;
  }

  rd_kafka_t* mock_rk_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  std::string bootstrap_;
  TempDir tmp_{"sluice-ksink"};
  std::string dir_ = tmp_.path();
};

TEST_F(KafkaSinkDelivery, AcknowledgesEachBatchOnceAfterDelivery) {
  auto s = sink(", key: '{{ user }}'");
  FakeOwner owner;
  std::vector<std::unique_ptr<EncodedBatch>> batches;
  for (int b = 0; b < 3; ++b) {
    std::vector<std::string> events, keys;
    for (int i = 0; i < 100; ++i) {
      events.push_back("{\"b\":" + std::to_string(b) + ",\"i\":" + std::to_string(i) + "}");
      keys.push_back("u" + std::to_string(i % 7));
    }
    batches.push_back(make_batch(events, keys));
    s->consume(Delivery(batches.back().get(), &owner, 1));
  }
  batches.push_back(make_batch({}, {}));  // an empty batch is acknowledged at once
  s->consume(Delivery(batches.back().get(), &owner, 1));
  tick_until_done(*s, owner, batches.size());
  ASSERT_EQ(owner.done.size(), batches.size());
  for (const auto& [batch, n] : owner.done) EXPECT_EQ(n, 1);
  s->shutdown();
  EXPECT_EQ(s->totals().delivered, 300u);

  // Order within each key, and the key itself (the value has no trailing newline).
  auto messages = read_all(300);
  ASSERT_EQ(messages.size(), 300u);
  std::map<std::string, int> last;
  std::map<std::string, int32_t> partition_of;
  for (const auto& m : messages) {
    ASSERT_EQ(m.value.back(), '}');
    int b = m.value[5] - '0';
    int i = std::stoi(m.value.substr(m.value.find("\"i\":") + 4));
    EXPECT_EQ(m.key, "u" + std::to_string(i % 7));
    int seq = b * 1000 + i;
    auto it = last.find(m.key);
    if (it != last.end()) {
      EXPECT_GT(seq, it->second) << m.key;
    }
    last[m.key] = seq;
    auto [p, inserted] = partition_of.emplace(m.key, m.partition);
    EXPECT_EQ(p->second, m.partition) << "a key stays on one partition";
  }
}

TEST_F(KafkaSinkDelivery, TooLargeGoesToTheDeadLetterFileAndNeighboursAreDelivered) {
  auto s = sink(", librdkafka: {message.max.bytes: 1000}");
  FakeOwner owner;
  auto batch =
      make_batch({"{\"n\":1}", "{\"big\":\"" + std::string(5000, 'x') + "\"}", "{\"n\":3}"}, {});
  s->consume(Delivery(batch.get(), &owner, 1));
  tick_until_done(*s, owner, 1);
  ASSERT_EQ(owner.done.size(), 1u);
  s->shutdown();
  EXPECT_EQ(s->totals().delivered, 2u);
  EXPECT_EQ(s->totals().dead_lettered, 1u);
  EXPECT_EQ(s->status().dead_lettered.load(), 1u);  // what /metrics exports
  std::ifstream in(dir_ + "/dead-letter/k.jsonl");
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  EXPECT_NE(line.find("\"sink\":\"k\",\"topic\":\"t\",\"error\":\"MSG_SIZE_TOO_LARGE"),
            std::string::npos)
      << line;
  EXPECT_NE(line.find("\"event\":\"{\\\"big\\\":\\\"xxx"), std::string::npos) << line;
  EXPECT_FALSE(std::getline(in, line));
  auto messages = read_all(2);
  ASSERT_EQ(messages.size(), 2u);
}

TEST_F(KafkaSinkDelivery, TooLargeCanBeTruncated) {
  auto s = sink(", message_too_large: truncate, librdkafka: {message.max.bytes: 1000}");
  FakeOwner owner;
  auto batch = make_batch({"{\"big\":\"" + std::string(5000, 'x') + "\"}"}, {});
  s->consume(Delivery(batch.get(), &owner, 1));
  tick_until_done(*s, owner, 1);
  s->shutdown();
  EXPECT_EQ(s->totals().truncated, 1u);
  EXPECT_EQ(s->totals().dead_lettered, 0u);
  auto messages = read_all(1);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_LT(messages[0].value.size(), 1000u);
  EXPECT_EQ(messages[0].value.substr(0, 9), "{\"big\":\"x");
}

TEST_F(KafkaSinkDelivery, TimedOutMessagesAreProducedAgainInOrder) {
  // librdkafka gives up after 1 s while every broker is down: the sink takes the messages
  // back and produces them again, in their original order, once the cluster is back.
  auto s = sink(", key: '{{ k }}', librdkafka: {message.timeout.ms: 1000}");
  FakeOwner owner;
  std::vector<std::unique_ptr<EncodedBatch>> batches;
  for (int id = 1; id <= 3; ++id) rd_kafka_mock_broker_set_down(cluster_, id);
  for (int b = 0; b < 4; ++b) {
    std::vector<std::string> events, keys;
    for (int i = 0; i < 50; ++i) {
      events.push_back("{\"seq\":" + std::to_string(b * 50 + i) + "}");
      keys.push_back("k" + std::to_string(i % 3));
    }
    batches.push_back(make_batch(events, keys));
    s->consume(Delivery(batches.back().get(), &owner, 1));
  }
  std::thread revive([this] {
    std::this_thread::sleep_for(std::chrono::milliseconds(3500));
    for (int id = 1; id <= 3; ++id) rd_kafka_mock_broker_set_up(cluster_, id);
  });
  tick_until_done(*s, owner, batches.size(), 40);
  revive.join();
  ASSERT_EQ(owner.done.size(), batches.size());
  s->shutdown();
  EXPECT_GE(s->totals().requeued, 200u);
  EXPECT_GT(s->status().retries.load(), 0u);
  auto messages = read_all(200);
  ASSERT_EQ(messages.size(), 200u);
  std::map<std::string, int> last;
  for (const auto& m : messages) {
    int seq = std::stoi(m.value.substr(7));
    auto it = last.find(m.key);
    if (it != last.end()) {
      EXPECT_GT(seq, it->second) << "key " << m.key;
    }
    last[m.key] = seq;
  }
}

}  // namespace
}  // namespace sluice
