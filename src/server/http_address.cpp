#include "server/http_address.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <optional>

#include "server/http_server.hpp"

namespace sluice {

bool split_address(std::string_view address, HostPort* out, std::string* why) {
  std::string_view host;
  std::string_view port;
  if (!address.empty() && address.front() == '[') {
    const size_t close = address.find(']');
    if (close == std::string_view::npos) {
      *why = "missing ']' after the IPv6 address";
      return false;
    }
    host = address.substr(1, close - 1);
    const std::string_view rest = address.substr(close + 1);
    if (rest.empty() || rest.front() != ':') {
      *why = "expected \":port\" after ']'";
      return false;
    }
    port = rest.substr(1);
  } else {
    const size_t colon = address.rfind(':');
    if (colon == std::string_view::npos) {
      *why = "expected host:port";
      return false;
    }
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      *why = "an IPv6 address goes in brackets, e.g. [::1]:9598";
      return false;
    }
  }
  if (host.empty()) {
    // Listening on every interface must be asked for explicitly (0.0.0.0 or [::]).
    *why = "the host is missing (use 0.0.0.0 for every interface)";
    return false;
  }
  const bool digits =
      !port.empty() && port.size() <= 5 &&
      std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits || std::stoul(std::string(port)) > 65535) {
    *why = "the port must be a number from 0 to 65535";
    return false;
  }
  out->host = std::string(host);
  out->port = std::string(port);
  return true;
}

std::optional<std::string> metrics_address_from_env_value(const char* value) {
  if (value == nullptr) return std::string(kDefaultMetricsAddress);
  std::string_view v(value);
  const auto blank = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (!v.empty() && blank(v.front())) v.remove_prefix(1);
  while (!v.empty() && blank(v.back())) v.remove_suffix(1);
  std::string lower(v);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower.empty() || lower == "off" || lower == "none") return std::nullopt;
  return std::string(v);
}

std::optional<std::string> metrics_address_from_env() {
  return metrics_address_from_env_value(std::getenv("SLUICE_METRICS_ADDR"));
}

}  // namespace sluice
