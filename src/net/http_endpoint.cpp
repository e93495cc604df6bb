// parse_endpoint(): an endpoint URL of an HTTP client, checked before anything connects, with
// errors that never repeat the credentials a URL may carry.
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <boost/asio/ip/address.hpp>

#include "net/http_endpoint.hpp"

namespace sluice::net {

namespace {

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    const char c = text[i];
    const char lower = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    if (lower != prefix[i]) return false;
  }
  return true;
}

// The URL with any user-info replaced, so that an error about a URL never shows a password.
std::string redact(std::string_view url) {
  const size_t scheme = url.find("://");
  const size_t start = scheme == std::string_view::npos ? 0 : scheme + 3;
  size_t end = url.find_first_of("/?#", start);
  if (end == std::string_view::npos) end = url.size();
  const size_t at = url.substr(start, end - start).rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  return fmt::format("{}***@{}", url.substr(0, start), url.substr(start + at + 1));
}

}  // namespace

bool parse_endpoint(std::string_view url, const EndpointDefaults& defaults, Endpoint* out,
                    std::string* error) {
  const auto fail = [&](std::string_view why) {
    *error = fmt::format("endpoint {}: {}", redact(url), why);
    return false;
  };
  Endpoint endpoint;
  std::string_view rest;
  if (starts_with_nocase(url, "http://")) {
    rest = url.substr(7);
  } else if (starts_with_nocase(url, "https://")) {
    endpoint.tls = true;
    rest = url.substr(8);
  } else {
    return fail("the URL must start with http:// or https://");
  }
  for (const char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return fail("the URL contains a space or a control character");
    }
  }
  const size_t authority_end = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, authority_end);
  std::string_view path =
      authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
  if (authority.find('@') != std::string_view::npos) {
    return fail(
        fmt::format("credentials in the URL are not accepted (they would end up in logs); {}",
                    defaults.credentials_hint));
  }
  std::string_view host;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return fail("'[' without ']' around an IPv6 address");
    host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return fail("unexpected characters after ']'");
      port = after.substr(1);
      if (port.empty()) return fail("empty port");
    }
    boost::system::error_code ec;
    boost::asio::ip::make_address_v6(std::string(host), ec);
    if (ec) return fail("not an IPv6 address between '[' and ']'");
  } else {
    const size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.find(':') != std::string_view::npos) {
        return fail("an IPv6 address must be written in brackets, e.g. http://[::1]:8080");
      }
      if (port.empty()) return fail("empty port");
    }
  }
  if (host.empty()) return fail("no host");
  if (!port.empty()) {
    unsigned value = 0;
    for (const char c : port) {
      if (c < '0' || c > '9') return fail("the port is not a number");
      value = value * 10 + static_cast<unsigned>(c - '0');
      if (value > 65535) return fail("the port is above 65535");
    }
    if (value == 0) return fail("the port is 0");
    endpoint.port = std::to_string(value);
  } else {
    endpoint.port = endpoint.tls ? defaults.https_port : defaults.http_port;
  }
  if (path.find_first_of("?#") != std::string_view::npos) {
    return fail("a query or fragment is not accepted; give the path prefix only");
  }
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  endpoint.url = std::string(url);
  endpoint.host = std::string(host);
  endpoint.base_path = std::string(path);
  *out = std::move(endpoint);
  return true;
}

}  // namespace sluice::net
