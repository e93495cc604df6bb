#pragma once
// Client-side helpers for the HTTP client's tests (the server they talk to is
// tests/support/http_server.hpp).
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "net/http_client.hpp"
#include "support/http_server.hpp"

namespace sluice::net::test {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using sluice::testing::eventually;
using sluice::testing::Received;
using sluice::testing::refused_port;
using sluice::testing::Reply;
using sluice::testing::ScriptedHttpServer;
using sluice::testing::ServerOptions;

// ---- Client helpers ----

inline Endpoint endpoint(const std::string& url) {
  Endpoint out;
  std::string error;
  EXPECT_TRUE(parse_endpoint(url, EndpointDefaults{}, &out, &error)) << error;
  return out;
}

inline std::unique_ptr<HttpClient> make_client(HttpClientOptions options) {
  std::string error;
  auto client = HttpClient::create(std::move(options), &error);
  EXPECT_NE(client, nullptr) << error;
  return client;
}

inline HttpRequest post(std::string_view body, std::string target = "/_bulk") {
  HttpRequest request;
  request.target = std::move(target);
  request.content_type = "application/x-ndjson";
  request.body = body;
  return request;
}

// Sends and waits (bounded): the result, or a failure result if `done` never ran.
inline HttpResult send_sync(HttpClient& client, HttpRequest request) {
  auto promise = std::make_shared<std::promise<HttpResult>>();
  auto future = promise->get_future();
  client.send(std::move(request),
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

}  // namespace sluice::net::test
