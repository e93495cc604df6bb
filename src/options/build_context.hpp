#pragma once
// What every component maker gets besides its own options: host name, data directory, terminal
// facts and the environment. Filled by config/ (cli/ sets the process facts).
#include <cstdint>
#include <string>

#include "options/interpolate.hpp"

namespace sluice {

struct BuildContext {
  std::string host_name;
  std::string data_dir = "data";  // $SLUICE_DATA_DIR, else ./data; the config's `data_dir` wins
  bool stdout_is_tty = false;
  bool no_color = false;  // NO_COLOR is set
  EnvLookup env;
};

// How long a sink flushes at shutdown unless configured: most of SLUICE_SHUTDOWN_TIMEOUT_SECONDS
// (default 10), so that the sink can still report what it could not deliver before the
// pipeline's own deadline ends the process.
int64_t default_sink_flush_timeout_ns(const BuildContext& context);

}  // namespace sluice
