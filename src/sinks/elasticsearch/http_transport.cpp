#include "sinks/elasticsearch/http_transport.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>

#include <fmt/format.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "base/log.hpp"

namespace sluice::es {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

namespace {

// A bulk response lists every item; even 100k items stay far below this. It bounds the memory a
// misbehaving peer can make us hold.
constexpr uint64_t kMaxResponseBodyBytes = 64ULL << 20;
constexpr uint32_t kMaxResponseHeaderBytes = 64U << 10;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now().time_since_epoch())
      .count();
}

bool is_ip_address(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

// The peer closed a connection we had kept idle: the request never reached the application, so
// one more try on a new connection is safe.
bool closed_by_peer(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::connection_aborted ||
         ec == asio::error::broken_pipe || ec == asio::ssl::error::stream_truncated;
}

std::string describe(const beast::error_code& ec) {
  if (ec.category() == asio::error::get_ssl_category()) {
    // OpenSSL's reason string ("certificate verify failed"), without the library noise.
    const char* reason = ERR_reason_error_string(static_cast<unsigned long>(ec.value()));
    if (reason != nullptr) return reason;
  }
  return ec.message();
}

// One keep-alive connection: plain TCP or TLS over TCP, and the read buffer that belongs to it.
struct Connection {
  Connection(asio::io_context& ioc, ssl::context* tls_context) {
    if (tls_context != nullptr) {
      tls.emplace(ioc, *tls_context);
    } else {
      plain.emplace(ioc);
    }
  }

  beast::tcp_stream& tcp() { return tls ? beast::get_lowest_layer(*tls) : *plain; }

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
  bool still_open() {
    auto& socket = tcp().socket();
    if (!socket.is_open()) return false;
    char byte = 0;
    const ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }

  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
};

class Transport;

// One request from send() to `done`: picks an endpoint, takes (or opens) a connection, writes,
// reads. Kept alive by the completion handler of its one pending operation.
class Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  Exchange(Transport& transport, const HttpRequest& request, std::function<void(HttpResult)> done)
      : transport_(transport),
        method_(request.method),
        target_(request.target),
        content_type_(request.content_type),
        content_encoding_(request.content_encoding),
        body_(request.body),
        done_(std::move(done)),
        start_ns_(now_ns()) {}

  void start();
  // The transport stops: ends the request now (sockets closed, `done` with `cancelled`).
  void cancel();

 private:
  void attempt(bool reuse);
  void resolve();
  void connect(const tcp::resolver::results_type& results);
  void handshake();
  void write();
  void read();
  void on_response();
  void fail(std::string_view stage, const beast::error_code& ec);
  void finish(HttpResult result);
  void build_request();

  Transport& transport_;
  // Copied: only the body is promised to outlive send(); these are a few bytes.
  std::string method_;
  std::string target_;
  std::string content_type_;
  std::string content_encoding_;
  std::string_view body_;
  std::function<void(HttpResult)> done_;
  int64_t start_ns_;
  SteadyClock::time_point deadline_;
  size_t endpoint_ = 0;
  std::unique_ptr<Connection> connection_;
  bool reused_ = false;
  bool retried_ = false;
  bool finished_ = false;
  bool registered_ = false;  // in the transport's active set (touched on the io thread only)
  bool resolve_timed_out_ = false;
  std::optional<tcp::resolver> resolver_;
  std::optional<asio::steady_timer> resolve_timer_;
  http::request<http::span_body<const char>> request_;
  std::optional<http::response_parser<http::string_body>> parser_;
};

class Transport final : public HttpTransport {
 public:
  Transport(TransportOptions options, std::unique_ptr<ssl::context> tls_context)
      : options_(std::move(options)),
        tls_context_(std::move(tls_context)),
        work_(asio::make_work_guard(ioc_)),
        endpoints_(options_.endpoints.size()) {
    thread_ = std::thread([this] { run(); });
  }
  ~Transport() override { stop(); }
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  void send(HttpRequest request, std::function<void(HttpResult)> done) override {
    auto exchange = std::make_shared<Exchange>(*this, request, std::move(done));
    {
      // Posting under the lock that stop() takes guarantees that the io thread, which only
      // exits after stop(), runs this request's handler: `done` cannot be lost.
      std::lock_guard lock(post_mutex_);
      if (!stopping_) {
        asio::post(ioc_, [exchange] { exchange->start(); });
        return;
      }
    }
    // No thread left to run it on: answer here.
    exchange->cancel();
  }

