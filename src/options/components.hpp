#pragma once
// What component makers share: the context a source is built with, and the checks of Kafka's
// broker lists (source and sink). Each maker is named by its component's descriptor
// (options/descriptor.hpp); config/component_list.cpp lists the descriptors.
#include <memory>
#include <string>

#include "options/map_reader.hpp"
#include "parse/event_parser.hpp"
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
  // The source's `parser` settings (its own parser is built from them by the pipeline): a file
  // source builds a file's parser from them when a pod's hint names another format.
  ParserOptions parser = {};
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

}  // namespace sluice
