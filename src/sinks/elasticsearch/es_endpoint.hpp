#pragma once
// An `endpoints` URL of the elasticsearch sink: net/http_endpoint.hpp's rules with
// Elasticsearch's default port (9200 for http) and the sink's `auth` option for credentials.
#include <string>
#include <string_view>

#include "net/http_endpoint.hpp"

namespace sluice::es {

bool parse_endpoint(std::string_view url, net::Endpoint* out, std::string* error);

}  // namespace sluice::es