  void stop() override {
    bool first = false;
    {
      std::lock_guard lock(post_mutex_);
      first = !stopping_;
      stopping_ = true;
    }
    const bool on_io_thread = std::this_thread::get_id() == io_thread_id_.load();
    if (first) {
      if (on_io_thread) {
        shutdown();
      } else {
        asio::post(ioc_, [this] { shutdown(); });
      }
    }
    // From a `done` callback the join must wait for a later stop() or the destructor.
    if (on_io_thread) return;
    std::lock_guard lock(join_mutex_);
    if (thread_.joinable()) thread_.join();
  }

  [[nodiscard]] size_t healthy_endpoints() const override {
    const int64_t now = now_ns();
    return static_cast<size_t>(
        std::count_if(endpoints_.begin(), endpoints_.end(),
                      [now](const EndpointState& e) { return e.paused_until.load() <= now; }));
  }

  // ---- io thread only, for Exchange ----
  asio::io_context& ioc() { return ioc_; }
  const TransportOptions& options() const { return options_; }
  bool stopped() const { return stopped_; }
  ssl::context* tls_context() { return tls_context_.get(); }
  void add_active(Exchange* exchange) { active_.insert(exchange); }
  void remove_active(Exchange* exchange) { active_.erase(exchange); }

  // Round-robin over the endpoints that are not paused; with all paused, the one that is
  // allowed back first.
  size_t pick_endpoint() {
    const int64_t now = now_ns();
    const size_t n = endpoints_.size();
    for (size_t i = 0; i < n; ++i) {
      const size_t index = (next_endpoint_ + i) % n;
      if (endpoints_[index].paused_until.load() <= now) {
        next_endpoint_ = index + 1;
        return index;
      }
    }
    size_t best = 0;
    for (size_t i = 1; i < n; ++i) {
      if (endpoints_[i].paused_until.load() < endpoints_[best].paused_until.load()) best = i;
    }
    next_endpoint_ = best + 1;
    return best;
  }

  std::unique_ptr<Connection> take_idle(size_t endpoint) {
    auto& idle = endpoints_[endpoint].idle;
    while (!idle.empty()) {
      std::unique_ptr<Connection> connection = std::move(idle.back());
      idle.pop_back();
      if (connection->still_open()) return connection;
      connection->tcp().close();
    }
    return nullptr;
  }

  void put_idle(size_t endpoint, std::unique_ptr<Connection> connection) {
    auto& idle = endpoints_[endpoint].idle;
    if (stopped_ || idle.size() >= options_.max_idle_connections) {
      connection->tcp().close();
      return;
    }
    connection->tcp().expires_never();
    idle.push_back(std::move(connection));
  }

  void record_success(size_t endpoint) {
    EndpointState& state = endpoints_[endpoint];
    if (state.failures == 0) return;
    log::info("elasticsearch endpoint recovered", "endpoint", options_.endpoints[endpoint].url,
              "failures", state.failures);
    state.failures = 0;
    state.paused_until.store(0);
  }

  void record_failure(size_t endpoint, const std::string& error) {
    EndpointState& state = endpoints_[endpoint];
    ++state.failures;
    int64_t pause = std::max<int64_t>(options_.endpoint_pause_min_ns, 1);
    const int64_t max_pause = std::max(options_.endpoint_pause_max_ns, pause);
    for (int i = 1; i < state.failures && pause < max_pause; ++i) {
      pause = pause > max_pause / 2 ? max_pause : pause * 2;
    }
    state.paused_until.store(now_ns() + pause);
    // Connections opened before the failure are likely as dead as the one that failed.
    for (auto& connection : state.idle) connection->tcp().close();
    state.idle.clear();
    // The first failure is news; repeats while it stays down would flood the log.
    const auto severity = state.failures == 1 ? log::Severity::Warn : log::Severity::Debug;
    log::write(severity, "elasticsearch endpoint failed; pausing it", "endpoint",
               options_.endpoints[endpoint].url, "error", error, "failures", state.failures,
               "pause_ms", pause / 1'000'000);
  }

