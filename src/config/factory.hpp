#pragma once
// Builds the running pipeline from a validated topology. The component types are the descriptors
// of config/component_list.cpp; each component's mapping is read against its schema.
#include <vector>

#include "config/topology.hpp"
#include "core/pipeline.hpp"
#include "options/build_context.hpp"

namespace sluice {

struct BuiltPipeline {
  PipelineOptions options;
  std::vector<SourceSpec> sources;
  std::vector<TransformSpec> transforms;
  std::vector<SinkSpec> sinks;
};

// Throws ConfigError (with file, line and column) for any invalid option.
BuiltPipeline build_pipeline(const Topology& topology, const BuildContext& context);

}  // namespace sluice
