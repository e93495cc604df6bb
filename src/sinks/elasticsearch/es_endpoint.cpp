#include "sinks/elasticsearch/es_endpoint.hpp"

namespace sluice::es {

bool parse_endpoint(std::string_view url, net::Endpoint* out, std::string* error) {
  static constexpr net::EndpointDefaults kElasticsearch{
      .http_port = "9200", .https_port = "443", .credentials_hint = "set `auth` instead"};
  return net::parse_endpoint(url, kElasticsearch, out, error);
}

}  // namespace sluice::es
