#pragma once
// Builds a component from a YAML snippet the way the config loader does (with its schema), for
// the components' unit tests.
#include <yaml-cpp/yaml.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "config/component_list.hpp"
#include "config/factory.hpp"
#include "options/components.hpp"
#include "options/config_error.hpp"
#include "options/map_reader.hpp"

namespace sluice::testing {

inline EnvLookup no_env() {
  return [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
}

// The descriptor of a component type this build knows (the test fails without one).
inline const ComponentDescriptor& descriptor_of(ComponentKind kind, const std::string& type) {
  const ComponentDescriptor* found = find_component(kind, type);
  if (found == nullptr) throw std::logic_error("no component " + type);
  return *found;
}

// A reader of a component's mapping with the component's schema, as the config loader makes it:
// reading an option the schema does not declare throws std::logic_error.
inline MapReader component_reader(const ComponentDescriptor& descriptor, const YAML::Node& node,
                                  const std::string& what, const EnvLookup& env) {
  return MapReader(node, what, "test.yaml", env,
                   std::make_shared<const OptionSchema>(descriptor.schema()));
}

// Builds sink `type` (kafka, elasticsearch, ...) from `yaml`; SinkT is its concrete type.
template <typename SinkT>
std::unique_ptr<SinkT> build_sink(const std::string& type, const std::string& name,
                                  const std::string& yaml, const std::string& data_dir,
                                  const EnvLookup& env) {
  YAML::Node node = YAML::Load(yaml);
  const ComponentDescriptor& descriptor = descriptor_of(ComponentKind::Sink, type);
  MapReader reader = component_reader(descriptor, node, "sink `" + name + "`", env);
  BuildContext context;
  context.data_dir = data_dir;
  context.env = env;
  std::unique_ptr<Sink> sink = descriptor.make_sink(reader, name, context);
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
