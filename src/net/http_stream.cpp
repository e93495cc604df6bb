// The streamed part of an Exchange (HttpClient::stream): after the request is sent, the response
// header under the request deadline, then the body in pieces under the idle timeout, split into
// lines for the caller.
#include "net/http_stream.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <boost/asio/post.hpp>
#include <boost/beast/http/read.hpp>

#include "net/pooled_http_client.hpp"

namespace sluice::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

constexpr uint32_t kMaxStreamHeaderBytes = 64U << 10;
// One read hands over at most this much; the line splitter keeps only lines split across reads.
constexpr size_t kStreamReadBytes = 64U << 10;

}  // namespace

void StreamHandle::cancel() {
  std::lock_guard lock(gate_->mutex);
  if (gate_->ioc == nullptr) return;
  asio::post(*gate_->ioc, [exchange = exchange_] {
    if (auto alive = exchange.lock()) alive->cancel("the stream was cancelled by its caller");
  });
}

void Exchange::read_stream_head() {
  StreamState& s = *stream_;
  s.parser.emplace();
  // A watch has no end the client could know: the idle timeout bounds it, the line cap its lines.
  s.parser->body_limit(boost::none);
  s.parser->header_limit(kMaxStreamHeaderBytes);
  connection_->tcp().expires_at(deadline_);
  connection_->with_stream([this](auto& stream) {
    http::async_read_header(stream, connection_->buffer, *stream_->parser,
                            [self = shared_from_this()](const beast::error_code& ec, size_t) {
                              if (self->finished_) return;
                              if (ec) {
                                self->fail("reading the response from", ec);
                                return;
                              }
                              self->on_stream_head();
                            });
  });
}

void Exchange::on_stream_head() {
  StreamState& s = *stream_;
  s.head_seen = true;
  s.status = static_cast<int>(s.parser->get().result_int());
  s.success = s.status >= 200 && s.status < 300;
  if (s.status == 502 || s.status == 503 || s.status == 504) {
    client_.record_failure(endpoint_, fmt::format("HTTP {}", s.status));
  } else {
    client_.record_success(endpoint_);
  }
  s.scratch.resize(kStreamReadBytes);
  if (s.request.on_head) {
    s.request.on_head(s.status);
    if (finished_) return;  // the callback stopped the client
  }
  read_stream_body();
}

void Exchange::read_stream_body() {
  StreamState& s = *stream_;
  if (s.parser->is_done()) {
    end_stream();
    return;
  }
  auto& body = s.parser->get().body();
  body.data = s.scratch.data();
  body.size = s.scratch.size();
  body.more = true;
  connection_->tcp().expires_after(std::chrono::nanoseconds(s.request.idle_timeout_ns));
  connection_->with_stream([this](auto& stream) {
    http::async_read_some(stream, connection_->buffer, *stream_->parser,
                          [self = shared_from_this()](beast::error_code ec, size_t) {
                            if (self->finished_) return;
                            // The body buffer is full: not an error, the bytes are there to hand
                            // over.
                            if (ec == http::error::need_buffer) ec = {};
                            if (ec) {
                              self->fail("reading the stream from", ec);
                              return;
                            }
                            StreamState& state = *self->stream_;
                            const size_t got =
                                state.scratch.size() - state.parser->get().body().size;
                            if (!self->on_stream_bytes(got)) return;
                            self->read_stream_body();
                          });
  });
}

bool Exchange::on_stream_bytes(size_t n) {
  StreamState& s = *stream_;
  if (n == 0) return true;
  if (!s.success) {
    // A refusal's body (a Kubernetes Status) says why; kept up to the client's body limit.
    const uint64_t limit = client_.options().max_response_body_bytes;
    if (s.error_body.size() < limit) {
      s.error_body.append(s.scratch.data(), std::min<uint64_t>(n, limit - s.error_body.size()));
    }
    return true;
  }
  if (!s.request.split_lines) {
    const bool go_on = s.request.on_data(std::string_view(s.scratch.data(), n));
    if (finished_) return false;
    if (!go_on) {
      cancel("the stream was stopped by its reader");
      return false;
    }
    return true;
  }
  return deliver_lines(s.scratch.data(), n);
}

bool Exchange::deliver_lines(const char* data, size_t n) {
  StreamState& s = *stream_;
  // The reader may also have stopped the client (finished_): then there is nothing to cancel.
  const LineSplitter::Feed fed = s.lines.feed(
      data, n, [this, &s](std::string_view line) { return s.request.on_data(line) && !finished_; });
  switch (fed) {
    case LineSplitter::Feed::More:
      return true;
    case LineSplitter::Feed::TooLong:
      abort_stream(fmt::format("a line of the stream from {} is over {} bytes",
                               client_.options().endpoints[endpoint_].url,
                               s.request.max_line_bytes));
      return false;
    case LineSplitter::Feed::Stopped:
      if (!finished_) cancel("the stream was stopped by its reader");
      return false;
  }
  return false;
}

void Exchange::end_stream() {
  StreamState& s = *stream_;
  if (s.success) {
    // The body ended without a final newline: its last line is still a line.
    s.lines.finish([&s](std::string_view line) { return s.request.on_data(line); });
    if (finished_) return;
  }
  HttpResult result;
  result.responded = true;
  result.status = s.status;
  result.body = std::move(s.error_body);
  if (s.parser->get().keep_alive()) {
    client_.put_idle(endpoint_, std::move(connection_));
  } else {
    connection_->tcp().close();
    connection_.reset();
  }
  finish(std::move(result));
}

void Exchange::abort_stream(std::string error) {
  connection_->tcp().close();
  connection_.reset();
  HttpResult result;
  result.error = std::move(error);
  result.status = stream_->status;
  finish(std::move(result));
}

}  // namespace sluice::net
