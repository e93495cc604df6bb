#include "server/http_server.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <exception>
#include <list>
#include <string_view>
#include <thread>
#include <utility>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include "base/log.hpp"
#include "server/http_address.hpp"
#include "server/tap_stream.hpp"

namespace sluice {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::string_view kMetricsType = "text/plain; version=0.0.4; charset=utf-8";
constexpr std::string_view kJsonType = "application/json";
constexpr std::string_view kTextType = "text/plain; charset=utf-8";
// After an error response the server half-closes and reads for up to this long before closing,
// so that unread request bytes do not turn the close into a reset that destroys the response
// before the client has read it.
constexpr std::chrono::milliseconds kLingerTime{2'000};
// How long to wait before accepting again after accept() failed for lack of descriptors or
// memory: the pending connection keeps the listener readable, so retrying at once would spin.
constexpr std::chrono::milliseconds kAcceptRetry{100};
// TCP_DEFER_ACCEPT: how long the kernel holds a connection that has sent nothing.
constexpr int kDeferAcceptSeconds = 1;
// Connections taken per readiness wake-up, so that a connection flood cannot starve the
// requests of connections already open.
constexpr int kAcceptBatch = 16;

class Session;

// State shared by the acceptor and the sessions; touched on the server thread only.
struct ServerState {
  HttpServer::Handlers handlers;
  HttpServerOptions options;
  // Open sessions, in the order they were opened; a session removes itself when it closes or
  // is evicted. At most max_connections long, so a scan for the eviction victim is cheap.
  std::list<Session*> sessions;
  log::RateLimit handler_errors;
  log::RateLimit connection_limit;
  log::RateLimit accept_errors;
  uint64_t evicted = 0;  // connections closed to make room, for the log line
};

bool is_http_error(const beast::error_code& ec) {
  return ec.category() == make_error_code(http::error::bad_method).category();
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, ServerState& state)
      : stream_(std::move(socket)),
        state_(state),
        // The parser's own limits fire first; this bounds the buffer if they ever do not.
        buffer_(state.options.max_header_bytes + state.options.max_body_bytes + 4096) {
    slot_ = state_.sessions.insert(state_.sessions.end(), this);
  }
  ~Session() { release_slot(); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void start() {
    // TCP_DEFER_ACCEPT hands most clients over with their request already received: read it now
    // and answer it within the accept pass, so that connections accepted after it cannot evict
    // it before its handlers get their turn.
    beast::error_code ec;
    const size_t available = stream_.socket().available(ec);
    if (!ec && available > 0) {
      const size_t room = std::min(available, buffer_.max_size() - buffer_.size());
      const size_t n = stream_.socket().read_some(buffer_.prepare(room), ec);  // does not block
      if (ec) return;  // reset: the socket closes with this session
      buffer_.commit(n);
    }
    read_request();
  }

  // While answering, a session is protected from eviction; waiting for or reading a request, or
  // lingering after an error, it is not.
  bool answering() const { return answering_; }
  Clock::time_point phase_since() const { return phase_since_; }

  // Closes the connection at once to make room for a new one. Pending operations complete with
  // operation_aborted and release the session.
  void evict() {
    release_slot();
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

 private:
  using Request = http::request<http::string_body>;

  void release_slot() {
    if (slot_ == state_.sessions.end()) return;
    state_.sessions.erase(slot_);
    slot_ = state_.sessions.end();
  }
  bool evicted() const { return slot_ == state_.sessions.end(); }

  void enter_phase(bool answering) {
    answering_ = answering;
    phase_since_ = Clock::now();
  }

  void read_request() {
    enter_phase(/*answering=*/false);
    // A parser handles one message; keep-alive needs a fresh one per request. The buffer is kept:
    // it may already hold the start of a pipelined request.
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(state_.options.max_header_bytes));
    parser_->body_limit(state_.options.max_body_bytes);
    parser_->eager(true);  // answer_buffered() parses the body too
    if (buffer_.size() != 0) {
      if (!answer_buffered()) read_rest();
      return;
    }
    // Idle until the first byte arrives; the request deadline starts with it.
    stream_.expires_after(state_.options.idle_timeout);
    stream_.async_read_some(buffer_.prepare(kFirstRead),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              if (ec || self->evicted())
                                return;  // left, idled out, reset or evicted: nothing to answer
                              self->buffer_.commit(n);
                              if (!self->answer_buffered()) self->read_rest();
                            });
  }

  // Parses what the buffer holds, and answers (or refuses) the request if it is all there.
  // False when more bytes are needed.
  bool answer_buffered() {
    beast::error_code ec;
    buffer_.consume(parser_->put(buffer_.data(), ec));
    if (ec == http::error::need_more || (!ec && !parser_->is_done())) return false;
    on_read(ec);
    return true;
  }

  void read_rest() {
    // One deadline for the whole request, not per read: a client trickling a byte at a time is
    // cut off all the same.
    stream_.expires_after(state_.options.request_timeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (evicted()) return;
    if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
        ec == beast::error::timeout) {
      return;  // the client left or was too slow; the socket closes with this session
    }
    if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
      send_error(http::status::request_header_fields_too_large, "request header too large\n");
      return;
    }
    if (ec == http::error::body_limit) {
      send_error(http::status::payload_too_large, "request body too large\n");
      return;
    }
    if (ec) {
      if (is_http_error(ec)) send_error(http::status::bad_request, "bad request\n");
      // Anything else is a socket error (reset, ...): nothing can be sent.
      return;
    }
    respond(parser_->get());
  }

