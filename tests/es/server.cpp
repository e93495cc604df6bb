#include "server.hpp"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <iterator>
#include <sstream>
#include <utility>

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>

namespace es_emu {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

constexpr size_t kReadBuffer = 256 * 1024;
constexpr std::string_view kNullAnswer = R"({"took":0,"errors":false,"items":[]})";

std::string base64(std::string_view in) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(kAlphabet[(v >> s) & 63]);
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += {kAlphabet[(v >> 18) & 63], kAlphabet[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += {kAlphabet[(v >> 18) & 63], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63], '='};
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Decompresses a gzip (or zlib) body. Returns 0, or the HTTP status of the failure.
int gunzip(std::string_view in, std::string& out, std::string& error) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 32) != Z_OK) {
    error = "inflateInit2 failed";
    return 500;
  }
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  out.resize(std::max<size_t>(in.size() * 4, 64 * 1024));
  size_t produced = 0;
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    if (produced == out.size()) {
      if (out.size() >= kMaxBody) {
        inflateEnd(&zs);
        return 413;
      }
      out.resize(std::min<size_t>(out.size() * 2, kMaxBody));
    }
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    zs.avail_out = static_cast<uInt>(out.size() - produced);
    rc = inflate(&zs, Z_NO_FLUSH);
    produced = out.size() - zs.avail_out;
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) rc = Z_DATA_ERROR;  // truncated stream
    if (rc != Z_OK && rc != Z_STREAM_END) {
      error = zs.msg != nullptr ? zs.msg : "truncated gzip stream";
      inflateEnd(&zs);
      return 400;
    }
  }
  inflateEnd(&zs);
  out.resize(produced);
  return 0;
}

template <class Stream>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

 public:
  template <class... Args>
  Session(Server& server, uint64_t id, Args&&... args)
      : stream_(std::forward<Args>(args)...),
        server_(server),
        id_(id),
        delay_(beast::get_lowest_layer(stream_).get_executor()) {
    // Beast reads at most the buffer's free capacity (at least 512 bytes): without room, a
    // multi-megabyte bulk body would take one recv per 512 bytes.
    buffer_.reserve(kReadBuffer);
  }
  ~Session() override { server_.forget(id_); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void start() {
    if constexpr (kTls) {
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (!ec) self->read();
                              });
    } else {
      read();
    }
  }

  void close() override {
    closed_ = true;
    delay_.cancel();  // a held answer is not sent on a closed connection
    beast::error_code ec;
    beast::get_lowest_layer(stream_).socket().close(ec);
  }

  // The wait handler runs at once (operation_aborted) and sends the held answer.
  void release() override { delay_.cancel(); }

 private:
  void read() {
    parser_.emplace();
    parser_->body_limit(kMaxBody);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      server_.too_large(res_);
      write(true);
      return;
    }
    if (ec) return;  // closed by the peer or by `down`: the session ends
    Request req = parser_->release();
    bool keep_alive = req.keep_alive();
    auto hold = server_.handle(req, res_);
    res_.keep_alive(keep_alive);
    res_.prepare_payload();
    if (hold <= std::chrono::steady_clock::duration::zero()) {
      write(!keep_alive);
      return;
    }
    // Rate limit: the answer goes out once the request's bytes have drained at the configured
    // rate. The request is already applied; a client that waits for answers (as sluice does,
    // `concurrency` requests at a time) is held to the rate.
    delay_.expires_after(hold);
    delay_.async_wait(
        [self = this->shared_from_this(), close_after = !keep_alive](beast::error_code) {
          if (self->closed_) return;
          self->write(close_after);
        });
  }

  void write(bool close_after) {
    http::async_write(stream_, res_,
                      [self = this->shared_from_this(), close_after](beast::error_code ec, size_t) {
                        if (ec) return;
                        if (close_after) {
                          // Half-close first so the client reads the answer before the FIN.
                          beast::error_code ignored;
                          beast::get_lowest_layer(self->stream_)
                              .socket()
                              .shutdown(tcp::socket::shutdown_send, ignored);
                          return;
                        }
                        self->read();
                      });
  }

  Stream stream_;
  Server& server_;
  uint64_t id_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Response res_;
  boost::asio::steady_timer delay_;
  bool closed_ = false;
};

}  // namespace

