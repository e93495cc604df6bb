#pragma once
// The HTTP endpoint for metrics and health (DESIGN: "metrics and health are served over HTTP on
// a port, 127.0.0.1 by default"). One background thread runs its own Asio io_context; Beast and
// Asio stay inside http_server.cpp so that the rest of the code base never compiles them.
//
// Routes: GET|HEAD /metrics (Prometheus text 0.0.4); /health/live (liveness), /health/ready and
// its alias /health (readiness): 200 healthy, 503 not; POST /reload (loopback clients only):
// 200 when the reloaded config runs, 422 when it was refused; GET /tap (loopback clients only):
// a long-lived stream of sampled events (core/tap.hpp, server/tap_stream.hpp), which leaves the
// connection slots below once accepted and has its own cap.
// The server is hardened for an endpoint that may be reachable from a network: request headers
// are capped, bodies refused, idle and slow connections time out, concurrent connections are
// capped, and a full house of idle or slow clients cannot lock a probe out: the connection that
// has waited longest for its request makes room for a new one. Nothing a client sends can throw
// out of the server thread.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/tap.hpp"

namespace sluice {

struct HealthReport {
  bool healthy = true;
  std::string body;  // small JSON describing the components
};

struct HttpServerOptions {
  // How long a connection may wait for the first byte of a request (a new connection, or a
  // keep-alive one between requests).
  std::chrono::milliseconds idle_timeout{10'000};
  // From its first byte, the whole request (line, headers, body) must arrive within this time.
  // One deadline, not one per read: a client dribbling a byte a second is cut off all the same.
  std::chrono::milliseconds request_timeout{3'000};
  // Sending a response must finish within this time (a client that never reads).
  std::chrono::milliseconds write_timeout{10'000};
  // Open connections at most. When full, a new connection closes the one that has waited
  // longest for (or in) its request; only if every connection is being answered does the one
  // answered longest give way. The newest client is always served, so idle or dribbling
  // connections cannot lock a probe out, however many there are.
  size_t max_connections = 64;
  size_t max_header_bytes = 8 * 1024;  // beyond: 431
  size_t max_body_bytes = 1024;        // beyond: 413; no route takes a body
};

class HttpServer {
 public:
  using Options = HttpServerOptions;

  // All are called on the server thread, one request at a time, so they must be fast (read
  // atomics, render text). An exception they throw becomes a 500 response and a log line. A
  // missing handler makes its paths 404.
  struct Handlers {
    std::function<std::string()> metrics;  // Prometheus text exposition format 0.0.4
    std::function<HealthReport()> ready;   // /health/ready and /health
    std::function<HealthReport()> live;    // /health/live
    // POST /reload, from loopback clients only (403 for others): starts a config reload and
    // returns at once; `answer` is called (from any thread) with the result once it is known,
    // healthy meaning the new config runs. The connection waits for it; the server does not.
    std::function<void(std::function<void(HealthReport)> answer)> reload;
    // GET /tap?components=a,b&rate=N&format=json|text&color=1, from loopback clients only:
    // opens a tap stream, or refuses it (404 unknown component, 503 too many streams).
    std::function<TapOpened(const TapRequest&)> tap;
  };

  // `address` is "host:port": "127.0.0.1:9598", "[::1]:9598", "localhost:9598", or port 0 for any
  // free port ("127.0.0.1:0"). Returns null and sets `*error` (when not null) if the address
  // does not parse or cannot be bound.
  static std::unique_ptr<HttpServer> start(const std::string& address, Handlers handlers,
                                           std::string* error, const Options& options = {});

  // Stops the thread and closes the listening socket and every open connection.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  uint16_t port() const;  // the bound port (useful after binding port 0)

 private:
  class Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

inline constexpr const char* kDefaultMetricsAddress = "127.0.0.1:9598";

// The metrics address for an SLUICE_METRICS_ADDR value: null (unset) gives the default
// "127.0.0.1:9598"; "off", "none" (any case) or an empty/blank value disable the server
// (std::nullopt); anything else is returned trimmed, for HttpServer::start to validate.
std::optional<std::string> metrics_address_from_env_value(const char* value);
// The same, reading SLUICE_METRICS_ADDR from the environment.
std::optional<std::string> metrics_address_from_env();

}  // namespace sluice