  // The handler for a path, or null when no route (or no handler) serves it.
  const std::function<HealthReport()>* health_handler(std::string_view target) const {
    const std::function<HealthReport()>* handler = nullptr;
    if (target == "/health/live") handler = &state_.handlers.live;
    if (target == "/health/ready" || target == "/health") handler = &state_.handlers.ready;
    return handler != nullptr && *handler ? handler : nullptr;
  }

  // Reloading takes a while (sinks drain): the answer comes back through the io_context, and
  // other connections are served meanwhile.
  void respond_reload(const Request& req) {
    auto send = [this, version = req.version(), keep_alive = req.keep_alive()](http::status status,
                                                                               std::string body) {
      const bool json = status == http::status::ok || status == http::status::unprocessable_entity;
      send_small(status, json ? kJsonType : kTextType, std::move(body), version, keep_alive,
                 "POST");
    };
    if (req.method() != http::verb::post) {
      send(http::status::method_not_allowed, "method not allowed\n");
      return;
    }
    if (!from_loopback()) {
      send(http::status::forbidden, "reload is answered for loopback clients only\n");
      return;
    }
    auto answer = [self = shared_from_this(), send](HealthReport report) {
      asio::post(self->stream_.get_executor(), [self, send, report = std::move(report)] {
        if (self->evicted()) return;
        send(report.healthy ? http::status::ok : http::status::unprocessable_entity, report.body);
      });
    };
    try {
      state_.handlers.reload(std::move(answer));
    } catch (const std::exception& e) {
      handler_failed("/reload", e.what());
      send(http::status::internal_server_error, "internal error\n");
    }
  }

  // `allow`: the methods a 405 lists. A HEAD response announces the body it leaves out.
  void send_small(http::status status, std::string_view type, std::string body, unsigned version,
                  bool keep_alive, const char* allow, bool head = false) {
    res_ = {};
    res_.version(version);
    res_.result(status);
    res_.keep_alive(keep_alive);
    if (status == http::status::method_not_allowed) res_.set(http::field::allow, allow);
    finish_response(type, std::move(body), head);
    write(!keep_alive);
  }

  bool from_loopback() {
    beast::error_code ec;
    asio::ip::address peer = stream_.socket().remote_endpoint(ec).address();
    if (ec) return false;
    if (peer.is_v6() && peer.to_v6().is_v4_mapped()) {
      return asio::ip::make_address_v4(asio::ip::v4_mapped, peer.to_v6()).is_loopback();
    }
    return peer.is_loopback();
  }

