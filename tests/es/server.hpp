#pragma once
// The HTTP side of sluice_es_emulator (es_emulator.cpp): listener, keep-alive sessions (plain
// or TLS), routing, authentication, content negotiation, gzip and fault injection. The `_bulk`
// semantics are in bulk_store.hpp. Everything runs on one io_context thread.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/http.hpp>

#include "bulk_store.hpp"

namespace es_emu {

// Elasticsearch's default http.max_content_length is 100mb; the emulator allows more so that
// tests of large batches never hit it, but stays bounded.
inline constexpr uint64_t kMaxBody = 512ULL << 20;

struct Config {
  uint16_t port = 0;
  double reject_429 = 0;
  double fail_503 = 0;
  uint64_t max_bytes_per_second = 0;  // 0: unlimited
  uint64_t seed = 1;
  std::vector<std::string> data_streams;
  bool null_mode = false;
  std::string tls_cert;
  std::string tls_key;
  std::string basic;  // user:pass
  std::string api_key;
};

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual void close() = 0;
  // Sends an answer held back by the rate limit now (the limit was lifted).
  virtual void release() = 0;
};

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

class Server {
 public:
  Server(boost::asio::io_context& ioc, Config config);

  // Binds 127.0.0.1 (the configured port first, the same port after `down`). "" or an error.
  std::string listen();
  // Closes the listener and every connection: connects are refused until `listen()`.
  void down();

  [[nodiscard]] uint16_t port() const { return port_; }
  void set_reject_429(double p) { reject_429_ = p; }
  void set_fail_503(double p) { fail_503_ = p; }
  // Caps the throughput of bulk bodies (bytes as received, before gzip decoding) at `rate`
  // bytes per second, 0 = unlimited. Lifting the limit (0) sends every held answer at once; a
  // new non-zero rate applies to requests that arrive from now on.
  void set_max_bytes_per_second(uint64_t rate);
  [[nodiscard]] std::string stats_json() const;

  // Called by the sessions (on the io_context thread). Returns how long the answer must be
  // held back to keep within max_bytes_per_second (zero when unlimited or not a bulk request).
  std::chrono::steady_clock::duration handle(Request& req, Response& res);
  void too_large(Response& res);  // Content-Length over the limit: the body is not read
  void forget(uint64_t id) { sessions_.erase(id); }

 private:
  void accept(uint64_t generation);
  template <class Stream>
  void start_session(Stream stream);
  static void finish(Response& res);
  bool authorised(const Request& req, Response& res);
  std::chrono::steady_clock::duration throttle(uint64_t bytes);
  void bulk(Request& req, std::string_view path, std::string_view query, Response& res);

  boost::asio::io_context& ioc_;
  Config config_;
  BulkStore store_;
  Counters counters_;
  double reject_429_;
  double fail_503_;
  uint64_t max_bytes_per_second_;
  // Rate limit: the time at which the bulk bytes accepted so far have "drained" at the
  // configured rate. Each request's answer waits until its own bytes have drained, so the
  // answers (and so a client's requests, which wait for them) average the configured rate,
  // however many connections there are.
  std::chrono::steady_clock::time_point drained_at_{};
  uint64_t throttled_requests_ = 0;
  std::optional<boost::asio::ssl::context> tls_;
  std::string basic_header_;
  std::string basic_user_;
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor_;
  uint16_t port_ = 0;
  uint64_t generation_ = 0;  // of the listener: accepts of a closed one are ignored
  uint64_t next_session_ = 0;
  std::unordered_map<uint64_t, std::weak_ptr<SessionBase>> sessions_;
};

}  // namespace es_emu
