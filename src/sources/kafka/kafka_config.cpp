// The `kafka` source's configuration: YAML options → KafkaSourceOptions, and the librdkafka
// properties a user may not set because sluice owns them.
#include "options/components.hpp"
#include "options/descriptor.hpp"
#include "sources/kafka/kafka_source.hpp"

namespace sluice {

namespace {

struct Reserved {
  const char* property;
  const char* option;
};
constexpr Reserved kReserved[] = {
    {"bootstrap.servers", "brokers"},
    {"metadata.broker.list", "brokers"},
    {"group.id", "group_id"},
    {"auto.offset.reset", "auto_offset_reset"},
    {"enable.auto.commit", "(sluice commits acknowledged offsets itself)"},
    {"auto.commit.enable", "(sluice commits acknowledged offsets itself)"},
    {"enable.auto.offset.store", "(sluice commits acknowledged offsets itself)"},
};

}  // namespace

const char* KafkaSource::reserved_property(std::string_view key) {
  for (const Reserved& r : kReserved) {
    if (key == r.property) return r.option;
  }
  return nullptr;
}

bool KafkaSource::check_property(const std::string& key, const std::string& value,
                                 std::string* error) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char errstr[512];
  bool ok = rd_kafka_conf_set(conf, key.c_str(), value.c_str(), errstr, sizeof errstr) ==
            RD_KAFKA_CONF_OK;
  if (!ok) *error = errstr;
  rd_kafka_conf_destroy(conf);
  return ok;
}

namespace {

std::unique_ptr<Source> make_kafka_source(MapReader& config, const SourceBuildContext& context) {
  KafkaSourceOptions o;
  o.name = context.name;
  o.framer = context.framer;
  if (context.framer.multiline) {
    config.fail("multiline", "`multiline` does not apply to `kafka`: each message is one event");
  }
  o.brokers = config.required_string("brokers");
  reject_credentials_in_brokers(config, o.brokers);
  o.group_id = config.required_string("group_id");
  o.topics = config.string_list("topics");
  if (o.topics.empty()) {
    config.fail_here("`topics` is required: topic names, or `^regex` patterns");
  }
  for (const std::string& t : o.topics) {
    if (t.empty() || t == "^") config.fail("topics", "`topics` has an empty entry");
  }
  o.from_earliest =
      config.choice<bool>("auto_offset_reset", false, {{"latest", false}, {"earliest", true}});
  o.commit_interval_ns = config.duration_ns("commit_interval", o.commit_interval_ns);
  if (o.commit_interval_ns < 10'000'000) {
    config.fail("commit_interval", "`commit_interval` must be at least 10ms");
  }
  o.revoke_timeout_ns = config.duration_ns("revoke_timeout", o.revoke_timeout_ns);
  if (o.revoke_timeout_ns < 0) config.fail("revoke_timeout", "`revoke_timeout` must be >= 0");
  if (config.has("librdkafka")) {
    MapReader lib = config.sub("librdkafka");
    std::vector<std::string> keys;
    for (auto it = lib.node().begin(); it != lib.node().end(); ++it) {
      keys.push_back(it->first.Scalar());
    }
    for (const std::string& key : keys) {
      std::string value = lib.string(key, "");
      if (const char* owner = KafkaSource::reserved_property(key)) {
        lib.fail(key, "`" + key + "` is set by sluice: use " +
                          (owner[0] == '(' ? std::string(owner) : "`" + std::string(owner) + "`"));
      }
      std::string error;
      if (!KafkaSource::check_property(key, value, &error)) lib.fail(key, error);
      o.librdkafka.emplace_back(key, value);
    }
    lib.finish();
  } else {
    config.sub("librdkafka");
  }
  return std::make_unique<KafkaSource>(std::move(o));
}

}  // namespace

const ComponentDescriptor& kafka_source_descriptor() {
  static const ComponentDescriptor descriptor{
      .kind = ComponentKind::Source,
      .type = "kafka",
      .summary = "consumes topics in a consumer group; offsets are committed once delivered",
      .options =
          {
              {.key = "brokers",
               .type = OptionType::String,
               .description = "`h1:9092,h2:9092`; no `user:password@` (use `librdkafka`)",
               .required = true},
              {.key = "group_id",
               .type = OptionType::String,
               .description = "the consumer group: more processes with one id share the work",
               .required = true},
              {.key = "topics",
               .type = OptionType::List,
               .description = "topic names; `^regex` subscribes by pattern",
               .required = true},
              {.key = "auto_offset_reset",
               .type = OptionType::Enum,
               .default_shown = "latest",
               .description = "where a group without committed offsets starts",
               .choices = {"latest", "earliest"}},
              {.key = "commit_interval",
               .type = OptionType::Duration,
               .default_shown = "1s",
               .description = "how often acknowledged offsets are committed (at least 10ms)"},
              {.key = "revoke_timeout",
               .type = OptionType::Duration,
               .default_shown = "10s",
               .description = "how long a rebalance waits for in-flight events to be delivered"},
              {.key = "librdkafka",
               .type = OptionType::Map,
               .description = "`{property: value}` for the consumer (TLS, SASL, ...); the "
                              "properties sluice owns are refused"},
          },
      .make_source = &make_kafka_source,
  };
  return descriptor;
}

}  // namespace sluice
