// The `kafka` sink's configuration: YAML options and SLUICE_SINKS URLs → KafkaSinkOptions.
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "base/clock.hpp"
#include "core/safe_names.hpp"
#include "options/build_context.hpp"
#include "options/components.hpp"
#include "options/config_error.hpp"
#include "options/descriptor.hpp"
#include "sinks/kafka/kafka_sink.hpp"

namespace sluice {

namespace {

// Kafka's rule for topic names (checked for fixed names; a rendered one is made legal by the
// renderer, Template::RenderMode::KafkaTopic).
bool valid_topic_name(std::string_view name) {
  if (name.empty() || name.size() > 249 || name == "." || name == "..") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

// The first character of a topic template's own text (outside `{{ }}` and `%` fields) that
// Kafka does not allow in topic names, or 0. Rendered values are cleaned per event; the text the
// user wrote is checked here instead of being changed silently.
char bad_topic_template_char(std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 2, "{{") == 0) {
      size_t close = text.find("}}", i + 2);
      if (close == std::string_view::npos) return 0;  // Template::parse reports it
      i = close + 1;
    } else if (text[i] == '%' && i + 1 < text.size() && text[i + 1] != '%') {
      ++i;
    } else if (!names::topic_char(static_cast<unsigned char>(text[i]))) {
      return text[i];
    }
  }
  return 0;
}

