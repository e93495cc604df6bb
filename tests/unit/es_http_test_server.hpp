#pragma once
// Test tools for the Elasticsearch HTTP transport: a small HTTP/1.1 (or TLS) server on
// 127.0.0.1 with its own thread, whose answers each test scripts, and client-side helpers.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

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

#include "sinks/elasticsearch/http_transport.hpp"

namespace sluice::es::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// ---- A small HTTP/1.1 server on 127.0.0.1, on its own thread ----

struct Received {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // lower-case names
  std::vector<std::string> header_order;       // lower-case names, as sent
  std::string body;
  size_t connection = 0;  // 1-based, in accept order
};

struct Reply {
  int status = 200;
  std::string body = R"({"ok":true})";
  bool close = false;  // answer with `Connection: close`
  bool drop = false;   // close the connection without answering
  // Hold the answer until the server has received this many requests in all (at most 4 s).
  size_t wait_for_requests = 0;
  std::chrono::milliseconds delay{0};
};

struct ServerOptions {
  std::function<Reply(const Received&)> handler{};
  ssl::context* tls = nullptr;
  std::chrono::milliseconds idle_timeout{10'000};
  uint16_t port = 0;
  bool keep_bodies = true;  // false: count body bytes only (throughput)
};

inline std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

class TestServer {
 public:
  explicit TestServer(ServerOptions options = {}) : options_(std::move(options)), acceptor_(ioc_) {
    const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), options_.port);
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(ioc_, accept_loop(), asio::detached);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~TestServer() {
    ioc_.stop();
    thread_.join();
  }
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  uint16_t port() const { return port_; }
  std::string url(std::string_view scheme = "http", std::string_view path = "") const {
    return std::string(scheme) + "://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }
  size_t connections() const { return accepted_.load(); }
  size_t closed() const { return closed_.load(); }
  size_t request_count() const { return received_count_.load(); }
  uint64_t body_bytes() const { return body_bytes_.load(); }
  std::vector<Received> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      const size_t id = ++accepted_;
      asio::co_spawn(ioc_, session(std::move(socket), id), asio::detached);
    }
  }

  asio::awaitable<void> session(tcp::socket socket, size_t id) {
    try {
      if (options_.tls != nullptr) {
        beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), *options_.tls);
        beast::get_lowest_layer(stream).expires_after(options_.idle_timeout);
        co_await stream.async_handshake(ssl::stream_base::server, asio::use_awaitable);
        co_await serve(stream, id);
      } else {
        beast::tcp_stream stream(std::move(socket));
        co_await serve(stream, id);
      }
    } catch (const std::exception&) {
      // The peer left, timed out, or failed the handshake: the session ends.
    }
    ++closed_;
  }

  template <typename Stream>
  asio::awaitable<void> serve(Stream& stream, size_t id) {
    beast::flat_buffer buffer;
    std::vector<char> scratch(4 << 20);
    for (;;) {
      beast::get_lowest_layer(stream).expires_after(options_.idle_timeout);
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
      if (options_.keep_bodies) {
        received.body.append(static_cast<const char*>(buffer.data().data()), buffered);
      }
      buffer.consume(buffered);
      remaining -= buffered;
      body_bytes_ += buffered;
      while (remaining > 0) {
        beast::get_lowest_layer(stream).expires_after(options_.idle_timeout);
        const size_t want = std::min<uint64_t>(remaining, scratch.size());
        const size_t got = co_await stream.async_read_some(asio::buffer(scratch.data(), want),
                                                           asio::use_awaitable);
        if (options_.keep_bodies) received.body.append(scratch.data(), got);
        remaining -= got;
        body_bytes_ += got;
      }
      const Reply reply = options_.handler ? options_.handler(received) : Reply{};
      {
        std::lock_guard lock(mutex_);
        requests_.push_back(std::move(received));
      }
      ++received_count_;
      asio::steady_timer timer(ioc_);
      const auto give_up = Clock::now() + 4s;
      while (received_count_.load() < reply.wait_for_requests && Clock::now() < give_up) {
        timer.expires_after(2ms);
        co_await timer.async_wait(asio::use_awaitable);
      }
      if (reply.delay.count() > 0) {
        timer.expires_after(reply.delay);
        co_await timer.async_wait(asio::use_awaitable);
      }
      if (reply.drop) co_return;
      http::response<http::string_body> response{static_cast<http::status>(reply.status), 11};
      response.set(http::field::content_type, "application/json");
      response.body() = reply.body;
      response.keep_alive(!reply.close);
      response.prepare_payload();
      co_await http::async_write(stream, response, asio::use_awaitable);
      if (reply.close) co_return;
    }
  }

  ServerOptions options_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::atomic<size_t> accepted_{0};
  std::atomic<size_t> closed_{0};
  std::atomic<size_t> received_count_{0};
  std::atomic<uint64_t> body_bytes_{0};
  mutable std::mutex mutex_;
  std::vector<Received> requests_;
  std::thread thread_;
};

// ---- Client helpers ----

inline Endpoint endpoint(const std::string& url) {
  Endpoint out;
  std::string error;
  EXPECT_TRUE(parse_endpoint(url, &out, &error)) << error;
  return out;
}

inline std::unique_ptr<HttpTransport> make_transport(TransportOptions options) {
  std::string error;
  auto transport = HttpTransport::create(std::move(options), &error);
  EXPECT_NE(transport, nullptr) << error;
  return transport;
}

inline HttpRequest post(std::string_view body, std::string target = "/_bulk") {
  HttpRequest request;
  request.target = std::move(target);
  request.content_type = "application/x-ndjson";
  request.body = body;
  return request;
}

// Sends and waits (bounded): the result, or a failure result if `done` never ran.
inline HttpResult send_sync(HttpTransport& transport, HttpRequest request) {
  auto promise = std::make_shared<std::promise<HttpResult>>();
  auto future = promise->get_future();
  transport.send(std::move(request),
                 [promise](HttpResult result) { promise->set_value(std::move(result)); });
  if (future.wait_for(5s) != std::future_status::ready) {
    ADD_FAILURE() << "done was not called within 5 s";
    HttpResult none;
    none.error = "test: no result";
    return none;
  }
  return future.get();
}

// Collects the results of requests sent without waiting; counts calls per request.
class Collector {
 public:
  std::function<void(HttpResult)> callback(size_t index) {
    {
      std::lock_guard lock(mutex_);
      if (calls_.size() <= index) calls_.resize(index + 1);
    }
    return [this, index](HttpResult result) {
      std::lock_guard lock(mutex_);
      ++calls_[index];
      results_.push_back(std::move(result));
      cv_.notify_all();
    };
  }
  bool wait(size_t count, std::chrono::milliseconds timeout = 5000ms) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return results_.size() >= count; });
  }
  std::vector<HttpResult> results() {
    std::lock_guard lock(mutex_);
    return results_;
  }
  std::vector<int> calls() {
    std::lock_guard lock(mutex_);
    return calls_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<HttpResult> results_;
  std::vector<int> calls_;
};

template <typename Predicate>
bool eventually(Predicate predicate, std::chrono::milliseconds timeout = 3000ms) {
  const auto until = Clock::now() + timeout;
  while (!predicate()) {
    if (Clock::now() > until) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

// A loopback port with nothing listening: connecting to it is refused.
inline uint16_t refused_port() {
  asio::io_context ioc;
  tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

}  // namespace sluice::es::test
