#include "net/http_exchange.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <fmt/format.h>
#include <boost/asio/ip/address.hpp>

#include "net/http_stream.hpp"
#include "net/pooled_http_client.hpp"

namespace sluice::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

namespace {

constexpr uint32_t kMaxResponseHeaderBytes = 64U << 10;

bool is_ip_address(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

Exchange::Exchange(PooledHttpClient& client, const HttpRequest& request,
                   std::function<void(HttpResult)> done)
    : client_(client),
      method_(request.method),
      target_(request.target),
      content_type_(request.content_type),
      content_encoding_(request.content_encoding),
      body_(request.body),
      headers_(request.headers),
      done_(std::move(done)),
      start_ns_(steady_now_ns()) {}

Exchange::Exchange(PooledHttpClient& client, HttpStreamRequest request,
                   std::function<void(HttpResult)> done)
    : client_(client),
      method_("GET"),
      target_(std::move(request.target)),
      headers_(std::move(request.headers)),
      done_(std::move(done)),
      start_ns_(steady_now_ns()),
      stream_(std::make_unique<StreamState>(std::move(request))) {}

// StreamState is complete only here and in net/http_stream.cpp.
Exchange::~Exchange() = default;

void Exchange::start() {
  if (client_.stopped()) {
    cancel(client_stopped_reason());
    return;
  }
  client_.add_active(this);
  registered_ = true;
  deadline_ = SteadyClock::now() + std::chrono::nanoseconds(client_.options().timeout_ns);
  endpoint_ = client_.pick_endpoint();
  build_request();
  attempt(true);
}

void Exchange::build_request() {
  const Endpoint& endpoint = client_.options().endpoints[endpoint_];
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
  for (const auto& [name, value] : client_.options().headers) request_.insert(name, value);
  for (const auto& [name, value] : headers_) request_.insert(name, value);
}

void Exchange::attempt(bool reuse) {
  connection_ = reuse ? client_.take_idle(endpoint_) : nullptr;
  reused_ = connection_ != nullptr;
  if (reused_) {
    write();
    return;
  }
  const bool tls = client_.options().endpoints[endpoint_].tls;
  connection_ = std::make_unique<Connection>(client_.ioc(), tls ? client_.tls_context() : nullptr);
  resolve();
}

void Exchange::resolve() {
  const Endpoint& endpoint = client_.options().endpoints[endpoint_];
  resolver_.emplace(client_.ioc());
  // The resolver has no deadline of its own; this timer gives it the request's.
  resolve_timer_.emplace(client_.ioc());
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
  const Endpoint& endpoint = client_.options().endpoints[endpoint_];
  auto& stream = *connection_->tls;
  // SNI carries names only (RFC 6066); an address is verified against the certificate's IP SANs.
  if (!is_ip_address(endpoint.host)) {
    SSL_set_tlsext_host_name(stream.native_handle(), endpoint.host.c_str());
  }
  beast::error_code ignored;  // only fails for a stream that has no SSL handle
  if (client_.options().tls.verify) {
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
  if (!stream_) {
    parser_.emplace();
    parser_->body_limit(client_.options().max_response_body_bytes);
    parser_->header_limit(kMaxResponseHeaderBytes);
    if (method_ == "HEAD") parser_->skip(true);
  }
  connection_->tcp().expires_at(deadline_);
  connection_->with_stream([this](auto& stream) {
    http::async_write(stream, request_,
                      [self = shared_from_this()](const beast::error_code& ec, size_t) {
                        if (self->finished_) return;
                        if (ec) {
                          self->fail("sending to", ec);
                          return;
                        }
                        if (self->stream_) {
                          self->read_stream_head();
                        } else {
                          self->read();
                        }
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
    client_.record_failure(endpoint_, fmt::format("HTTP {}", result.status));
  } else {
    client_.record_success(endpoint_);
  }
  if (response.keep_alive()) {
    client_.put_idle(endpoint_, std::move(connection_));
  } else {
    connection_->tcp().close();
    connection_.reset();
  }
  finish(std::move(result));
}

void Exchange::fail(std::string_view stage, const beast::error_code& ec) {
  const bool timeout = ec == beast::error::timeout;
  const bool nothing_received =
      stream_ ? !stream_->received_some() : !parser_ || !parser_->got_some();
  const Endpoint& endpoint = client_.options().endpoints[endpoint_];
  std::string why;
  if (timeout && stream_ && stream_->head_seen) {
    why = fmt::format("no data for {} ms (the stream's idle timeout)",
                      stream_->request.idle_timeout_ns / 1'000'000);
  } else if (timeout) {
    why = fmt::format("timed out after {} ms (connect, handshake, write and read together)",
                      client_.options().timeout_ns / 1'000'000);
  } else if (connection_->tls && ec.category() == asio::error::get_ssl_category() &&
             ERR_GET_REASON(static_cast<unsigned long>(ec.value())) ==
                 SSL_R_CERTIFICATE_VERIFY_FAILED) {
    const long verify = SSL_get_verify_result(connection_->tls->native_handle());
    why = verify == X509_V_ERR_HOSTNAME_MISMATCH
              ? fmt::format("certificate verify failed: the certificate is not valid for {}",
                            endpoint.host)
              : fmt::format("certificate verify failed: {}", X509_verify_cert_error_string(verify));
  } else {
    why = describe_error(ec);
  }
  connection_->tcp().close();
  connection_.reset();
  if (reused_ && !retried_ && !timeout && nothing_received && closed_by_peer(ec) &&
      !client_.stopped()) {
    retried_ = true;
    attempt(false);
    return;
  }
  HttpResult result;
  result.error = fmt::format("{} {}: {}", stage, endpoint.url, why);
  client_.record_failure(endpoint_, result.error);
  finish(std::move(result));
}

std::string Exchange::client_stopped_reason() const {
  return fmt::format("the {} client stopped", client_.options().name);
}

void Exchange::cancel(std::string_view why) {
  if (finished_) return;
  if (connection_) connection_->tcp().close();
  if (resolver_) resolver_->cancel();
  if (resolve_timer_) resolve_timer_->cancel();
  HttpResult result;
  result.cancelled = true;
  result.error = fmt::format("cancelled: {}", why);
  if (stream_ && stream_->head_seen) result.status = stream_->status;
  finish(std::move(result));
}

void Exchange::finish(HttpResult result) {
  if (finished_) return;
  finished_ = true;
  // An exchange cancelled by send() after stop() never reached the io thread's set.
  if (registered_) client_.remove_active(this);
  result.endpoint = endpoint_;
  result.elapsed_ns = steady_now_ns() - start_ns_;
  auto done = std::move(done_);
  done(std::move(result));
}

}  // namespace sluice::net