 private:
  struct EndpointState {
    // Steady-clock ns; read by healthy_endpoints() on any thread, written on the io thread.
    std::atomic<int64_t> paused_until{0};
    int failures = 0;
    std::vector<std::unique_ptr<Connection>> idle;
  };

  void run() {
    io_thread_id_.store(std::this_thread::get_id());
    pthread_setname_np(pthread_self(), "sluice-es-http");
    for (;;) {
      try {
        ioc_.run();
        return;
      } catch (const std::exception& e) {
        // A throwing `done` must not take the transport (and every other request) down.
        log::error("elasticsearch transport: exception from a completion handler", "error",
                   e.what());
      }
    }
  }

  void shutdown() {
    stopped_ = true;
    // cancel() removes the exchange from active_ (and `done` may send more): iterate a copy.
    const std::vector<Exchange*> active(active_.begin(), active_.end());
    for (Exchange* exchange : active) exchange->cancel();
    for (auto& endpoint : endpoints_) {
      for (auto& connection : endpoint.idle) connection->tcp().close();
      endpoint.idle.clear();
    }
    // run() returns once the aborted operations have delivered their handlers.
    work_.reset();
  }

  TransportOptions options_;
  std::unique_ptr<ssl::context> tls_context_;
  asio::io_context ioc_{1};
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::vector<EndpointState> endpoints_;
  size_t next_endpoint_ = 0;              // io thread
  bool stopped_ = false;                  // io thread
  std::unordered_set<Exchange*> active_;  // io thread; each is kept alive by its pending op
  std::mutex post_mutex_;
  bool stopping_ = false;  // under post_mutex_
  std::mutex join_mutex_;
  std::atomic<std::thread::id> io_thread_id_{};
  std::thread thread_;
};

void Exchange::start() {
  if (transport_.stopped()) {
    cancel();
    return;
  }
  transport_.add_active(this);
  registered_ = true;
  deadline_ = SteadyClock::now() + std::chrono::nanoseconds(transport_.options().timeout_ns);
  endpoint_ = transport_.pick_endpoint();
  build_request();
  attempt(true);
}

void Exchange::build_request() {
  const Endpoint& endpoint = transport_.options().endpoints[endpoint_];
  request_ = {};
  request_.version(11);
  request_.method_string(method_);
  request_.target(endpoint.base_path + target_);
  const bool ipv6 = endpoint.host.find(':') != std::string::npos;
  request_.set(http::field::host, ipv6 ? fmt::format("[{}]:{}", endpoint.host, endpoint.port)
                                       : fmt::format("{}:{}", endpoint.host, endpoint.port));
  if (!content_type_.empty()) request_.set(http::field::content_type, content_type_);
  if (!content_encoding_.empty()) request_.set(http::field::content_encoding, content_encoding_);
  // The caller's bytes are sent from where they are: a bulk body is never copied.
  request_.body() = boost::span<const char>(body_.data(), body_.size());
  request_.prepare_payload();
  request_.keep_alive(true);
  for (const auto& [name, value] : transport_.options().headers) request_.insert(name, value);
}

void Exchange::attempt(bool reuse) {
  connection_ = reuse ? transport_.take_idle(endpoint_) : nullptr;
  reused_ = connection_ != nullptr;
  if (reused_) {
    write();
    return;
  }
  const bool tls = transport_.options().endpoints[endpoint_].tls;
  connection_ =
      std::make_unique<Connection>(transport_.ioc(), tls ? transport_.tls_context() : nullptr);
  resolve();
}

void Exchange::resolve() {
  const Endpoint& endpoint = transport_.options().endpoints[endpoint_];
  resolver_.emplace(transport_.ioc());
  // The resolver has no deadline of its own; this timer gives it the request's.
  resolve_timer_.emplace(transport_.ioc());
  resolve_timer_->expires_at(deadline_);
  resolve_timer_->async_wait([self = shared_from_this()](const beast::error_code& ec) {
    if (ec || self->finished_ || !self->resolver_) return;
    self->resolve_timed_out_ = true;
    self->resolver_->cancel();
  });
  resolver_->async_resolve(endpoint.host, endpoint.port,
                           [self = shared_from_this()](const beast::error_code& ec,
                                                       const tcp::resolver::results_type& results) {
                             if (self->finished_) return;
                             self->resolve_timer_->cancel();
                             if (ec) {
                               self->fail("resolving",
                                          self->resolve_timed_out_ ? beast::error::timeout : ec);
                               return;
                             }
                             self->connect(results);
                           });
}

