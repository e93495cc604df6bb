#pragma once
// Builds the running pipeline from a validated topology. The table of component types is an
// explicit list in factory.cpp: adding a component is one line there plus its own files.
#include <cstdint>
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

// How long a sink flushes at shutdown unless configured: most of SLUICE_SHUTDOWN_TIMEOUT_SECONDS
// (default 10), so that the sink can still report what it could not deliver before the
// pipeline's own deadline ends the process.
int64_t default_sink_flush_timeout_ns(const BuildContext& context);

// Throws ConfigError (with file, line and column) for any invalid option.
BuiltPipeline build_pipeline(const Topology& topology, const BuildContext& context);

}  // namespace sluice
