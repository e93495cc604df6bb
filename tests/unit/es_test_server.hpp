#pragma once
// A scripted Elasticsearch `_bulk` endpoint for the sink's unit tests: Beast over loopback, a
// thread per connection, every request recorded (gzip bodies decompressed, NDJSON split into
// actions and documents) and answered by a handler the test gives. Not an emulator (that is
// tests/es/): it answers exactly what the test scripts, so that each rule of the sink can be
// checked alone.
#include <sys/socket.h>
#include <zlib.h>

#include <algorithm>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace sluice::testing {

namespace es_asio = boost::asio;
namespace es_beast = boost::beast;
namespace es_http = es_beast::http;
using es_tcp = es_asio::ip::tcp;

struct Received {
  std::string target;
  std::string content_type;
  std::string content_encoding;
  std::string authorization;
  std::string body;  // decompressed
  std::vector<std::string> actions;
  std::vector<std::string> docs;
};

struct Answer {
  int status = 200;
  std::string body;
};

inline std::string gunzip(std::string_view in) {
  z_stream s{};
  inflateInit2(&s, 15 + 16);
  std::string out(64 << 20, '\0');
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  s.avail_in = static_cast<uInt>(in.size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = static_cast<uInt>(out.size());
  int rc = inflate(&s, Z_FINISH);
  out.resize(rc == Z_STREAM_END ? out.size() - s.avail_out : 0);
  inflateEnd(&s);
  return out;
}

// Answers each request with what the handler says, on a thread per connection. While held, requests
// are recorded but not answered.
class BulkServer {
 public:
  using Handler = std::function<Answer(const Received&, size_t request_number)>;

  explicit BulkServer(Handler handler, uint16_t port = 0)
      : handler_(std::move(handler)),
        acceptor_(io_, es_tcp::endpoint(es_asio::ip::make_address("127.0.0.1"), port)) {
    port_ = acceptor_.local_endpoint().port();
    accept_thread_ = std::thread([this] { accept_loop(); });
  }
  ~BulkServer() { stop(); }

  void stop() {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      stopping_ = true;
      for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
    }
    cv_.notify_all();
    // Wakes the blocking accept().
    es_asio::io_context io;
    es_tcp::socket wake(io);
    es_beast::error_code ec;
    wake.connect(es_tcp::endpoint(es_asio::ip::make_address("127.0.0.1"), port_), ec);
    accept_thread_.join();
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mutex_);
      threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
  }

  [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<Received> received() {
    std::lock_guard lock(mutex_);
    return received_;
  }
  size_t count() {
    std::lock_guard lock(mutex_);
    return received_.size();
  }
  void hold(bool held) {
    {
      std::lock_guard lock(mutex_);
      held_ = held;
    }
    cv_.notify_all();
  }

 private:
  void accept_loop() {
    while (true) {
      es_tcp::socket socket(io_);
      es_beast::error_code ec;
      acceptor_.accept(socket, ec);
      std::lock_guard lock(mutex_);
      if (ec || stopping_) return;
      fds_.push_back(socket.native_handle());
      threads_.emplace_back([this, s = std::move(socket)]() mutable { serve(std::move(s)); });
    }
  }

  void serve(es_tcp::socket socket) {
    es_beast::flat_buffer buffer;
    while (true) {
      es_http::request<es_http::string_body> request;
      es_beast::error_code ec;
      es_http::read(socket, buffer, request, ec);
      if (ec) break;
      Received r;
      r.target = std::string(request.target());
      r.content_type = std::string(request[es_http::field::content_type]);
      r.content_encoding = std::string(request[es_http::field::content_encoding]);
      r.authorization = std::string(request[es_http::field::authorization]);
      r.body = r.content_encoding == "gzip" ? gunzip(request.body()) : request.body();
      std::istringstream lines(r.body);
      std::string line;
      for (size_t k = 0; std::getline(lines, line); ++k) {
        (k % 2 == 0 ? r.actions : r.docs).push_back(line);
      }
      size_t number;
      {
        std::unique_lock lock(mutex_);
        number = received_.size();
        received_.push_back(r);
        cv_.wait(lock, [this] { return !held_ || stopping_; });
        if (stopping_) break;
      }
      Answer answer = handler_(r, number);
      es_http::response<es_http::string_body> response{static_cast<es_http::status>(answer.status),
                                                       11};
      response.set(es_http::field::content_type, "application/json");
      response.body() = answer.body;
      response.keep_alive(true);
      response.prepare_payload();
      es_http::write(socket, response, ec);
      if (ec) break;
    }
    std::lock_guard lock(mutex_);
    fds_.erase(std::remove(fds_.begin(), fds_.end(), socket.native_handle()), fds_.end());
  }

  Handler handler_;
  es_asio::io_context io_;
  es_tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::thread accept_thread_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool held_ = false;
  std::vector<int> fds_;
  std::vector<std::thread> threads_;
  std::vector<Received> received_;
};

// A bulk answer with one item per status (errors: true when any is not 2xx).
inline std::string bulk_answer(const std::vector<int>& statuses,
                               const std::string& action = "index") {
  bool errors = false;
  std::string items;
  for (int status : statuses) {
    if (!items.empty()) items += ",";
    items += "{\"" + action + "\":{\"_index\":\"logs\",\"status\":" + std::to_string(status);
    if (status >= 300) {
      errors = true;
      std::string type = status == 429   ? "es_rejected_execution_exception"
                         : status == 409 ? "version_conflict_engine_exception"
                         : status >= 500 ? "unavailable_shards_exception"
                                         : "mapper_parsing_exception";
      items += ",\"error\":{\"type\":\"" + type +
               "\",\"reason\":\"failed: " + std::to_string(status) + "\"}";
    }
    items += "}}";
  }
  return std::string("{\"took\":1,\"errors\":") + (errors ? "true" : "false") + ",\"items\":[" +
         items + "]}";
}

// Status per doc from a function of the doc's text.
inline BulkServer::Handler per_doc(
    std::function<int(const std::string& doc, size_t request)> status) {
  return [status = std::move(status)](const Received& r, size_t number) {
    std::vector<int> statuses;
    for (const auto& doc : r.docs) statuses.push_back(status(doc, number));
    return Answer{200, bulk_answer(statuses)};
  };
}

}  // namespace sluice::testing