Server::Server(asio::io_context& ioc, Config config)
    : ioc_(ioc),
      config_(std::move(config)),
      store_(config_.data_streams, config_.seed),
      reject_429_(config_.reject_429),
      fail_503_(config_.fail_503),
      max_bytes_per_second_(config_.max_bytes_per_second) {
  if (!config_.basic.empty()) {
    basic_header_ = "Basic " + base64(config_.basic);
    basic_user_ = config_.basic.substr(0, config_.basic.find(':'));
  }
  if (!config_.tls_cert.empty()) {
    tls_.emplace(ssl::context::tls_server);
    tls_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                      ssl::context::no_sslv3);
    tls_->use_certificate_chain_file(config_.tls_cert);
    tls_->use_private_key_file(config_.tls_key, ssl::context::pem);
  }
}

std::string Server::listen() {
  if (acceptor_) return "";
  beast::error_code ec;
  auto acceptor = std::make_unique<tcp::acceptor>(ioc_);
  tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port_);
  acceptor->open(ep.protocol(), ec);
  if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor->bind(ep, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return ec.message();
  port_ = acceptor->local_endpoint().port();
  acceptor_ = std::move(acceptor);
  accept(++generation_);
  return "";
}

void Server::down() {
  ++generation_;
  if (acceptor_) {
    beast::error_code ec;
    acceptor_->close(ec);
    acceptor_.reset();
  }
  auto sessions = std::move(sessions_);
  sessions_.clear();
  for (auto& [id, weak] : sessions) {
    if (auto s = weak.lock()) s->close();
  }
}

void Server::set_max_bytes_per_second(uint64_t rate) {
  max_bytes_per_second_ = rate;
  if (rate != 0) return;
  drained_at_ = {};
  for (auto& [id, weak] : sessions_) {
    if (auto s = weak.lock()) s->release();
  }
}

std::chrono::steady_clock::duration Server::throttle(uint64_t bytes) {
  if (max_bytes_per_second_ == 0) return {};
  ++throttled_requests_;
  const auto now = std::chrono::steady_clock::now();
  const auto start = std::max(now, drained_at_);
  const auto ns = static_cast<double>(bytes) * 1e9 / static_cast<double>(max_bytes_per_second_);
  drained_at_ = start + std::chrono::nanoseconds(static_cast<int64_t>(ns));
  return drained_at_ - now;
}

std::string Server::stats_json() const {
  const auto& c = counters_;
  std::ostringstream o;
  o << R"({"requests":)" << c.requests << R"(,"http_requests":)" << c.http_requests
    << R"(,"connections":)" << c.connections << R"(,"bulk_items":)" << c.bulk_items
    << R"(,"stored_docs":)" << store_.live_docs() << R"(,"created":)" << c.created
    << R"(,"updated":)" << c.updated << R"(,"deleted":)" << c.deleted << R"(,"items_400":)"
    << c.items_400 << R"(,"items_404":)" << c.items_404 << R"(,"items_409":)" << c.items_409
    << R"(,"items_429":)" << c.items_429 << R"(,"requests_400":)" << c.requests_400
    << R"(,"requests_401":)" << c.requests_401 << R"(,"requests_406":)" << c.requests_406
    << R"(,"requests_413":)" << c.requests_413 << R"(,"requests_503":)" << c.requests_503
    << R"(,"gzip_requests":)" << c.gzip_requests << R"(,"body_bytes":)" << c.body_bytes
    << R"(,"decoded_bytes":)" << c.decoded_bytes << R"(,"actions":{"index":)" << c.action_index
    << R"(,"create":)" << c.action_create << R"(,"delete":)" << c.action_delete << R"(,"update":)"
    << c.action_update << R"(},"reject_429":)" << reject_429_ << R"(,"fail_503":)" << fail_503_
    << R"(,"max_bytes_per_second":)" << max_bytes_per_second_ << R"(,"throttled_requests":)"
    << throttled_requests_ << R"(,"listening":)" << (acceptor_ ? "true" : "false") << "}";
  return o.str();
}

