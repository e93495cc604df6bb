#include "support/http_server.hpp"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <mutex>
#include <sstream>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace sluice::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The decoded content and its `_bulk` action/document lines.
void decode(Received& r) {
  r.content = r.header("content-encoding") == "gzip" ? gunzip(r.body) : r.body;
  std::istringstream lines(r.content);
  std::string line;
  for (size_t k = 0; std::getline(lines, line); ++k) {
    (k % 2 == 0 ? r.actions : r.docs).push_back(line);
  }
}

}  // namespace

std::string Received::header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

std::string gunzip(std::string_view in) {
  z_stream s{};
  if (inflateInit2(&s, 15 + 16) != Z_OK) return "";
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  s.avail_in = static_cast<uInt>(in.size());
  std::string out;
  char chunk[64 << 10];
  int rc = Z_OK;
  while (rc == Z_OK) {
    s.next_out = reinterpret_cast<Bytef*>(chunk);
    s.avail_out = sizeof chunk;
    rc = inflate(&s, Z_NO_FLUSH);
    out.append(chunk, sizeof chunk - s.avail_out);
    if (rc == Z_BUF_ERROR && s.avail_in == 0) break;  // truncated
  }
  inflateEnd(&s);
  return rc == Z_STREAM_END ? out : std::string();
}

struct ScriptedHttpServer::State {
  explicit State(ServerOptions o) : options(std::move(o)), acceptor(ioc) {}

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      const size_t id = ++accepted;
      asio::co_spawn(ioc, session(std::move(socket), id), asio::detached);
    }
  }

  asio::awaitable<void> session(tcp::socket socket, size_t id) {
    try {
      if (options.tls != nullptr) {
        beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), *options.tls);
        beast::get_lowest_layer(stream).expires_after(options.idle_timeout);
        co_await stream.async_handshake(ssl::stream_base::server, asio::use_awaitable);
        co_await serve(stream, id);
      } else {
        beast::tcp_stream stream(std::move(socket));
        co_await serve(stream, id);
      }
    } catch (const std::exception&) {
      // The peer left, timed out, or failed the handshake: the session ends.
    }
    ++closed;
  }

  // Waits 2 ms at a time while `waiting` holds (and at most until `give_up`).
  asio::awaitable<void> wait_while(const std::function<bool()>& waiting,
                                   Clock::time_point give_up) {
    asio::steady_timer timer(ioc);
    while (waiting() && Clock::now() < give_up) {
      timer.expires_after(2ms);
      co_await timer.async_wait(asio::use_awaitable);
    }
  }

  template <typename Stream>
  asio::awaitable<void> serve(Stream& stream, size_t id) {
    beast::flat_buffer buffer;
    std::vector<char> scratch(4 << 20);
    for (;;) {
      beast::get_lowest_layer(stream).expires_after(options.idle_timeout);
      http::request_parser<http::buffer_body> parser;
      parser.body_limit(boost::none);
      co_await http::async_read_header(stream, buffer, parser, asio::use_awaitable);
      Received received;
      received.connection = id;
      received.method = std::string(parser.get().method_string());
      received.target = std::string(parser.get().target());
      for (const auto& field : parser.get()) {
        const std::string name = lower(field.name_string());
        received.headers[name] = std::string(field.value());
        received.header_order.push_back(name);
      }
      // The body is read straight from the stream into a large buffer (the parser would copy
      // it in 64 KiB steps): the throughput test measures the client, not this server.
      uint64_t remaining = parser.content_length().value_or(0);
      const size_t buffered = std::min<uint64_t>(buffer.size(), remaining);
      if (options.keep_bodies) {
        received.body.append(static_cast<const char*>(buffer.data().data()), buffered);
      }
      buffer.consume(buffered);
      remaining -= buffered;
      body_bytes += buffered;
      while (remaining > 0) {
        beast::get_lowest_layer(stream).expires_after(options.idle_timeout);
        const size_t want = std::min<uint64_t>(remaining, scratch.size());
        const size_t got = co_await stream.async_read_some(asio::buffer(scratch.data(), want),
                                                           asio::use_awaitable);
        if (options.keep_bodies) received.body.append(scratch.data(), got);
        remaining -= got;
        body_bytes += got;
      }
      if (options.keep_bodies) decode(received);
      {
        // Recorded (and numbered) before the handler runs, so that the handler's view of
        // "request number n" is the arrival order.
        std::lock_guard lock(mutex);
        received.number = requests.size();
        requests.push_back(received);
      }
      ++received_count;
      co_await wait_while([this] { return held.load(); }, Clock::time_point::max());
      const Reply reply = options.handler ? options.handler(received) : Reply{};
      co_await wait_while([&] { return received_count.load() < reply.wait_for_requests; },
                          Clock::now() + 4s);
      if (reply.delay.count() > 0) {
        asio::steady_timer timer(ioc);
        timer.expires_after(reply.delay);
        co_await timer.async_wait(asio::use_awaitable);
      }
      if (reply.drop) co_return;
      if (reply.feed) {
        const bool keep_open = co_await serve_feed(stream, reply);
        if (!keep_open) co_return;
        continue;
      }
      http::response<http::string_body> response{static_cast<http::status>(reply.status), 11};
      response.set(http::field::content_type, "application/json");
      response.body() = reply.body;
      response.keep_alive(!reply.close);
      response.prepare_payload();
      co_await http::async_write(stream, response, asio::use_awaitable);
      if (reply.close) co_return;
    }
  }

  // The chunked answer of a ChunkFeed, written as raw bytes so that a test controls every chunk.
  // False when the connection is to be closed.
  template <typename Stream>
  asio::awaitable<bool> serve_feed(Stream& stream, const Reply& reply) {
    ChunkFeed& feed = *reply.feed;
    std::string head = "HTTP/1.1 " + std::to_string(reply.status) +
                       " Stream\r\nContent-Type: application/json\r\n"
                       "Transfer-Encoding: chunked\r\n";
    if (reply.close) head += "Connection: close\r\n";
    head += "\r\n";
    beast::get_lowest_layer(stream).expires_after(options.idle_timeout);
    co_await asio::async_write(stream, asio::buffer(head), asio::use_awaitable);
    feed.mark_attached();
    asio::steady_timer timer(ioc);
    for (;;) {
      std::string chunk;
      const ChunkFeed::Next next = feed.next(&chunk);
      if (next == ChunkFeed::Next::Wait) {
        timer.expires_after(2ms);
        co_await timer.async_wait(asio::use_awaitable);
        continue;
      }
      if (next == ChunkFeed::Next::Drop) co_return false;
      std::string bytes;
      if (next == ChunkFeed::Next::End) {
        bytes = "0\r\n\r\n";
      } else {
        char size[20];
        std::snprintf(size, sizeof size, "%zx\r\n", chunk.size());
        bytes = size + chunk + "\r\n";
      }
      beast::get_lowest_layer(stream).expires_after(options.idle_timeout);
      co_await asio::async_write(stream, asio::buffer(bytes), asio::use_awaitable);
      if (next == ChunkFeed::Next::Chunk) feed.mark_written();
      if (next == ChunkFeed::Next::End) co_return !reply.close;
    }
  }

  ServerOptions options;
  asio::io_context ioc;
  tcp::acceptor acceptor;
  uint16_t port = 0;
  std::atomic<size_t> accepted{0};
  std::atomic<size_t> closed{0};
  std::atomic<size_t> received_count{0};
  std::atomic<uint64_t> body_bytes{0};
  std::atomic<bool> held{false};
  mutable std::mutex mutex;
  std::vector<Received> requests;
  std::thread thread;
};

