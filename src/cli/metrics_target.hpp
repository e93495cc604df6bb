#pragma once
// Where the commands that watch a running sluice (`top`, `tap`) find it: `--addr`, else
// SLUICE_METRICS_ADDR, else the default metrics address; and why there, for the message when
// nothing answers.
#include <optional>
#include <string>

#include "server/http_address.hpp"

namespace sluice::cli {

struct MetricsTarget {
  std::string address;  // as given, for messages
  std::string origin;   // "from --addr", "from SLUICE_METRICS_ADDR" or the default's reason
  HostPort host_port;   // a wildcard listen address (0.0.0.0, ::) is reached on loopback
  std::string url;      // http://HOST:PORT
};

// `addr` from the command line; `command` names the command in errors. An `http://` prefix and a
// `/metrics` suffix are accepted (a URL copied from a scrape config). Null with `error` set when
// the address is bad or SLUICE_METRICS_ADDR turns the server off.
std::optional<MetricsTarget> resolve_metrics_target(const std::optional<std::string>& addr,
                                                    const char* command, std::string* error);

}  // namespace sluice::cli