void Server::too_large(Response& res) {
  ++counters_.http_requests;
  ++counters_.requests_413;
  res = Response(http::status::payload_too_large, 11);
  res.body() =
      error_body(413, "content_too_long_exception",
                 "request body is too large: more than " + std::to_string(kMaxBody) + " bytes");
  finish(res);
}

void Server::finish(Response& res) {
  res.set(http::field::content_type, "application/json");
  res.set("X-elastic-product", "Elasticsearch");
}

void Server::accept(uint64_t generation) {
  acceptor_->async_accept([this, generation](beast::error_code ec, tcp::socket socket) {
    if (generation != generation_ || !acceptor_) return;  // `down` closed this listener
    if (!ec) {
      ++counters_.connections;
      socket.set_option(tcp::no_delay(true), ec);
      if (tls_) {
        start_session<beast::ssl_stream<beast::tcp_stream>>(
            beast::ssl_stream<beast::tcp_stream>(std::move(socket), *tls_));
      } else {
        start_session<beast::tcp_stream>(beast::tcp_stream(std::move(socket)));
      }
    }
    accept(generation);
  });
}

template <class Stream>
void Server::start_session(Stream stream) {
  uint64_t id = ++next_session_;
  auto session = std::make_shared<Session<Stream>>(*this, id, std::move(stream));
  sessions_[id] = session;
  session->start();
}

bool Server::authorised(const Request& req, Response& res) {
  if (basic_header_.empty() && config_.api_key.empty()) return true;
  auto header = req[http::field::authorization];
  if (!basic_header_.empty() && header == basic_header_) return true;
  if (!config_.api_key.empty() && header == "ApiKey " + config_.api_key) return true;
  ++counters_.requests_401;
  std::string uri(req.target().substr(0, req.target().find('?')));
  std::string reason;
  if (header.empty()) {
    reason = "missing authentication credentials for REST request [" + uri + "]";
  } else if (header.starts_with("Basic ")) {
    reason = "unable to authenticate user [" + basic_user_ + "] for REST request [" + uri + "]";
  } else {
    reason =
        "unable to authenticate with provided credentials and anonymous access is not "
        "allowed for this request";
  }
  res = Response(http::status::unauthorized, 11);
  res.body() = error_body(401, "security_exception", reason);
  res.set(http::field::www_authenticate, R"(Basic realm="security" charset="UTF-8")");
  res.insert(http::field::www_authenticate, "ApiKey");
  return false;
}

std::chrono::steady_clock::duration Server::handle(Request& req, Response& res) {
  ++counters_.http_requests;
  std::chrono::steady_clock::duration hold{};
  res = Response(http::status::ok, 11);
  std::string_view target = req.target();
  size_t qmark = target.find('?');
  std::string_view path = target.substr(0, qmark);
  std::string_view query = qmark == std::string_view::npos ? "" : target.substr(qmark + 1);
  const bool get = req.method() == http::verb::get;
  const bool post = req.method() == http::verb::post || req.method() == http::verb::put;

  if (path == "/_emulator/stats" && get) {
    res.body() = stats_json();
  } else if (path == "/_emulator/docs" && get) {
    res.body() = store_.docs_ndjson();
    res.set(http::field::content_type, "application/x-ndjson");
    res.set("X-elastic-product", "Elasticsearch");
    return hold;
  } else if (config_.null_mode && post) {
    // The benchmark's endpoint: count, never parse.
    ++counters_.requests;
    counters_.body_bytes += req.body().size();
    if (beast::iequals(req[http::field::content_encoding], "gzip")) ++counters_.gzip_requests;
    res.body() = kNullAnswer;
    hold = throttle(req.body().size());
  } else if (!authorised(req, res)) {
    // res holds the 401
  } else if (path == "/" && (get || req.method() == http::verb::head)) {
    res.body() =
        R"({"name":"sluice-es-emulator","cluster_name":"sluice-emulator",)"
        R"("cluster_uuid":"c2x1aWNlLWVtdWxhdG9y","version":{"number":"8.14.0",)"
        R"("build_flavor":"default","build_type":"tar","build_hash":"emulator",)"
        R"("build_date":"2024-06-03T10:05:49.073003402Z","build_snapshot":false,)"
        R"("lucene_version":"9.10.0","minimum_wire_compatibility_version":"7.17.0",)"
        R"("minimum_index_compatibility_version":"7.0.0"},"tagline":"You Know, for Search"})";
  } else if (path == "/_bulk" || (path.ends_with("/_bulk") && path.size() > 7 &&
                                  path.find('/', 1) == path.size() - 6)) {
    if (post) {
      hold = throttle(req.body().size());
      bulk(req, path, query, res);
    } else {
      res.result(http::status::method_not_allowed);
      res.body() = R"({"error":"Incorrect HTTP method for uri [)" + std::string(target) +
                   "] and method [" + std::string(req.method_string()) +
                   R"(], allowed: [POST, PUT]","status":405})";
    }
  } else {
    res.result(http::status::bad_request);
    res.body() = R"({"error":"no handler found for uri [)" + std::string(target) +
                 "] and method [" + std::string(req.method_string()) + R"(]","status":400})";
  }
  finish(res);
  return hold;
}

