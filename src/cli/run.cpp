// `sluice run` and `sluice validate`: load the topology, build it, run it.
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>

#include "base/clock.hpp"
#include "base/log.hpp"
#include "base/secrets.hpp"
#include "cli/commands.hpp"
#include "cli/environment.hpp"
#include "config/factory.hpp"
#include "core/open_file_limit.hpp"
#include "options/config_error.hpp"
#include "server/liveness_report.hpp"
#include "server/metrics_report.hpp"
#include "sources/exec/child_reaper.hpp"

namespace sluice::cli {

namespace {

TopologyInputs topology_inputs(const std::optional<std::string>& config_path,
                               const std::vector<std::string>& command) {
  TopologyInputs inputs;
  inputs.config_path = config_path ? config_path : env_var("SLUICE_CONFIG");
  inputs.exec_command = command;
  inputs.sinks_env = env_var("SLUICE_SINKS");
  inputs.env = process_environment();
  return inputs;
}

// Serves /metrics, /health/live and /health/ready (alias /health) on SLUICE_METRICS_ADDR. A port
// already taken is reported and sluice runs on: losing metrics must not stop log delivery.
std::unique_ptr<HttpServer> start_metrics_server(const Pipeline& pipeline,
                                                 const PipelineOptions& options) {
  std::optional<std::string> address = metrics_address_from_env();
  if (!address) return nullptr;
  HttpServer::Handlers handlers;
  handlers.metrics = [&pipeline] { return render_metrics(pipeline); };
  handlers.ready = [&pipeline, grace = options.health_sink_grace_ns] {
    return health_report(pipeline, grace, monotonic_ns());
  };
  handlers.live = [&pipeline] { return liveness_report(pipeline.liveness(monotonic_ns())); };
  std::string error;
  auto server = HttpServer::start(*address, std::move(handlers), &error);
  if (!server) {
    log::error("metrics server not started", "address", *address, "error", error);
    return nullptr;
  }
  return server;
}

}  // namespace

int run_command(const RunArgs& args) {
  // Before any thread or child exists; the file sources size themselves from the result.
  raise_open_file_limit();
  reap_orphans_as_init();
  try {
    BuiltPipeline built = guard_config_errors([&args] {
      Topology topology = load_topology(topology_inputs(args.config_path, args.command));
      BuiltPipeline pipeline = build_pipeline(topology, build_context());
      pipeline.options.shutdown_timeout_ns = shutdown_timeout_ns();
      return pipeline;
    });
    log::info("starting", "sources", built.sources.size(), "transforms", built.transforms.size(),
              "sinks", built.sinks.size(), "workers", built.options.workers);
    Pipeline pipeline(built.options, std::move(built.sources), std::move(built.transforms),
                      std::move(built.sinks));
    std::unique_ptr<HttpServer> server = start_metrics_server(pipeline, built.options);
    return pipeline.run();
  } catch (const ConfigError& e) {
    log::error("invalid configuration", "error", e.what());
    return kExitConfig;
  }
}

int validate_command(const RunArgs& args) {
  try {
    Topology topology = guard_config_errors([&args] {
      Topology loaded = load_topology(topology_inputs(args.config_path, args.command));
      build_pipeline(loaded, build_context());
      return loaded;
    });
    std::cout << secrets::redact(topology.file + ": valid\n" + describe(topology));
    return 0;
  } catch (const ConfigError& e) {
    std::cerr << "sluice: invalid configuration: " << secrets::redact(e.what()) << "\n";
    return kExitConfig;
  }
}

}  // namespace sluice::cli
