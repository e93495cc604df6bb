#include "net/http_client.hpp"

#include <pthread.h>

#include <algorithm>
#include <exception>

#include <fmt/format.h>
#include <boost/asio/post.hpp>

#include "base/backoff.hpp"
#include "base/log.hpp"
#include "net/http_exchange.hpp"
#include "net/http_stream.hpp"
#include "net/pooled_http_client.hpp"
#include "net/tls_context.hpp"

namespace sluice::net {

namespace asio = boost::asio;

PooledHttpClient::PooledHttpClient(HttpClientOptions options,
                                   std::unique_ptr<asio::ssl::context> tls_context)
    : options_(std::move(options)),
      tls_context_(std::move(tls_context)),
      work_(asio::make_work_guard(ioc_)),
      endpoints_(options_.endpoints.size()),
      cancel_gate_(std::make_shared<CancelGate>()) {
  cancel_gate_->ioc = &ioc_;
  thread_ = std::thread([this] { run(); });
}

void PooledHttpClient::send(HttpRequest request, std::function<void(HttpResult)> done) {
  start_or_cancel(std::make_shared<Exchange>(*this, request, std::move(done)));
}

std::shared_ptr<HttpStream> PooledHttpClient::stream(HttpStreamRequest request,
                                                     std::function<void(HttpResult)> done) {
  auto exchange = std::make_shared<Exchange>(*this, std::move(request), std::move(done));
  auto handle = std::make_shared<StreamHandle>(cancel_gate_, exchange);
  start_or_cancel(exchange);
  return handle;
}

void PooledHttpClient::start_or_cancel(const std::shared_ptr<Exchange>& exchange) {
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
  exchange->cancel(exchange->client_stopped_reason());
}

void PooledHttpClient::stop() {
  bool first = false;
  {
    std::lock_guard lock(post_mutex_);
    first = !stopping_;
    stopping_ = true;
  }
  {
    // Stream handles may outlive the client: from now on their cancel() does nothing.
    std::lock_guard lock(cancel_gate_->mutex);
    cancel_gate_->ioc = nullptr;
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

size_t PooledHttpClient::healthy_endpoints() const {
  const int64_t now = steady_now_ns();
  return static_cast<size_t>(
      std::count_if(endpoints_.begin(), endpoints_.end(),
                    [now](const EndpointState& e) { return e.paused_until.load() <= now; }));
}

size_t PooledHttpClient::pick_endpoint() {
  const int64_t now = steady_now_ns();
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

std::unique_ptr<Connection> PooledHttpClient::take_idle(size_t endpoint) {
  auto& idle = endpoints_[endpoint].idle;
  while (!idle.empty()) {
    std::unique_ptr<Connection> connection = std::move(idle.back());
    idle.pop_back();
    if (connection->still_open()) return connection;
    connection->tcp().close();
  }
  return nullptr;
}

void PooledHttpClient::put_idle(size_t endpoint, std::unique_ptr<Connection> connection) {
  auto& idle = endpoints_[endpoint].idle;
  if (stopped_ || idle.size() >= options_.max_idle_connections) {
    connection->tcp().close();
    return;
  }
  connection->tcp().expires_never();
  idle.push_back(std::move(connection));
}

void PooledHttpClient::record_success(size_t endpoint) {
  EndpointState& state = endpoints_[endpoint];
  if (state.failures == 0) return;
  log::info(fmt::format("{} endpoint recovered", options_.name), "endpoint",
            options_.endpoints[endpoint].url, "failures", state.failures);
  state.failures = 0;
  state.paused_until.store(0);
}

void PooledHttpClient::record_failure(size_t endpoint, const std::string& error) {
  EndpointState& state = endpoints_[endpoint];
  ++state.failures;
  // Not jittered: the pause is the endpoint's state, not a retry time (the requests that fail
  // are retried by their senders, with their own jittered backoff).
  const int64_t pause = capped_doubling(options_.endpoint_pause_min_ns,
                                        options_.endpoint_pause_max_ns, state.failures);
  state.paused_until.store(steady_now_ns() + pause);
  // Connections opened before the failure are likely as dead as the one that failed.
  for (auto& connection : state.idle) connection->tcp().close();
  state.idle.clear();
  // The first failure is news; repeats while it stays down would flood the log.
  const auto severity = state.failures == 1 ? log::Severity::Warn : log::Severity::Debug;
  log::write(severity, fmt::format("{} endpoint failed; pausing it", options_.name), "endpoint",
             options_.endpoints[endpoint].url, "error", error, "failures", state.failures,
             "pause_ms", pause / 1'000'000);
}

void PooledHttpClient::run() {
  io_thread_id_.store(std::this_thread::get_id());
  pthread_setname_np(pthread_self(), options_.thread_name.substr(0, 15).c_str());
  for (;;) {
    try {
      ioc_.run();
      return;
    } catch (const std::exception& e) {
      // A throwing `done` must not take the client (and every other request) down.
      log::error(fmt::format("{} client: exception from a completion handler", options_.name),
                 "error", e.what());
    }
  }
}

void PooledHttpClient::shutdown() {
  stopped_ = true;
  // cancel() removes the exchange from active_ (and `done` may send more): iterate a copy.
  const std::vector<Exchange*> active(active_.begin(), active_.end());
  for (Exchange* exchange : active) exchange->cancel(exchange->client_stopped_reason());
  for (auto& endpoint : endpoints_) {
    for (auto& connection : endpoint.idle) connection->tcp().close();
    endpoint.idle.clear();
  }
  // run() returns once the aborted operations have delivered their handlers.
  work_.reset();
}

std::unique_ptr<HttpClient> HttpClient::create(HttpClientOptions options, std::string* error) {
  if (options.endpoints.empty()) {
    *error = fmt::format("{} client: no endpoint", options.name);
    return nullptr;
  }
  std::unique_ptr<asio::ssl::context> tls_context;
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
  return std::make_unique<PooledHttpClient>(std::move(options), std::move(tls_context));
}

}  // namespace sluice::net
