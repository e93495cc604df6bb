#pragma once
// One keep-alive connection of the HTTP client (plain TCP or TLS over TCP) and what the client
// needs to know about its errors. Internal to net/.
#include <cstdint>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

namespace sluice::net {

// Steady-clock nanoseconds (the clock of request deadlines and endpoint pauses).
int64_t steady_now_ns();

// The peer closed a connection we had kept idle: the request never reached the application, so
// one more try on a new connection is safe.
bool closed_by_peer(const boost::beast::error_code& ec);

// The error as a person reads it: OpenSSL's reason ("certificate verify failed") for TLS errors.
std::string describe_error(const boost::beast::error_code& ec);

// A connection and the read buffer that belongs to it.
struct Connection {
  Connection(boost::asio::io_context& ioc, boost::asio::ssl::context* tls_context) {
    if (tls_context != nullptr) {
      tls.emplace(ioc, *tls_context);
    } else {
      plain.emplace(ioc);
    }
  }

  boost::beast::tcp_stream& tcp() { return tls ? boost::beast::get_lowest_layer(*tls) : *plain; }

  template <typename F>
  void with_stream(F&& f) {
    if (tls) {
      f(*tls);
    } else {
      f(*plain);
    }
  }

  // An idle connection is worth reusing only if the peer has sent nothing since the last
  // response: a FIN (it closed the connection) or stray bytes both mean it is done with.
  bool still_open();

  std::optional<boost::beast::tcp_stream> plain;
  std::optional<boost::beast::ssl_stream<boost::beast::tcp_stream>> tls;
  boost::beast::flat_buffer buffer;
};

}  // namespace sluice::net