void Server::bulk(Request& req, std::string_view path, std::string_view query, Response& res) {
  ++counters_.requests;
  counters_.body_bytes += req.body().size();
  const bool gzip = beast::iequals(req[http::field::content_encoding], "gzip");
  if (gzip) ++counters_.gzip_requests;
  auto reject = [&](int status, std::string body) {
    res.result(static_cast<unsigned>(status));
    res.body() = std::move(body);
    if (status == 400) ++counters_.requests_400;
  };

  // Query parameters the bulk API documents; anything else is an error, as in ES.
  for (size_t start = 0; start < query.size();) {
    size_t amp = query.find('&', start);
    std::string_view pair = query.substr(start, amp - start);
    start = amp == std::string_view::npos ? query.size() : amp + 1;
    std::string_view name = pair.substr(0, pair.find('='));
    static constexpr std::string_view kKnown[] = {"pipeline",
                                                  "refresh",
                                                  "routing",
                                                  "timeout",
                                                  "wait_for_active_shards",
                                                  "require_alias",
                                                  "require_data_stream",
                                                  "_source",
                                                  "_source_includes",
                                                  "_source_excludes",
                                                  "filter_path",
                                                  "pretty",
                                                  "human",
                                                  "error_trace",
                                                  "list_executed_pipelines"};
    if (!name.empty() &&
        std::find(std::begin(kKnown), std::end(kKnown), name) == std::end(kKnown)) {
      return reject(
          400, error_body(400, "illegal_argument_exception",
                          "request [" + std::string(path) + "] contains unrecognized parameter: [" +
                              std::string(name) + "]"));
    }
  }

  std::string content_type(req[http::field::content_type]);
  std::string media = lower(content_type.substr(0, content_type.find(';')));
  while (!media.empty() && media.back() == ' ') media.pop_back();
  if (media != "application/x-ndjson" && media != "application/json" &&
      media != "application/vnd.elasticsearch+x-ndjson" &&
      media != "application/vnd.elasticsearch+json") {
    ++counters_.requests_406;
    res.result(http::status::not_acceptable);
    res.body() = R"({"error":"Content-Type header [)" + content_type +
                 R"(] is not supported","status":406})";
    return;
  }

  if (store_.roll(fail_503_)) {
    ++counters_.requests_503;
    res.result(http::status::service_unavailable);
    res.body() = error_body(503, "cluster_block_exception",
                            "blocked by: [SERVICE_UNAVAILABLE/2/no master];");
    return;
  }

  std::string decoded;
  std::string_view body = req.body();
  if (gzip) {
    std::string error;
    int status = gunzip(req.body(), decoded, error);
    if (status == 413) ++counters_.requests_413;
    if (status != 0) {
      return reject(status, error_body(status, "parse_exception",
                                       "failed to decompress the gzip request body: " + error));
    }
    body = decoded;
  }
  counters_.decoded_bytes += body.size();

  std::string_view default_index;
  if (path != "/_bulk") default_index = path.substr(1, path.size() - 7);
  Answer answer = store_.bulk(body, default_index, reject_429_, counters_);
  if (answer.status == 400) ++counters_.requests_400;
  res.result(static_cast<unsigned>(answer.status));
  res.body() = std::move(answer.body);
}

}  // namespace es_emu