  void respond(const Request& req) {
    enter_phase(/*answering=*/true);
    const std::string_view full_target(req.target().data(), req.target().size());
    // Scrapers may add parameters; only /tap reads them.
    const std::string_view target = full_target.substr(0, full_target.find('?'));
    const http::verb method = req.method();
    const bool head = method == http::verb::head;
    if (target == "/tap" && state_.handlers.tap) {
      TapAnswer answer =
          answer_tap(state_.handlers.tap, method == http::verb::get, from_loopback(), full_target);
      if (answer.subscription) {
        // Long-lived: the connection leaves this session and its slot (server/tap_stream.hpp).
        release_slot();
        start_tap_stream(stream_.release_socket(), std::move(answer.subscription),
                         req.version() >= 11);
        return;
      }
      send_small(static_cast<http::status>(answer.status), answer.json ? kJsonType : kTextType,
                 std::move(answer.body), req.version(), req.keep_alive(), "GET");
      return;
    }
    if (target == "/reload" && state_.handlers.reload) {
      respond_reload(req);
      return;
    }

    http::status status = http::status::ok;
    std::string_view type = kTextType;
    std::string body;
    const bool is_metrics = target == "/metrics" && state_.handlers.metrics;
    const std::function<HealthReport()>* health = health_handler(target);
    if (!is_metrics && health == nullptr) {
      status = http::status::not_found;
      body = "not found\n";
    } else if (method != http::verb::get && !head) {
      status = http::status::method_not_allowed;
      body = "method not allowed\n";
    } else {
      try {
        if (is_metrics) {
          type = kMetricsType;
          body = state_.handlers.metrics();
        } else {
          HealthReport report = (*health)();
          type = kJsonType;
          status = report.healthy ? http::status::ok : http::status::service_unavailable;
          body = std::move(report.body);
          if (body.empty()) body = report.healthy ? R"({"healthy":true})" : R"({"healthy":false})";
        }
      } catch (const std::exception& e) {
        handler_failed(target, e.what());
        status = http::status::internal_server_error;
        type = kTextType;
        body = "internal error\n";
      } catch (...) {
        handler_failed(target, "unknown exception");
        status = http::status::internal_server_error;
        type = kTextType;
        body = "internal error\n";
      }
    }

    send_small(status, type, std::move(body), req.version(), req.keep_alive(), "GET, HEAD", head);
  }

  void handler_failed(std::string_view target, std::string_view what) {
    uint64_t suppressed = 0;
    if (state_.handler_errors.allow(&suppressed)) {
      log::error("http server: handler failed", "path", target, "error", what, "suppressed",
                 suppressed);
    }
  }

  // Malformed or oversized requests: answer once, then close, since the rest of the byte stream
  // cannot be trusted to start at a message boundary.
  void send_error(http::status status, std::string_view text) {
    enter_phase(/*answering=*/true);
    send_small(status, kTextType, std::string(text), 11, /*keep_alive=*/false, "");
  }

  void finish_response(std::string_view type, std::string body, bool head) {
    res_.set(http::field::server, "sluice");
    res_.set(http::field::content_type, type);
    res_.set(http::field::cache_control, "no-store");
    // Set by hand rather than by prepare_payload(): a HEAD response announces the length of the
    // body it leaves out.
    res_.content_length(body.size());
    if (!head) res_.body() = std::move(body);
  }

