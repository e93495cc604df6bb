#pragma once
// Parsing the metrics address ("host:port", "[v6]:port") for HttpServer::start; the
// SLUICE_METRICS_ADDR functions declared in http_server.hpp live here too.
#include <string>
#include <string_view>

namespace sluice {

struct HostPort {
  std::string host;
  std::string port;
};

// Splits `address` into host and port, or returns false with the reason in `*why`.
bool split_address(std::string_view address, HostPort* out, std::string* why);

}  // namespace sluice
