#pragma once
// One request of the HTTP client from send() to `done`: picks an endpoint, takes (or opens) a
// connection, resolves, connects, does the TLS handshake, writes, reads, all under the request's
// one deadline. Kept alive by the completion handler of its one pending operation. Internal to
// net/; runs on the client's io thread only.
//
// A streamed GET (HttpClient::stream) is an Exchange too: the same connection set-up, then the
// body read piece by piece under an idle timeout (net/http_stream.cpp holds that part).
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http.hpp>

#include "net/http_client.hpp"
#include "net/http_connection.hpp"

namespace sluice::net {

class PooledHttpClient;

class Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  Exchange(PooledHttpClient& client, const HttpRequest& request,
           std::function<void(HttpResult)> done);
  Exchange(PooledHttpClient& client, HttpStreamRequest request,
           std::function<void(HttpResult)> done);
  ~Exchange();

  void start();
  // Ends the request now (sockets closed, `done` with `cancelled` and `why` in the error): the
  // client stops, or the caller cancelled a stream.
  void cancel(std::string_view why);
  // "the <name> client stopped": why requests end when the client stops.
  [[nodiscard]] std::string client_stopped_reason() const;

 private:
  using tcp = boost::asio::ip::tcp;

  void attempt(bool reuse);
  void resolve();
  void connect(const tcp::resolver::results_type& results);
  void handshake();
  void write();
  void read();
  void on_response();
  // ---- streamed GET (net/http_stream.cpp) ----
  void read_stream_head();
  void on_stream_head();
  void read_stream_body();
  // False when the stream ended while handling the bytes (caller stop, a line over the cap).
  bool on_stream_bytes(size_t n);
  bool deliver_lines(const char* data, size_t n);
  void end_stream();
  void abort_stream(std::string error);

  void fail(std::string_view stage, const boost::beast::error_code& ec);
  void finish(HttpResult result);
  void build_request();

  PooledHttpClient& client_;
  // Copied: only the body is promised to outlive send(); these are a few bytes.
  std::string method_;
  std::string target_;
  std::string content_type_;
  std::string content_encoding_;
  std::string_view body_;
  std::vector<std::pair<std::string, std::string>> headers_;
  std::function<void(HttpResult)> done_;
  int64_t start_ns_;
  std::chrono::steady_clock::time_point deadline_;
  size_t endpoint_ = 0;
  std::unique_ptr<Connection> connection_;
  bool reused_ = false;
  bool retried_ = false;
  bool finished_ = false;
  bool registered_ = false;  // in the client's active set (touched on the io thread only)
  bool resolve_timed_out_ = false;
  std::optional<tcp::resolver> resolver_;
  std::optional<boost::asio::steady_timer> resolve_timer_;
  boost::beast::http::request<boost::beast::http::span_body<const char>> request_;
  std::optional<boost::beast::http::response_parser<boost::beast::http::string_body>> parser_;
  struct StreamState;
  std::unique_ptr<StreamState> stream_;  // set for a streamed GET only
};

}  // namespace sluice::net
