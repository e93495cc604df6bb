#pragma once
// An HTTP/1.1 client for every HTTP sink and client of sluice (the Elasticsearch sink; the
// Kubernetes API next): Boost.Beast over one Asio io_context thread owned by the client,
// keep-alive connections pooled per endpoint, plain TCP or TLS (Asio SSL with OpenSSL), one
// deadline per request, no thread per request and no libcurl. Bodies are sent from the caller's
// memory as they are (already gzip-compressed when the caller says so: net/gzip_body.hpp).
//
// Endpoints are used round-robin. One that fails at the transport level (refused, reset,
// timeout, TLS error) or answers 502/503/504 is skipped for a while (doubling per consecutive
// failure, capped), while a healthy one remains; when none is healthy, the one whose pause ends
// first is tried.
//
// send() may be called from any thread; `done` runs on the client's thread, exactly once per
// request (also when the client stops: the result then says `cancelled`).
//
// stream() is the long-lived variant (a Kubernetes watch): the body of a 2xx answer is handed to
// a callback as it arrives (complete lines, or the bytes as read), under an idle timeout instead
// of the request deadline, with a bound on the length of a line.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/http_endpoint.hpp"

namespace sluice::net {

struct TlsOptions {
  std::string ca_file;    // PEM bundle; empty: the system's default verify paths
  bool verify = true;     // verify the certificate chain and the host name
  std::string cert_file;  // client certificate (PEM), optional
  std::string key_file;   // its key (PEM)
};

struct HttpClientOptions {
  std::vector<Endpoint> endpoints;  // at least one
  TlsOptions tls;
  // Connect + TLS handshake + write + read of one request, together.
  int64_t timeout_ns = 60'000'000'000;
  // Idle keep-alive connections kept per endpoint (requests in flight may open more).
  size_t max_idle_connections = 4;
  // Sent with every request (e.g. Authorization), after Host, Content-Type, Content-Encoding,
  // Content-Length.
  std::vector<std::pair<std::string, std::string>> headers;
  // How long an endpoint that failed is skipped: doubles per consecutive failure up to the max.
  int64_t endpoint_pause_min_ns = 1'000'000'000;
  int64_t endpoint_pause_max_ns = 30'000'000'000;
  // A larger response body fails the request: it bounds the memory a misbehaving peer can make
  // the client hold.
  uint64_t max_response_body_bytes = 64ULL << 20;
  // Who uses the client: starts its log messages ("<name> endpoint failed; pausing it").
  std::string name = "http";
  // The client thread's name (at most 15 characters, as Linux allows).
  std::string thread_name = "sluice-http";
};

struct HttpRequest {
  std::string_view method = "POST";
  std::string target;                 // path and query, e.g. "/_bulk?pipeline=x" (base_path added)
  std::string_view content_type;      // e.g. "application/x-ndjson"; empty: no header
  std::string_view content_encoding;  // "gzip" or empty
  // The body: the caller's memory, which must stay valid until `done` has run.
  std::string_view body;
  // Sent with this request only, after HttpClientOptions::headers (e.g. an Authorization whose
  // token rotates).
  std::vector<std::pair<std::string, std::string>> headers{};
};

// A GET whose answer is read as it comes: for a 2xx answer, `on_data` receives the body (each
// complete line without its "\n" and a trailing "\r", empty lines skipped; or, with
// `split_lines` false, the bytes of each read); any other status's body (at most
// max_response_body_bytes) goes to the final HttpResult's `body` instead. Connecting, the TLS
// handshake, sending and the response header are under the client's timeout_ns; after the
// header only the idle timeout applies, restarted by every byte received.
struct HttpStreamRequest {
  std::string target{};  // path and query (base_path added)
  std::vector<std::pair<std::string, std::string>> headers{};
  // No byte for this long: the stream fails ("idle"). A Kubernetes watch sets the timeoutSeconds
  // it asked the server for plus a margin: silent longer, its server is gone (half-open).
  int64_t idle_timeout_ns = 120'000'000'000;
  bool split_lines = true;
  // A line longer than this fails the stream rather than growing the buffer without bound.
  size_t max_line_bytes = 16U << 20;
  // Called once with the status when the response header is in (on the client's thread).
  std::function<void(int status)> on_head{};
  // Called on the client's thread with each line (or chunk) of a 2xx answer; the bytes are valid
  // only during the call. Returning false ends the stream (the result says `cancelled`).
  std::function<bool(std::string_view)> on_data{};
};

// The handle of a stream in flight.
class HttpStream {
 public:
  virtual ~HttpStream() = default;
  // Thread-safe, also after the stream has ended or the client has gone (then it does nothing).
  // Ends the stream soon: `done` runs with `cancelled`; no `on_data` call starts after `done`.
  virtual void cancel() = 0;
};

struct HttpResult {
  // False: no HTTP response (connect refused, reset, timeout, TLS failure, cancelled); `error`
  // says why. True: `status` and `body` are the response's.
  bool responded = false;
  bool cancelled = false;  // the client was stopped before the request finished
  std::string error;
  int status = 0;
  std::string body;
  size_t endpoint = 0;  // index into HttpClientOptions::endpoints
  int64_t elapsed_ns = 0;
};

class HttpClient {
 public:
  // Starts the io_context thread. Fails (nullptr, `error` set) when the TLS context cannot be
  // built (unreadable CA file, bad client certificate).
  static std::unique_ptr<HttpClient> create(HttpClientOptions options, std::string* error);
  virtual ~HttpClient() = default;

  // Thread-safe. Queues the request for the next endpoint in turn; `done` is called once, on the
  // client's thread (it must not block). After stop(), `done` runs at once on the caller's
  // thread, with `cancelled`.
  virtual void send(HttpRequest request, std::function<void(HttpResult)> done) = 0;
  // Thread-safe. Starts a streamed GET (see HttpStreamRequest); `done` is called once when it
  // ends, on the client's thread: the body ended (`responded`, the status), a failure (`error`:
  // refused, idle timeout, a line over the cap, ...) or a cancellation (`cancelled`). A transport
  // failure after the first byte of the body is never retried by the client: lines would repeat.
  virtual std::shared_ptr<HttpStream> stream(HttpStreamRequest request,
                                             std::function<void(HttpResult)> done) = 0;
  // Cancels everything in flight (each `done` runs with `cancelled`), then joins the thread.
  // Idempotent; also done by the destructor. May be called from `done` (it then returns without
  // joining; a later stop() or the destructor joins), but the client must not be destroyed
  // from `done`.
  virtual void stop() = 0;
  // Endpoints not currently paused after a failure.
  [[nodiscard]] virtual size_t healthy_endpoints() const = 0;
};

}  // namespace sluice::net
