#include "server/tap_stream.hpp"

#include <array>
#include <chrono>
#include <cstdio>
#include <string>
#include <utility>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "base/clock.hpp"
#include "base/log.hpp"
#include "server/tap_query.hpp"

namespace sluice {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// How often the stream takes what the workers sampled: often enough to look live.
constexpr std::chrono::milliseconds kPollInterval{50};

class TapSession : public std::enable_shared_from_this<TapSession> {
 public:
  TapSession(tcp::socket socket, std::unique_ptr<TapSubscription> subscription, bool chunked)
      : socket_(std::move(socket)),
        subscription_(std::move(subscription)),
        chunked_(chunked),
        timer_(socket_.get_executor()),
        lines_(kTapBufferBytes + 4096) {}
  TapSession(const TapSession&) = delete;
  TapSession& operator=(const TapSession&) = delete;

  void start() {
    out_.append(
        "HTTP/1.1 200 OK\r\nServer: sluice\r\nContent-Type: application/x-ndjson\r\n"
        "Cache-Control: no-store\r\nConnection: close\r\n");
    if (chunked_) out_.append("Transfer-Encoding: chunked\r\n");
    out_.append("\r\n");
    append_framed(subscription_->stream().opening_line());
    write();
    watch_for_close();
    poll();
  }

 private:
  // The client sends nothing more; a read that completes means it closed (or reset) the
  // connection, which ends the stream and frees its place among the tap streams.
  void watch_for_close() {
    socket_.async_read_some(asio::buffer(discard_),
                            [self = shared_from_this()](boost::system::error_code ec, size_t) {
                              if (ec) {
                                self->close();
                                return;
                              }
                              self->watch_for_close();
                            });
  }

  void poll() {
    timer_.expires_after(kPollInterval);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || self->closed_) return;
      self->send_sampled();
      self->poll();
    });
  }

  void send_sampled() {
    if (writing_) return;  // the client has not taken the last write: the stream's buffer waits
    subscription_->stream().drain(lines_, monotonic_ns());
    if (lines_.empty()) return;
    append_framed(lines_.view());
    lines_.clear();
    write();
  }

  void append_framed(std::string_view data) {
    if (!chunked_) {
      out_.append(data);
      return;
    }
    char size[20];
    const int n = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
    out_.append(std::string_view(size, static_cast<size_t>(n)));
    out_.append(data);
    out_.append("\r\n");
  }

  void write() {
    writing_ = true;
    asio::async_write(socket_, asio::buffer(out_.data(), out_.size()),
                      [self = shared_from_this()](boost::system::error_code ec, size_t) {
                        self->writing_ = false;
                        self->out_.clear();
                        if (ec) self->close();
                      });
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ignored;
    timer_.cancel();
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  tcp::socket socket_;
  std::unique_ptr<TapSubscription> subscription_;  // closed with the session
  const bool chunked_;
  asio::steady_timer timer_;
  ByteBuffer lines_;  // taken from the stream (swapped with its buffer: neither side allocates)
  ByteBuffer out_;    // framed, being written
  bool writing_ = false;
  bool closed_ = false;
  std::array<char, 512> discard_{};
};

TapAnswer refused(int status, std::string body) {
  TapAnswer answer;
  answer.status = status;
  answer.body = std::move(body);
  return answer;
}

}  // namespace

TapAnswer answer_tap(const std::function<TapOpened(const TapRequest&)>& open, bool get,
                     bool from_loopback, std::string_view target) {
  if (!get) return refused(405, "method not allowed\n");
  if (!from_loopback) return refused(403, "tap is answered for loopback clients only\n");
  TapRequest request;
  std::string error;
  const size_t question = target.find('?');
  const std::string_view query =
      question == std::string_view::npos ? std::string_view() : target.substr(question + 1);
  if (!parse_tap_query(query, &request, &error)) return refused(400, error + "\n");
  TapOpened opened;
  try {
    opened = open(request);
  } catch (const std::exception& e) {
    static log::RateLimit errors;
    uint64_t suppressed = 0;
    if (errors.allow(&suppressed)) {
      log::error("http server: handler failed", "path", "/tap", "error", e.what(), "suppressed",
                 suppressed);
    }
    return refused(500, "internal error\n");
  }
  TapAnswer answer;
  answer.subscription = std::move(opened.subscription);
  if (!answer.subscription) {
    answer.status = opened.status;
    answer.json = true;
    answer.body = std::move(opened.body);
  }
  return answer;
}

void start_tap_stream(tcp::socket socket, std::unique_ptr<TapSubscription> subscription,
                      bool chunked) {
  std::make_shared<TapSession>(std::move(socket), std::move(subscription), chunked)->start();
}

}  // namespace sluice
