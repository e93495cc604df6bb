#pragma once
// The client side TLS context of the HTTP client: TLS 1.2 and later, the CA bundle (or the
// system's), peer verification, an optional client certificate. Internal to net/.
#include <memory>
#include <string>

#include <boost/asio/ssl/context.hpp>

#include "net/http_client.hpp"

namespace sluice::net {

// nullptr with `error` set when a file cannot be used (unreadable, not PEM, key and certificate
// that do not match). May throw what Asio throws.
std::unique_ptr<boost::asio::ssl::context> make_tls_context(const TlsOptions& tls,
                                                            std::string* error);

}  // namespace sluice::net