void Exchange::connect(const tcp::resolver::results_type& results) {
  connection_->tcp().expires_at(deadline_);
  connection_->tcp().async_connect(
      results, [self = shared_from_this()](const beast::error_code& ec, const tcp::endpoint&) {
        if (self->finished_) return;
        if (ec) {
          self->fail("connecting to", ec);
          return;
        }
        // Without it, the last segment of a large body can wait for a delayed ACK (~40 ms).
        beast::error_code ignored;
        self->connection_->tcp().socket().set_option(tcp::no_delay(true), ignored);
        if (self->connection_->tls) {
          self->handshake();
        } else {
          self->write();
        }
      });
}

void Exchange::handshake() {
  const Endpoint& endpoint = transport_.options().endpoints[endpoint_];
  auto& stream = *connection_->tls;
  // SNI carries names only (RFC 6066); an address is verified against the certificate's IP SANs.
  if (!is_ip_address(endpoint.host)) {
    SSL_set_tlsext_host_name(stream.native_handle(), endpoint.host.c_str());
  }
  beast::error_code ignored;  // only fails for a stream that has no SSL handle
  if (transport_.options().tls.verify) {
    // asio's check fails without a reason; recording one makes the error say what is wrong.
    stream.set_verify_callback(
        [check = ssl::host_name_verification(endpoint.host)](bool preverified,
                                                             ssl::verify_context& context) mutable {
          const bool ok = check(preverified, context);
          if (preverified && !ok) {
            X509_STORE_CTX_set_error(context.native_handle(), X509_V_ERR_HOSTNAME_MISMATCH);
          }
          return ok;
        },
        ignored);
  }
  connection_->tcp().expires_at(deadline_);
  stream.async_handshake(ssl::stream_base::client,
                         [self = shared_from_this()](const beast::error_code& ec) {
                           if (self->finished_) return;
                           if (ec) {
                             self->fail("TLS handshake with", ec);
                             return;
                           }
                           self->write();
                         });
}

void Exchange::write() {
  parser_.emplace();
  parser_->body_limit(kMaxResponseBodyBytes);
  parser_->header_limit(kMaxResponseHeaderBytes);
  if (method_ == "HEAD") parser_->skip(true);
  connection_->tcp().expires_at(deadline_);
  connection_->with_stream([this](auto& stream) {
    http::async_write(stream, request_,
                      [self = shared_from_this()](const beast::error_code& ec, size_t) {
                        if (self->finished_) return;
                        if (ec) {
                          self->fail("sending to", ec);
                          return;
                        }
                        self->read();
                      });
  });
}

void Exchange::read() {
  connection_->tcp().expires_at(deadline_);
  connection_->with_stream([this](auto& stream) {
    http::async_read(stream, connection_->buffer, *parser_,
                     [self = shared_from_this()](const beast::error_code& ec, size_t) {
                       if (self->finished_) return;
                       if (ec) {
                         self->fail("reading the response from", ec);
                         return;
                       }
                       self->on_response();
                     });
  });
}

void Exchange::on_response() {
  http::response<http::string_body> response = parser_->release();
  parser_.reset();
  HttpResult result;
  result.responded = true;
  result.status = static_cast<int>(response.result_int());
  result.body = std::move(response.body());
  // A gateway error means this node cannot serve now: try the others for a while.
  if (result.status == 502 || result.status == 503 || result.status == 504) {
    transport_.record_failure(endpoint_, fmt::format("HTTP {}", result.status));
  } else {
    transport_.record_success(endpoint_);
  }
  if (response.keep_alive()) {
    transport_.put_idle(endpoint_, std::move(connection_));
  } else {
    connection_->tcp().close();
    connection_.reset();
  }
  finish(std::move(result));
}