  void write(bool close) {
    close_after_write_ = close;
    stream_.expires_after(state_.options.write_timeout);
    http::async_write(
        stream_, res_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_write(ec); });
  }

  void on_write(beast::error_code ec) {
    if (ec || evicted()) return;
    if (close_after_write_) {
      linger_close();
    } else {
      read_request();
    }
  }

  void linger_close() {
    enter_phase(/*answering=*/false);
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return;
    stream_.expires_after(
        std::min<std::chrono::milliseconds>(state_.options.request_timeout, kLingerTime));
    drain();
  }

  void drain() {
    stream_.async_read_some(asio::buffer(drain_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (!ec && !self->evicted()) self->drain();
                            });
  }

  // Enough for a whole probe or scrape request in one read.
  static constexpr size_t kFirstRead = 1024;

  beast::tcp_stream stream_;
  ServerState& state_;
  std::list<Session*>::iterator slot_;  // in state_.sessions; end() once released
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
  bool close_after_write_ = false;
  bool answering_ = false;
  Clock::time_point phase_since_ = Clock::now();
  std::array<char, 1024> drain_{};
};

// The session to close for a new connection when all slots are taken: the one that has waited
// longest for (or in) its request or lingered longest; else the one answered longest.
Session* eviction_victim(const std::list<Session*>& sessions) {
  Session* waiting = nullptr;
  Session* answering = nullptr;
  for (Session* s : sessions) {
    Session*& best = s->answering() ? answering : waiting;
    if (best == nullptr || s->phase_since() < best->phase_since()) best = s;
  }
  return waiting != nullptr ? waiting : answering;
}

std::string endpoint_text(const tcp::endpoint& ep) {
  const std::string host = ep.address().to_string();
  const std::string port = std::to_string(ep.port());
  return ep.address().is_v6() ? "[" + host + "]:" + port : host + ":" + port;
}

}  // namespace

class HttpServer::Impl {
 public:
  Impl(Handlers handlers, const Options& options) {
    state_.handlers = std::move(handlers);
    state_.options = options;
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  ~Impl() {
    // Pending operations are destroyed with io_context_ after the thread has stopped; their
    // destruction releases and closes the sessions, which still find state_ alive because it is
    // declared before io_context_.
    io_context_.stop();
    if (thread_.joinable()) thread_.join();
  }

  bool resolve(const HostPort& hp, tcp::endpoint* endpoint, std::string* why) {
    beast::error_code ec;
    const asio::ip::address address = asio::ip::make_address(hp.host, ec);
    const auto port = static_cast<uint16_t>(std::stoul(hp.port));
    if (!ec) {
      *endpoint = tcp::endpoint(address, port);
      return true;
    }
    tcp::resolver resolver(io_context_);
    const auto results = resolver.resolve(
        hp.host, hp.port, tcp::resolver::numeric_service | tcp::resolver::passive, ec);
    if (ec || results.empty()) {
      *why = "cannot resolve \"" + hp.host + "\": " + (ec ? ec.message() : "no address");
      return false;
    }
    *endpoint = results.begin()->endpoint();
    return true;
  }

  bool listen(const tcp::endpoint& endpoint, std::string* why) {
    // Created by hand for SOCK_CLOEXEC (Asio does not set it): the exec source spawns the
    // wrapped application, which must not inherit the listener or client connections.
    const int fd = ::socket(endpoint.protocol().family(),
                            SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_TCP);
    if (fd < 0) {
      *why = std::string("socket: ") + std::strerror(errno);
      return false;
    }
    beast::error_code ec;
    acceptor_.assign(endpoint.protocol(), fd, ec);
    if (ec) {
      ::close(fd);
      *why = "socket: " + ec.message();
      return false;
    }
    acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    // The kernel hands over a connection once its first bytes have arrived (or after about
    // kDeferAcceptSeconds): silent connections wait in the kernel instead of taking a slot, and
    // a probe arrives with its request, so it is answered before any flood can evict it.
    // Best effort: without it, eviction alone still keeps probes served.
    const int defer_seconds = kDeferAcceptSeconds;
    (void)::setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer_seconds, sizeof defer_seconds);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    tcp::endpoint bound;
    if (!ec) bound = acceptor_.local_endpoint(ec);
    if (ec) {
      *why = "cannot listen on " + endpoint_text(endpoint) + ": " + ec.message();
      return false;
    }
    port_ = bound.port();
    protocol_ = endpoint.protocol();
    log::info("http server listening", "address", endpoint_text(bound));
    return true;
  }

