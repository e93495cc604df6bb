#pragma once
// The HTTP side of sluice_es_emulator (es_emulator.cpp): listener, keep-alive sessions (plain
// or TLS), routing, authentication, content negotiation, gzip and fault injection. The `_bulk`
// semantics are in bulk_store.hpp. Everything runs on one io_context thread.
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
  [[nodiscard]] std::string stats_json() const;

  // Called by the sessions (on the io_context thread).
  void handle(Request& req, Response& res);
  void too_large(Response& res);  // Content-Length over the limit: the body is not read
  void forget(uint64_t id) { sessions_.erase(id); }

 private:
  void accept(uint64_t generation);
  template <class Stream>
  void start_session(Stream stream);
  static void finish(Response& res);
  bool authorised(const Request& req, Response& res);
  void bulk(Request& req, std::string_view path, std::string_view query, Response& res);

  boost::asio::io_context& ioc_;
  Config config_;
  BulkStore store_;
  Counters counters_;
  double reject_429_;
  double fail_503_;
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
