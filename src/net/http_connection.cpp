#include "net/http_connection.hpp"

#include <openssl/err.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>

#include <boost/beast/http/error.hpp>

namespace sluice::net {

namespace asio = boost::asio;
namespace beast = boost::beast;

int64_t steady_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool closed_by_peer(const beast::error_code& ec) {
  return ec == beast::http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::connection_aborted ||
         ec == asio::error::broken_pipe || ec == asio::ssl::error::stream_truncated;
}

std::string describe_error(const beast::error_code& ec) {
  if (ec.category() == asio::error::get_ssl_category()) {
    // OpenSSL's reason string ("certificate verify failed"), without the library noise.
    const char* reason = ERR_reason_error_string(static_cast<unsigned long>(ec.value()));
    if (reason != nullptr) return reason;
  }
  return ec.message();
}

bool Connection::still_open() {
  auto& socket = tcp().socket();
  if (!socket.is_open()) return false;
  char byte = 0;
  const ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace sluice::net
