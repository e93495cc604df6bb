#include "cli/environment.hpp"

#include <unistd.h>

#include <climits>
#include <cstdlib>

#include "options/config_error.hpp"

namespace sluice::cli {

std::optional<std::string> env_var(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return std::nullopt;
  return std::string(v);
}

std::string host_name() {
  char buf[HOST_NAME_MAX + 1] = {};
  if (gethostname(buf, sizeof buf - 1) == 0 && buf[0]) return buf;
  return env_var("HOSTNAME").value_or("localhost");
}

int64_t shutdown_timeout_ns() {
  std::optional<std::string> v = env_var("SLUICE_SHUTDOWN_TIMEOUT_SECONDS");
  if (!v) return 10'000'000'000;
  char* end = nullptr;
  double seconds = std::strtod(v->c_str(), &end);
  if (end == v->c_str() || *end != '\0' || seconds <= 0) {
    throw ConfigError(
        "SLUICE_SHUTDOWN_TIMEOUT_SECONDS must be a positive number of seconds, not `" + *v + "`");
  }
  return static_cast<int64_t>(seconds * 1e9);
}

BuildContext build_context() {
  BuildContext context;
  context.host_name = host_name();
  context.data_dir = env_var("SLUICE_DATA_DIR").value_or("data");
  context.stdout_is_tty = isatty(STDOUT_FILENO) != 0;
  context.no_color = env_var("NO_COLOR").has_value();
  context.env = process_environment();
  return context;
}

}  // namespace sluice::cli