std::unique_ptr<Sink> make_kafka_sink(MapReader& config, const std::string& name,
                                      const BuildContext& context) {
  KafkaSinkOptions o;
  o.name = name;
  o.data_dir = context.data_dir;
  auto parse_template = [&config](const std::string& key, const std::string& text) {
    std::string error;
    std::optional<Template> t = Template::parse(text, &error);
    if (!t) config.fail(key, error);
    return std::move(*t);
  };
  // Where a librdkafka property came from, to blame the right key when librdkafka rejects it.
  struct Setting {
    std::string property;
    std::string value;
    std::string blame;  // the sink option, or the key inside `librdkafka:`
    bool from_map;
  };
  std::vector<Setting> settings;
  auto set = [&settings](std::string property, std::string value, std::string blame) {
    settings.push_back({std::move(property), std::move(value), std::move(blame), false});
  };

  std::string brokers = config.required_string("brokers");
  reject_credentials_in_brokers(config, brokers);
  o.topic = parse_template("topic", config.required_string("topic"));
  if (o.topic.is_static() && !valid_topic_name(o.topic.text())) {
    config.fail("topic", "`topic` must be 1-249 characters of a-z A-Z 0-9 . _ -, not `" +
                             o.topic.text() + "`");
  }
  if (char bad = bad_topic_template_char(o.topic.text()); !o.topic.is_static() && bad != 0) {
    config.fail("topic", "`topic`: the character `" + std::string(1, bad) +
                             "` is not allowed in a Kafka topic name (a-z A-Z 0-9 . _ -)");
  }
  o.default_topic = config.string("default_topic", "");
  if (!o.default_topic.empty() && !valid_topic_name(o.default_topic)) {
    config.fail("default_topic", "`default_topic` must be 1-249 characters of a-z A-Z 0-9 . _ -");
  }
  if (std::optional<std::string> key = config.string("key")) {
    if (!key->empty()) o.key = parse_template("key", *key);
  }
  for (const auto& [header, field] : config.string_map("headers")) {
    const std::string& text = field.first;
    if (header.empty() || text.empty()) {
      config.fail("headers", "`headers` maps a header name to an event field, e.g. {app: service}");
    }
    // A bare field name is short for `{{ field }}`; a full template is taken as it is.
    bool is_template = text.find("{{") != std::string::npos;
    o.headers.emplace_back(header,
                           parse_template("headers", is_template ? text : "{{ " + text + " }}"));
  }
  // Keys and headers carry the field's value as it is; a missing field is marked, so that the
  // sink leaves the key or header out, or uses `default_topic`.
  std::string marker(kKafkaMissingField);
  // A rendered topic is made a legal topic name (core/safe_names.hpp): a value can neither cut
  // it (NUL) nor send a name the broker refuses.
  using Mode = Template::RenderMode;
  o.topic.set_sink_rendering(Mode::KafkaTopic, o.default_topic.empty() ? "unknown" : marker);
  if (o.key) o.key->set_sink_rendering(Mode::Raw, marker);
  for (auto& header : o.headers) header.second.set_sink_rendering(Mode::Raw, marker);
  o.encoding.kind = config.choice<EncodingSpec::Kind>(
      "encoding", EncodingSpec::Kind::Json,
      {{"json", EncodingSpec::Kind::Json}, {"raw", EncodingSpec::Kind::Raw}});
  std::string compression = config.choice<std::string>(
      "compression", "lz4",
      {{"none", "none"}, {"gzip", "gzip"}, {"snappy", "snappy"}, {"lz4", "lz4"}, {"zstd", "zstd"}});
  std::string acks =
      config.choice<std::string>("acks", "-1", {{"all", "-1"}, {"1", "1"}, {"0", "0"}});
  o.too_large = config.choice<KafkaSinkOptions::TooLarge>(
      "message_too_large", KafkaSinkOptions::TooLarge::DeadLetter,
      {{"dead_letter", KafkaSinkOptions::TooLarge::DeadLetter},
       {"truncate", KafkaSinkOptions::TooLarge::Truncate}});
  o.flush_timeout_ns = config.duration_ns("flush_timeout", default_sink_flush_timeout_ns(context));

  // Defaults chosen for throughput with safety; every one can be overridden in `librdkafka:`.
  set("bootstrap.servers", brokers, "brokers");
  set("client.id", "sluice", "brokers");
  set("acks", acks, "acks");
  // Idempotence keeps librdkafka's own retries in order and free of duplicates; Kafka allows
  // it only with acks=all.
  set("enable.idempotence", acks == "-1" ? "true" : "false", "acks");
  set("compression.codec", compression, "compression");
  set("linger.ms", "10", "brokers");        // fuller batches at a small latency cost
  set("batch.size", "1000000", "brokers");  // bytes per partition batch
  set("batch.num.messages", "100000", "brokers");
  // librdkafka retries transient errors in order for as long as it takes (see kafka_sink.hpp).
  set("message.timeout.ms", "0", "brokers");
  // A broker back from a restart is reconnected within 2 s (librdkafka: up to 10 s).
  set("reconnect.backoff.max.ms", "2000", "brokers");
  set("queue.buffering.max.messages", "1000000", "brokers");  // memory is bounded by `buffer`
  set("queue.buffering.max.kbytes", "262144", "brokers");
  // The Java client's partitioner: a key lands on the same partition as from Java producers.
  set("partitioner", "murmur2_random", "key");
  set("log_level", "4", "brokers");
  MapReader passthrough = config.sub("librdkafka");
  if (passthrough.node() && passthrough.node().IsMap()) {
    for (auto it = passthrough.node().begin(); it != passthrough.node().end(); ++it) {
      std::string property = it->first.Scalar();
      std::optional<std::string> value = passthrough.string(property);
      if (value && is_broker_list_property(property)) {
        reject_credentials_in_brokers(passthrough, *value, property);
      }
      settings.push_back({property, value.value_or(""), property, true});
    }
  }
  passthrough.finish();

  // librdkafka checks each property as it is set and the combination when a client is made:
  // do both now, so that a mistake is a config error (exit 78) with its line, not a failure at
  // run time. The probe client has no bootstrap servers (it must not connect anywhere, e.g. in
  // `sluice validate`) and is destroyed at once.
  for (const auto& s : settings) o.librdkafka.emplace_back(s.property, s.value);
  auto fail_on = [&](const std::string& property, const std::string& message) {
    std::string text = "librdkafka `";
    text.append(property).append("`: ").append(message);
    for (const auto& s : settings) {
      if (s.property != property) continue;
      if (s.from_map) passthrough.fail(s.blame, text);
      config.fail(s.blame, text);
    }
    config.fail_here("librdkafka: " + message);
  };
  std::string failed;
  std::string error;
  rd_kafka_conf_t* conf = make_kafka_conf(o.librdkafka, &failed, &error);
  if (conf == nullptr) fail_on(failed, error);
  char errstr[512];
  rd_kafka_conf_set(conf, "bootstrap.servers", "", errstr, sizeof errstr);
  rd_kafka_conf_set_log_cb(conf, [](const rd_kafka_t*, int, const char*, const char*) {});
  rd_kafka_t* probe = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (probe == nullptr) {
    rd_kafka_conf_destroy(conf);
    bool from_map =
        std::any_of(settings.begin(), settings.end(), [](const Setting& s) { return s.from_map; });
    if (from_map)
      config.fail("librdkafka", std::string("librdkafka rejects the settings: ") + errstr);
    config.fail_here(std::string("librdkafka rejects the settings: ") + errstr);
  }
  rd_kafka_destroy(probe);
  return std::make_unique<KafkaSink>(std::move(o));
}

