#pragma once
// One HTTP endpoint of a client (net/http_client.hpp): a URL checked before anything connects.
#include <string>
#include <string_view>

namespace sluice::net {

struct Endpoint {
  std::string url;        // as configured, for logs (without credentials)
  bool tls = false;       // https
  std::string host;       // name or address; also the TLS server name (SNI, verification)
  std::string port;       // the URL's, else the user's default for the scheme
  std::string base_path;  // "" or "/prefix" (no trailing '/'), put before every target
};

// What a URL leaves out, and what its user says instead of credentials in the URL.
struct EndpointDefaults {
  std::string_view http_port = "80";
  std::string_view https_port = "443";
  // Ends the refusal of credentials in a URL, e.g. "set `auth` instead".
  std::string_view credentials_hint = "give them another way";
};

// Parses `http://host[:port][/prefix]` or `https://...`. Credentials in the URL
// (`http://user:pass@host`) are refused, and no error repeats them.
bool parse_endpoint(std::string_view url, const EndpointDefaults& defaults, Endpoint* out,
                    std::string* error);

}  // namespace sluice::net