void Exchange::fail(std::string_view stage, const beast::error_code& ec) {
  const bool timeout = ec == beast::error::timeout;
  const bool nothing_received = !parser_ || !parser_->got_some();
  const Endpoint& endpoint = transport_.options().endpoints[endpoint_];
  std::string why;
  if (timeout) {
    why = fmt::format("timed out after {} ms (connect, handshake, write and read together)",
                      transport_.options().timeout_ns / 1'000'000);
  } else if (connection_->tls && ec.category() == asio::error::get_ssl_category() &&
             ERR_GET_REASON(static_cast<unsigned long>(ec.value())) ==
                 SSL_R_CERTIFICATE_VERIFY_FAILED) {
    const long verify = SSL_get_verify_result(connection_->tls->native_handle());
    why = verify == X509_V_ERR_HOSTNAME_MISMATCH
              ? fmt::format("certificate verify failed: the certificate is not valid for {}",
                            endpoint.host)
              : fmt::format("certificate verify failed: {}", X509_verify_cert_error_string(verify));
  } else {
    why = describe(ec);
  }
  connection_->tcp().close();
  connection_.reset();
  if (reused_ && !retried_ && !timeout && nothing_received && closed_by_peer(ec) &&
      !transport_.stopped()) {
    retried_ = true;
    attempt(false);
    return;
  }
  HttpResult result;
  result.error = fmt::format("{} {}: {}", stage, endpoint.url, why);
  transport_.record_failure(endpoint_, result.error);
  finish(std::move(result));
}

void Exchange::cancel() {
  if (finished_) return;
  if (connection_) connection_->tcp().close();
  if (resolver_) resolver_->cancel();
  if (resolve_timer_) resolve_timer_->cancel();
  HttpResult result;
  result.cancelled = true;
  result.error = "cancelled: the elasticsearch transport stopped";
  finish(std::move(result));
}

void Exchange::finish(HttpResult result) {
  if (finished_) return;
  finished_ = true;
  // An exchange cancelled by send() after stop() never reached the io thread's set.
  if (registered_) transport_.remove_active(this);
  result.endpoint = endpoint_;
  result.elapsed_ns = now_ns() - start_ns_;
  auto done = std::move(done_);
  done(std::move(result));
}

std::unique_ptr<ssl::context> make_tls_context(const TlsOptions& tls, std::string* error) {
  auto context = std::make_unique<ssl::context>(ssl::context::tls_client);
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                       ssl::context::no_compression);
  beast::error_code ec;
  if (tls.verify) {
    context->set_verify_mode(ssl::verify_peer);
    if (!tls.ca_file.empty()) {
      context->load_verify_file(tls.ca_file, ec);
      if (ec) {
        *error = fmt::format("tls: cannot load the CA file {}: {}", tls.ca_file, describe(ec));
        return nullptr;
      }
    } else {
      context->set_default_verify_paths(ec);
      if (ec) {
        *error = fmt::format("tls: cannot use the system's CA certificates: {}", describe(ec));
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
                           describe(ec));
      return nullptr;
    }
    context->use_private_key_file(tls.key_file, ssl::context::pem, ec);
    if (ec) {
      // OpenSSL also checks here that the key belongs to the certificate ("key values mismatch").
      *error = fmt::format("tls: cannot load the client key {} for {}: {}", tls.key_file,
                           tls.cert_file, describe(ec));
      return nullptr;
    }
  }
  return context;
}

}  // namespace

std::unique_ptr<HttpTransport> HttpTransport::create(TransportOptions options, std::string* error) {
  if (options.endpoints.empty()) {
    *error = "elasticsearch transport: no endpoint";
    return nullptr;
  }
  std::unique_ptr<ssl::context> tls_context;
  const bool any_tls = std::any_of(options.endpoints.begin(), options.endpoints.end(),
                                   [](const Endpoint& e) { return e.tls; });
  if (any_tls) {
    try {
      tls_context = make_tls_context(options.tls, error);
    } catch (const std::exception& e) {
      *error = fmt::format("tls: {}", e.what());
      return nullptr;
    }
    if (!tls_context) return nullptr;
  }
  return std::make_unique<Transport>(std::move(options), std::move(tls_context));
}

}  // namespace sluice::es
