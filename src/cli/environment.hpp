#pragma once
// What `run` and `tail` read from the process environment (twelve-factor: config from the
// environment), in one place.
#include <cstdint>
#include <optional>
#include <string>

#include "config/factory.hpp"

namespace sluice::cli {

// The variable's value; unset and empty are the same.
std::optional<std::string> env_var(const char* name);
// gethostname(), else $HOSTNAME, else "localhost".
std::string host_name();
// SLUICE_SHUTDOWN_TIMEOUT_SECONDS (default 10 s); throws ConfigError for a bad value.
int64_t shutdown_timeout_ns();
// Host name, SLUICE_DATA_DIR, terminal and NO_COLOR, and the environment for interpolation.
BuildContext build_context();

}  // namespace sluice::cli
