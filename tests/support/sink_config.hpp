#pragma once
// Builds a sink from a YAML snippet the way the config loader does, for the sinks' unit tests.
#include <yaml-cpp/yaml.h>

#include <memory>
#include <optional>
#include <string>

#include "config/factory.hpp"
#include "options/components.hpp"
#include "options/config_error.hpp"
#include "options/map_reader.hpp"

namespace sluice::testing {

inline EnvLookup no_env() {
  return [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
}

// `make` is the component's maker (make_kafka_sink, ...); SinkT its concrete type.
template <typename SinkT, typename Maker>
std::unique_ptr<SinkT> build_sink(Maker make, const std::string& name, const std::string& yaml,
                                  const std::string& data_dir, const EnvLookup& env) {
  YAML::Node node = YAML::Load(yaml);
  MapReader reader(node, "sink `" + name + "`", "test.yaml", env);
  BuildContext context;
  context.data_dir = data_dir;
  context.env = env;
  std::unique_ptr<Sink> sink = make(reader, name, context);
  reader.finish();
  return std::unique_ptr<SinkT>(static_cast<SinkT*>(sink.release()));
}

// The ConfigError message `build` throws, or "" when it throws none.
template <typename Build>
std::string config_error_of(Build build) {
  try {
    build();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace sluice::testing
