#pragma once
// Builds the running pipeline from a validated topology. The table of component types is an
// explicit list in factory.cpp: adding a component is one line there plus its own files.
#include <string>

#include "config/topology.hpp"
#include "core/pipeline.hpp"

namespace sluice {

struct BuildContext {
  std::string host_name;
  std::string data_dir = "data";  // $SLUICE_DATA_DIR, else ./data; the config's `data_dir` wins
  bool stdout_is_tty = false;
  bool no_color = false;  // NO_COLOR is set
  EnvLookup env;
};

struct BuiltPipeline {
  PipelineOptions options;
  std::vector<SourceSpec> sources;
  std::vector<TransformSpec> transforms;
  std::vector<SinkSpec> sinks;
};

// Throws ConfigError (with file, line and column) for any invalid option.
BuiltPipeline build_pipeline(const Topology& topology, const BuildContext& context);

}  // namespace sluice
