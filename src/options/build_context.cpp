#include "options/build_context.hpp"

#include <algorithm>
#include <cstdlib>
#include <optional>

namespace sluice {

int64_t default_sink_flush_timeout_ns(const BuildContext& context) {
  double seconds = 10;
  if (context.env) {
    if (std::optional<std::string> v = context.env("SLUICE_SHUTDOWN_TIMEOUT_SECONDS")) {
      char* end = nullptr;
      double parsed = std::strtod(v->c_str(), &end);
      if (end != v->c_str() && *end == '\0' && parsed > 0) seconds = parsed;
    }
  }
  return static_cast<int64_t>(std::max(0.1, std::min(seconds * 0.8, seconds - 0.5)) * 1e9);
}

}  // namespace sluice
