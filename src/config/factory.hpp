#pragma once
// Builds the running pipeline from a validated topology. The table of component types is an
// explicit list in factory.cpp: adding a component is one line there plus its own files.
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
