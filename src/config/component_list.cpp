#include "config/component_list.hpp"

namespace sluice {

// Each defined in its component's folder, next to its code.
const ComponentDescriptor& stdin_source_descriptor();
const ComponentDescriptor& exec_source_descriptor();
const ComponentDescriptor& file_source_descriptor();
const ComponentDescriptor& container_source_descriptor();
const ComponentDescriptor& kafka_source_descriptor();
const ComponentDescriptor& filter_transform_descriptor();
const ComponentDescriptor& remap_transform_descriptor();
const ComponentDescriptor& throttle_transform_descriptor();
const ComponentDescriptor& file_sink_descriptor();
const ComponentDescriptor& stdout_sink_descriptor();
const ComponentDescriptor& kafka_sink_descriptor();
const ComponentDescriptor& elasticsearch_sink_descriptor();

std::span<const ComponentDescriptor* const> component_list() {
  static const ComponentDescriptor* const kList[] = {
      &stdin_source_descriptor(),    &exec_source_descriptor(),
      &file_source_descriptor(),     &container_source_descriptor(),
      &kafka_source_descriptor(),    &filter_transform_descriptor(),
      &remap_transform_descriptor(), &throttle_transform_descriptor(),
      &file_sink_descriptor(),       &stdout_sink_descriptor(),
      &kafka_sink_descriptor(),      &elasticsearch_sink_descriptor(),
  };
  return kList;
}

const ComponentDescriptor* find_component(ComponentKind kind, std::string_view type) {
  for (const ComponentDescriptor* d : component_list()) {
    if (d->kind == kind && d->type == type) return d;
  }
  return nullptr;
}

std::vector<std::string> component_types(ComponentKind kind) {
  std::vector<std::string> out;
  for (const ComponentDescriptor* d : component_list()) {
    if (d->kind == kind) out.push_back(d->type);
  }
  return out;
}

const ComponentDescriptor* find_sink_scheme(std::string_view scheme) {
  for (const ComponentDescriptor* d : component_list()) {
    if (!d->url) continue;
    for (const std::string& s : d->url->schemes) {
      if (s == scheme) return d;
    }
  }
  return nullptr;
}

}  // namespace sluice