ScriptedHttpServer::ScriptedHttpServer(ServerOptions options)
    : state_(std::make_unique<State>(std::move(options))) {
  State& s = *state_;
  const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), s.options.port);
  s.acceptor.open(endpoint.protocol());
  s.acceptor.set_option(tcp::acceptor::reuse_address(true));
  s.acceptor.bind(endpoint);
  s.acceptor.listen();
  s.port = s.acceptor.local_endpoint().port();
  asio::co_spawn(s.ioc, s.accept_loop(), asio::detached);
  s.thread = std::thread([&s] { s.ioc.run(); });
}

ScriptedHttpServer::~ScriptedHttpServer() {
  state_->ioc.stop();
  state_->thread.join();
}

uint16_t ScriptedHttpServer::port() const { return state_->port; }
std::string ScriptedHttpServer::url(std::string_view scheme, std::string_view path) const {
  return std::string(scheme) + "://127.0.0.1:" + std::to_string(state_->port) + std::string(path);
}
size_t ScriptedHttpServer::connections() const { return state_->accepted.load(); }
size_t ScriptedHttpServer::closed() const { return state_->closed.load(); }
size_t ScriptedHttpServer::request_count() const { return state_->received_count.load(); }
uint64_t ScriptedHttpServer::body_bytes() const { return state_->body_bytes.load(); }
std::vector<Received> ScriptedHttpServer::requests() const {
  std::lock_guard lock(state_->mutex);
  return state_->requests;
}
void ScriptedHttpServer::hold(bool held) { state_->held = held; }

void ChunkFeed::send(std::string bytes) {
  if (bytes.empty()) return;  // an empty chunk would end the answer
  std::lock_guard lock(mutex_);
  chunks_.push_back(std::move(bytes));
  ++sent_;
}

void ChunkFeed::end() {
  std::lock_guard lock(mutex_);
  ended_ = true;
}

void ChunkFeed::drop() {
  std::lock_guard lock(mutex_);
  dropped_ = true;
}

bool ChunkFeed::wait_attached(std::chrono::milliseconds timeout) const {
  return eventually(
      [this] {
        std::lock_guard lock(mutex_);
        return attached_;
      },
      timeout);
}

bool ChunkFeed::wait_written(std::chrono::milliseconds timeout) const {
  return eventually(
      [this] {
        std::lock_guard lock(mutex_);
        return written_ == sent_;
      },
      timeout);
}

ChunkFeed::Next ChunkFeed::next(std::string* chunk) {
  std::lock_guard lock(mutex_);
  if (dropped_) return Next::Drop;
  if (!chunks_.empty()) {
    *chunk = std::move(chunks_.front());
    chunks_.pop_front();
    return Next::Chunk;
  }
  return ended_ ? Next::End : Next::Wait;
}

void ChunkFeed::mark_attached() {
  std::lock_guard lock(mutex_);
  attached_ = true;
}

void ChunkFeed::mark_written() {
  std::lock_guard lock(mutex_);
  ++written_;
}

uint16_t refused_port() {
  asio::io_context ioc;
  tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

bool eventually(const std::function<bool()>& predicate, std::chrono::milliseconds timeout) {
  const auto until = Clock::now() + timeout;
  while (!predicate()) {
    if (Clock::now() > until) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

}  // namespace sluice::testing
