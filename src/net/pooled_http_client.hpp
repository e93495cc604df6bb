#pragma once
// The HttpClient: the io thread, the endpoints' health and their idle keep-alive connections,
// and the lifecycle (stop, cancellation). Each request is an Exchange (net/http_exchange.hpp)
// that borrows from here. Internal to net/.
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

#include "net/http_client.hpp"
#include "net/http_connection.hpp"

namespace sluice::net {

class Exchange;
struct CancelGate;

class PooledHttpClient final : public HttpClient {
 public:
  PooledHttpClient(HttpClientOptions options,
                   std::unique_ptr<boost::asio::ssl::context> tls_context);
  ~PooledHttpClient() override { stop(); }
  PooledHttpClient(const PooledHttpClient&) = delete;
  PooledHttpClient& operator=(const PooledHttpClient&) = delete;

  void send(HttpRequest request, std::function<void(HttpResult)> done) override;
  std::shared_ptr<HttpStream> stream(HttpStreamRequest request,
                                     std::function<void(HttpResult)> done) override;
  void stop() override;
  [[nodiscard]] size_t healthy_endpoints() const override;

  // ---- io thread only, for Exchange ----
  boost::asio::io_context& ioc() { return ioc_; }
  const HttpClientOptions& options() const { return options_; }
  bool stopped() const { return stopped_; }
  boost::asio::ssl::context* tls_context() { return tls_context_.get(); }
  void add_active(Exchange* exchange) { active_.insert(exchange); }
  void remove_active(Exchange* exchange) { active_.erase(exchange); }
  // Round-robin over the endpoints that are not paused; with all paused, the one that is
  // allowed back first.
  size_t pick_endpoint();
  std::unique_ptr<Connection> take_idle(size_t endpoint);
  void put_idle(size_t endpoint, std::unique_ptr<Connection> connection);
  void record_success(size_t endpoint);
  void record_failure(size_t endpoint, const std::string& error);

 private:
  struct EndpointState {
    // Steady-clock ns; read by healthy_endpoints() on any thread, written on the io thread.
    std::atomic<int64_t> paused_until{0};
    uint32_t failures = 0;
    std::vector<std::unique_ptr<Connection>> idle;
  };

  void run();
  void shutdown();
  // Posts exchange->start() unless the client is stopping (then cancels it here).
  void start_or_cancel(const std::shared_ptr<Exchange>& exchange);

  HttpClientOptions options_;
  std::unique_ptr<boost::asio::ssl::context> tls_context_;
  boost::asio::io_context ioc_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::vector<EndpointState> endpoints_;
  size_t next_endpoint_ = 0;              // io thread
  bool stopped_ = false;                  // io thread
  std::unordered_set<Exchange*> active_;  // io thread; each is kept alive by its pending op
  std::mutex post_mutex_;
  bool stopping_ = false;                    // under post_mutex_
  std::shared_ptr<CancelGate> cancel_gate_;  // what stream handles post their cancel() to
  std::mutex join_mutex_;
  std::atomic<std::thread::id> io_thread_id_{};
  std::thread thread_;
};

}  // namespace sluice::net
