// `sluice run` and `sluice validate`: load the topology, build it, run it.
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>

#include "base/clock.hpp"
#include "base/json_writer.hpp"
#include "base/log.hpp"
#include "base/secrets.hpp"
#include "cli/commands.hpp"
#include "cli/config_reload.hpp"
#include "cli/environment.hpp"
#include "cli/validate_deep.hpp"
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

// The body POST /reload answers with.
HealthReport reload_answer(const ConfigReloader::Result& result) {
  ByteBuffer body;
  body.append(result.success ? "{\"result\":\"success\",\"detail\":"
                             : "{\"result\":\"failure\",\"detail\":");
  append_json_string(body, result.detail, false);
  body.append(",\"seconds\":" + std::to_string(result.seconds) + "}\n");
  return HealthReport{result.success, std::string(body.data(), body.size())};
}

// Serves /metrics, /health/live and /health/ready (alias /health) and GET /tap on
// SLUICE_METRICS_ADDR, and POST /reload when there is a config file to reload. A port already taken
// is reported and sluice runs on: losing metrics must not stop log delivery.
std::unique_ptr<HttpServer> start_metrics_server(Pipeline& pipeline, const PipelineOptions& options,
                                                 const std::shared_ptr<ConfigReloader>& reloader) {
  std::optional<std::string> address = metrics_address_from_env();
  if (!address) return nullptr;
  HttpServer::Handlers handlers;
  handlers.metrics = [&pipeline] { return render_metrics(pipeline); };
  handlers.ready = [&pipeline, grace = options.health_sink_grace_ns] {
    return health_report(pipeline, grace, monotonic_ns());
  };
  handlers.live = [&pipeline] { return liveness_report(pipeline.liveness(monotonic_ns())); };
  handlers.tap = [&pipeline](const TapRequest& request) { return pipeline.open_tap(request); };
  if (reloader) {
    // Weak: the reloader goes first at exit (answering whoever still waits while the server
    // can send it); a request arriving after that is answered here.
    handlers.reload =
        [weak = std::weak_ptr<ConfigReloader>(reloader)](std::function<void(HealthReport)> answer) {
          std::shared_ptr<ConfigReloader> alive = weak.lock();
          if (!alive) {
            answer(reload_answer({false, "sluice is shutting down", 0}));
            return;
          }
          alive->request("POST /reload",
                         [answer = std::move(answer)](const ConfigReloader::Result& result) {
                           answer(reload_answer(result));
                         });
        };
  }
  std::string error;
  auto server = HttpServer::start(*address, std::move(handlers), &error);
  if (!server) {
    log::error("metrics server not started", "address", *address, "error", error);
    return nullptr;
  }
  return server;
}

bool watch_config_from_env() {
  std::optional<std::string> value = env_var("SLUICE_WATCH_CONFIG");
  return value && (*value == "true" || *value == "1" || *value == "yes");
}

}  // namespace

int run_command(const RunArgs& args) {
  // Before any thread or child exists; the file sources size themselves from the result.
  raise_open_file_limit();
  reap_orphans_as_init();
  try {
    TopologyInputs inputs = topology_inputs(args.config_path, args.command);
    bool wraps_command = false;
    BuiltPipeline built = guard_config_errors([&] {
      Topology topology = load_topology(inputs);
      for (const ComponentDecl& source : topology.sources) {
        wraps_command = wraps_command || source.type == "exec";
      }
      BuiltPipeline pipeline = build_pipeline(topology, build_context());
      pipeline.options.shutdown_timeout_ns = shutdown_timeout_ns();
      return pipeline;
    });
    log::info("starting", "sources", built.sources.size(), "transforms", built.transforms.size(),
              "sinks", built.sinks.size(), "workers", built.options.workers);
    Pipeline pipeline(built.options, std::move(built.sources), std::move(built.transforms),
                      std::move(built.sinks));
    std::shared_ptr<ConfigReloader> reloader;
    std::unique_ptr<ConfigWatcher> watcher;
    const bool watch = args.watch_config || watch_config_from_env();
    if (inputs.config_path) {
      reloader = std::make_shared<ConfigReloader>(
          pipeline, [inputs] { return build_pipeline(load_topology(inputs), build_context()); });
      // A wrapped app's HUP is usually meant for the app (and forwarded to it): sluice reloads
      // on HUP too only when asked to watch its config.
      if (watch || !wraps_command) {
        pipeline.on_hangup([r = reloader.get()] { r->request("SIGHUP"); });
      }
      if (watch) {
        std::string error;
        watcher = ConfigWatcher::start(
            *inputs.config_path, [r = reloader.get()] { r->request("config file changed"); },
            &error);
        if (!watcher) log::error("config file not watched", "error", error);
      }
    } else if (watch) {
      log::warn("--watch-config needs a config file (-c or SLUICE_CONFIG); not watching");
    }
    std::unique_ptr<HttpServer> server = start_metrics_server(pipeline, built.options, reloader);
    int code = pipeline.run();
    // The triggers first, then the reloader (its waiters are answered while the server can
    // still send), then the server.
    watcher.reset();
    reloader.reset();
    server.reset();
    return code;
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
    if (args.deep) return deep_checks(topology, build_context(), std::cout);
    return 0;
  } catch (const ConfigError& e) {
    std::cerr << "sluice: invalid configuration: " << secrets::redact(e.what()) << "\n";
    return kExitConfig;
  }
}

}  // namespace sluice::cli
