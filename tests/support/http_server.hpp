#pragma once
// The one scripted HTTP/1.1 server of the unit tests: on 127.0.0.1 (plain or TLS), on its own
// thread, every request recorded and answered with what the test's handler says. Not an
// emulator (that is tests/es/): it answers exactly what the test scripts, so that each rule of a
// client (the Elasticsearch transport and sink) can be checked alone.
//
// Beside the answer, a test can script the connection: close it after answering, drop it without
// answering, delay the answer, hold it until the server has seen N requests, or hold every answer
// until released (hold()), or answer with a chunked stream that the test feeds (ChunkFeed: a
// watch). Gzip bodies are decompressed and NDJSON bodies split into `_bulk`
// actions and documents, for the tests of bulk clients.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace boost::asio::ssl {
class context;
}

namespace sluice::testing {

struct Received {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // lower-case names
  std::vector<std::string> header_order;       // lower-case names, as sent
  std::string body;                            // as sent
  size_t connection = 0;                       // 1-based, in accept order
  size_t number = 0;                           // 0-based, in arrival order
  // The body decompressed when it came with `Content-Encoding: gzip` (else the body), and its
  // lines taken as `_bulk` pairs: even lines are actions, odd ones documents.
  std::string content;
  std::vector<std::string> actions;
  std::vector<std::string> docs;

  // The value of header `name` (lower case), or "" when it was not sent.
  [[nodiscard]] std::string header(const std::string& name) const;
};

// The body of a streamed answer (`Transfer-Encoding: chunked`), fed by the test from any thread:
// each send() goes out as one chunk as soon as the server sees it (within ~2 ms).
class ChunkFeed {
 public:
  void send(std::string bytes);
  // The last chunk: the answer is complete (the connection stays open unless Reply::close).
  void end();
  // Closes the connection without ending the answer (a dropped watch).
  void drop();
  // Until the server answers with this feed (its header is out), at most `timeout`.
  bool wait_attached(std::chrono::milliseconds timeout = std::chrono::milliseconds(3000)) const;
  // Until every chunk sent so far has been written to the socket, at most `timeout`.
  bool wait_written(std::chrono::milliseconds timeout = std::chrono::milliseconds(3000)) const;

  // ---- the server's side ----
  enum class Next { Wait, Chunk, End, Drop };
  Next next(std::string* chunk);
  void mark_attached();
  void mark_written();

 private:
  mutable std::mutex mutex_;
  std::deque<std::string> chunks_;
  bool ended_ = false;
  bool dropped_ = false;
  bool attached_ = false;
  size_t sent_ = 0;
  size_t written_ = 0;
};

struct Reply {
  int status = 200;
  std::string body = R"({"ok":true})";
  bool close = false;  // answer with `Connection: close`
  bool drop = false;   // close the connection without answering
  // Hold the answer until the server has received this many requests in all (at most 4 s).
  size_t wait_for_requests = 0;
  std::chrono::milliseconds delay{0};
  // Answer `status` with a chunked body taken from this feed (`body` is then unused).
  std::shared_ptr<ChunkFeed> feed{};
};

struct ServerOptions {
  std::function<Reply(const Received&)> handler{};
  boost::asio::ssl::context* tls = nullptr;
  std::chrono::milliseconds idle_timeout{10'000};
  uint16_t port = 0;        // 0: any free port
  bool keep_bodies = true;  // false: count body bytes only (throughput)
};

class ScriptedHttpServer {
 public:
  explicit ScriptedHttpServer(ServerOptions options = {});
  ~ScriptedHttpServer();
  ScriptedHttpServer(const ScriptedHttpServer&) = delete;
  ScriptedHttpServer& operator=(const ScriptedHttpServer&) = delete;

  [[nodiscard]] uint16_t port() const;
  [[nodiscard]] std::string url(std::string_view scheme = "http", std::string_view path = "") const;
  [[nodiscard]] size_t connections() const;    // accepted so far
  [[nodiscard]] size_t closed() const;         // sessions ended so far
  [[nodiscard]] size_t request_count() const;  // received so far (answered or not)
  [[nodiscard]] uint64_t body_bytes() const;
  [[nodiscard]] std::vector<Received> requests() const;
  // While held, requests are recorded but not answered.
  void hold(bool held);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// A loopback port with nothing listening: connecting to it is refused.
uint16_t refused_port();

// Polls `predicate` every 2 ms until it holds (true) or `timeout` passes (false).
bool eventually(const std::function<bool()>& predicate,
                std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));

// gunzip of a whole body; "" when it is not valid gzip.
std::string gunzip(std::string_view in);

}  // namespace sluice::testing
