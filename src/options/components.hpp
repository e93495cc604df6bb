#pragma once
// The constructor of every component type, from its YAML mapping. Each is defined next to the
// component it builds; factory.cpp lists them in one table.
#include <memory>
#include <string>

#include "options/map_reader.hpp"
#include "parse/framer.hpp"
#include "sluice/sink.hpp"
#include "sluice/source.hpp"
#include "sluice/transform.hpp"

namespace sluice {

struct BuildContext;

// What every source constructor gets besides its own mapping.
struct SourceBuildContext {
  std::string name;      // the component's name
  FramerOptions framer;  // max_line_bytes, multiline
  std::string data_dir;  // where sources keep their state (checkpoints)
};

// Kafka `brokers` are `host:port[,host:port]`. librdkafka takes a `user:password@` there for part
// of a host name and logs it with every failed connection: refused, without quoting the value.
// The same holds for librdkafka's own broker-list properties (`key`), where they may be set.
inline void reject_credentials_in_brokers(MapReader& config, const std::string& brokers,
                                          const std::string& key = "brokers") {
  if (brokers.find('@') != std::string::npos) {
    config.fail(key, "`" + key +
                         "` must not contain credentials (`user:password@`; the value is not "
                         "shown): set `librdkafka: {sasl.username: ..., sasl.password: ...}`");
  }
}

// librdkafka properties that hold a broker list (checked like `brokers`).
inline bool is_broker_list_property(const std::string& property) {
  return property == "bootstrap.servers" || property == "metadata.broker.list";
}

std::unique_ptr<Source> make_stdin_source(MapReader& config, const SourceBuildContext& context);
std::unique_ptr<Source> make_exec_source(MapReader& config, const SourceBuildContext& context);
std::unique_ptr<Source> make_file_source(MapReader& config, const SourceBuildContext& context);
std::unique_ptr<Source> make_container_source(MapReader& config, const SourceBuildContext& context);
std::unique_ptr<Source> make_kafka_source(MapReader& config, const SourceBuildContext& context);

std::unique_ptr<Transform> make_filter_transform(MapReader& config);
std::unique_ptr<Transform> make_remap_transform(MapReader& config);

std::unique_ptr<Sink> make_file_sink(MapReader& config, const std::string& name,
                                     const BuildContext& context);
std::unique_ptr<Sink> make_stdout_sink(MapReader& config, const std::string& name,
                                       const BuildContext& context);
std::unique_ptr<Sink> make_kafka_sink(MapReader& config, const std::string& name,
                                      const BuildContext& context);
std::unique_ptr<Sink> make_elasticsearch_sink(MapReader& config, const std::string& name,
                                              const BuildContext& context);

}  // namespace sluice