  void run() {
    wait_for_connection();
    thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "sluice-http");
      // A handler that throws is lost, but the server carries on: nothing may escape the thread.
      for (;;) {
        try {
          io_context_.run();
          return;
        } catch (const std::exception& e) {
          log::error("http server: unexpected exception", "error", e.what());
        } catch (...) {
          log::error("http server: unexpected exception", "error", "unknown");
        }
      }
    });
  }

  uint16_t port() const { return port_; }

 private:
  void wait_for_connection() {
    acceptor_.async_wait(tcp::acceptor::wait_read, [this](beast::error_code ec) {
      if (ec == asio::error::operation_aborted) return;
      if (ec) {
        accept_failed(ec.message());
        return;
      }
      accept_ready();
    });
  }

  void accept_ready() {
    for (int i = 0; i < kAcceptBatch; ++i) {
      const int fd = ::accept4(acceptor_.native_handle(), nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        const int err = errno;
        if (err == EAGAIN || err == EWOULDBLOCK) break;
        if (err == EINTR || err == ECONNABORTED || err == EPROTO) continue;
        accept_failed(std::strerror(err));
        return;
      }
      if (state_.sessions.size() >= state_.options.max_connections && !make_room()) {
        ::close(fd);  // max_connections is 0
        continue;
      }
      tcp::socket socket(io_context_);
      beast::error_code ec;
      socket.assign(protocol_, fd, ec);
      if (ec) {
        ::close(fd);
        continue;
      }
      // Small responses, often pipelined: without this, Nagle holds back the second one until
      // the client's delayed ACK (40 ms).
      socket.set_option(tcp::no_delay(true), ec);
      std::make_shared<Session>(std::move(socket), state_)->start();
    }
    wait_for_connection();
  }

  // Evicts one session for a new connection (see HttpServerOptions::max_connections). A client
  // that is slow or silent loses its connection rather than locking out the next probe.
  bool make_room() {
    Session* victim = eviction_victim(state_.sessions);
    if (victim == nullptr) return false;
    victim->evict();
    ++state_.evicted;
    uint64_t suppressed = 0;
    if (state_.connection_limit.allow(&suppressed)) {
      log::warn("http server: connection limit reached, closed the connection waiting longest",
                "limit", state_.options.max_connections, "evicted_total", state_.evicted,
                "suppressed", suppressed);
    }
    return true;
  }

  void accept_failed(std::string_view what) {
    uint64_t suppressed = 0;
    if (state_.accept_errors.allow(&suppressed)) {
      log::warn("http server: accept failed", "error", what, "suppressed", suppressed);
    }
    retry_timer_.expires_after(kAcceptRetry);
    retry_timer_.async_wait([this](beast::error_code ec) {
      if (!ec) wait_for_connection();
    });
  }

  ServerState state_;  // before io_context_: see ~Impl
  asio::io_context io_context_{1};
  asio::executor_work_guard<asio::io_context::executor_type> work_ =
      asio::make_work_guard(io_context_);
  tcp::acceptor acceptor_{io_context_};
  asio::steady_timer retry_timer_{io_context_};
  std::thread thread_;
  uint16_t port_ = 0;
  tcp protocol_ = tcp::v4();
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() = default;

uint16_t HttpServer::port() const { return impl_->port(); }

std::unique_ptr<HttpServer> HttpServer::start(const std::string& address, Handlers handlers,
                                              std::string* error, const Options& options) {
  std::string why;
  HostPort hp;
  auto impl = std::make_unique<Impl>(std::move(handlers), options);
  tcp::endpoint endpoint;
  if (!split_address(address, &hp, &why) || !impl->resolve(hp, &endpoint, &why) ||
      !impl->listen(endpoint, &why)) {
    if (error != nullptr) *error = "metrics address \"" + address + "\": " + why;
    return nullptr;
  }
  impl->run();
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

}  // namespace sluice