// kafka://host:port[,host:port]/topic
void kafka_url_options(const SinkUrl& url, YAML::Node& options) {
  size_t slash = url.rest.find('/');
  if (slash == 0 || slash == std::string::npos || slash + 1 == url.rest.size()) {
    throw ConfigError(std::string(kSinkUrlVariable) +
                      ": Kafka URLs name brokers and a topic: kafka://host:9092/topic");
  }
  options["brokers"] = percent_decode(url.rest.substr(0, slash));
  options["topic"] = percent_decode(url.rest.substr(slash + 1));
}

}  // namespace

const ComponentDescriptor& kafka_sink_descriptor() {
  static const ComponentDescriptor descriptor{
      .kind = ComponentKind::Sink,
      .type = "kafka",
      .summary = "produces events to Kafka topics (librdkafka, idempotent producer)",
      .options =
          {
              {.key = "brokers",
               .type = OptionType::String,
               .description = "`h1:9092,h2:9092`; no `user:password@` (use `librdkafka`)",
               .required = true},
              {.key = "topic",
               .type = OptionType::Template,
               .description = "e.g. `logs-{{ kubernetes.namespace }}`, strftime fields; rendered "
                              "names are made legal, its own text must be `a-z A-Z 0-9 . _ -`",
               .required = true},
              {.key = "default_topic",
               .type = OptionType::String,
               .description = "when the `topic` template misses a field"},
              {.key = "key",
               .type = OptionType::Template,
               .default_shown = "none (librdkafka's partitioner)",
               .description = "the message key"},
              {.key = "headers",
               .type = OptionType::Map,
               .description = "`{name: field}`: message headers from event fields (or templates)"},
              {.key = "encoding",
               .type = OptionType::Enum,
               .default_shown = "json",
               .description = "`json` or `raw` (the original line)",
               .choices = {"json", "raw"}},
              {.key = "compression",
               .type = OptionType::Enum,
               .default_shown = "lz4",
               .description = "the producer's compression codec",
               .choices = {"none", "gzip", "snappy", "lz4", "zstd"}},
              {.key = "acks",
               .type = OptionType::Enum,
               .default_shown = "all",
               .description = "`all` with the idempotent producer, `1`, or `0`",
               .choices = {"all", "1", "0"}},
              {.key = "message_too_large",
               .type = OptionType::Enum,
               .default_shown = "dead_letter",
               .description = "what happens to a message the broker refuses as too large",
               .choices = {"dead_letter", "truncate"}},
              {.key = "flush_timeout",
               .type = OptionType::Duration,
               .default_shown = "80% of the shutdown timeout",
               .description = "how long the sink delivers at shutdown"},
              {.key = "librdkafka",
               .type = OptionType::Map,
               .description = "`{property: value}`: TLS, SASL, anything else; applied last, "
                              "errors are config errors"},
          },
      .make_sink = &make_kafka_sink,
      .url = UrlSupport{.schemes = {"kafka"},
                        .to_options = &kafka_url_options,
                        .credentials_example =
                            "`?librdkafka.sasl.username=${KAFKA_USER}&librdkafka.sasl."
                            "password=${KAFKA_PASSWORD}`"},
  };
  return descriptor;
}

}  // namespace sluice
