#include "cli/metrics_target.hpp"

#include <cstdlib>
#include <string_view>

#include <fmt/format.h>

#include "server/http_server.hpp"

namespace sluice::cli {

std::optional<MetricsTarget> resolve_metrics_target(const std::optional<std::string>& addr,
                                                    const char* command, std::string* error) {
  MetricsTarget target;
  if (addr) {
    target.address = *addr;
    target.origin = "from --addr";
  } else if (const char* env = std::getenv("SLUICE_METRICS_ADDR")) {
    std::optional<std::string> address = metrics_address_from_env_value(env);
    if (!address) {
      *error = fmt::format(
          "SLUICE_METRICS_ADDR is `{}` here, which turns the metrics server off: give the "
          "address of the running sluice with --addr HOST:PORT",
          env);
      return std::nullopt;
    }
    target.address = *address;
    target.origin = "from SLUICE_METRICS_ADDR";
  } else {
    target.address = kDefaultMetricsAddress;
    target.origin = "the default; SLUICE_METRICS_ADDR is not set";
  }
  std::string_view address = target.address;
  if (address.starts_with("https://")) {
    *error = fmt::format(
        "{} speaks plain HTTP to the metrics server, which has no TLS: use http:// or HOST:PORT",
        command);
    return std::nullopt;
  }
  if (address.starts_with("http://")) address.remove_prefix(7);
  if (address.ends_with("/metrics")) address.remove_suffix(8);
  if (address.ends_with("/")) address.remove_suffix(1);
  std::string why;
  if (!split_address(address, &target.host_port, &why)) {
    *error = fmt::format("bad address `{}` ({}): {}", target.address, target.origin, why);
    return std::nullopt;
  }
  HostPort& hp = target.host_port;
  if (hp.host == "0.0.0.0") hp.host = "127.0.0.1";
  if (hp.host == "::") hp.host = "::1";
  const bool v6 = hp.host.find(':') != std::string::npos;
  target.url = v6 ? fmt::format("http://[{}]:{}", hp.host, hp.port)
                  : fmt::format("http://{}:{}", hp.host, hp.port);
  return target;
}

}  // namespace sluice::cli
