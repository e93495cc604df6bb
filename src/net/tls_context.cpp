#include "net/tls_context.hpp"

#include <fmt/format.h>

#include "net/http_connection.hpp"

namespace sluice::net {

namespace ssl = boost::asio::ssl;

std::unique_ptr<ssl::context> make_tls_context(const TlsOptions& tls, std::string* error) {
  auto context = std::make_unique<ssl::context>(ssl::context::tls_client);
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                       ssl::context::no_compression);
  boost::system::error_code ec;
  if (tls.verify) {
    context->set_verify_mode(ssl::verify_peer);
    if (!tls.ca_file.empty()) {
      context->load_verify_file(tls.ca_file, ec);
      if (ec) {
        *error =
            fmt::format("tls: cannot load the CA file {}: {}", tls.ca_file, describe_error(ec));
        return nullptr;
      }
    } else {
      context->set_default_verify_paths(ec);
      if (ec) {
        *error =
            fmt::format("tls: cannot use the system's CA certificates: {}", describe_error(ec));
        return nullptr;
      }
    }
  } else {
    context->set_verify_mode(ssl::verify_none);
  }
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    *error = "tls: a client certificate needs both cert_file and key_file";
    return nullptr;
  }
  if (!tls.cert_file.empty()) {
    context->use_certificate_chain_file(tls.cert_file, ec);
    if (ec) {
      *error = fmt::format("tls: cannot load the client certificate {}: {}", tls.cert_file,
                           describe_error(ec));
      return nullptr;
    }
    context->use_private_key_file(tls.key_file, ssl::context::pem, ec);
    if (ec) {
      // OpenSSL also checks here that the key belongs to the certificate ("key values mismatch").
      *error = fmt::format("tls: cannot load the client key {} for {}: {}", tls.key_file,
                           tls.cert_file, describe_error(ec));
      return nullptr;
    }
  }
  return context;
}

}  // namespace sluice::net
