#pragma once
// One list + watch of a Kubernetes resource (the pods of this node; the namespaces), on its own
// thread, over the shared HttpClient: list in pages (following `continue`), then watch from the
// list's resourceVersion with bookmarks; every event moves the resourceVersion on, so a dropped
// watch resumes where it was (no relist); 410 Gone (an HTTP 410 or an ERROR event with code
// 410) relists; failures wait a jittered exponential backoff. What the objects mean is the
// WatchTarget's business (watch_event.hpp); the API's state (reachable, refusing) and request
// counts are shared with the other watches and GETs through KubeStatus.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include <simdjson.h>

#include "base/backoff.hpp"
#include "net/http_client.hpp"
#include "sources/container/pod_metadata.hpp"
#include "sources/container/watch_event.hpp"

namespace sluice::kube {

// Time as the client sees it: injectable, so that tests of the token re-read and the backoff do
// not sleep.
struct KubeTime {
  std::function<int64_t()> now_ns;  // monotonic
  // Waits `ns` (a backoff): unset, the watch waits on its own condition variable (woken by
  // stop); a test records the delay and moves its clock on instead.
  std::function<void(int64_t ns)> sleep_ns;
};
KubeTime real_kube_time();

// The bearer token, read from token_file and re-read when older than the re-read period or
// after a 401 (projected service-account tokens rotate). Thread-safe.
class TokenSource {
 public:
  TokenSource(std::string path, KubeTime time, int64_t reread_ns);
  // `Bearer <token>`, or "" when there is no token file (e.g. `kubectl proxy`) or it cannot be
  // read (the API then answers 401, and the state says so).
  std::string authorization();
  void invalidate();  // the next authorization() reads the file again
  [[nodiscard]] uint64_t reads() const { return reads_.load(); }

 private:
  std::string path_;
  KubeTime time_;
  int64_t reread_ns_;
  std::mutex mutex_;
  std::string header_;
  int64_t read_at_ns_ = 0;
  bool valid_ = false;
  std::atomic<uint64_t> reads_{0};
};

// The API as the last request found it. Each change is logged once.
enum class ApiState { Starting, Synced, Unreachable, Unauthorized, Forbidden, Failing };
std::string_view api_state_name(ApiState state);

// Shared by every watch and GET of one client: the state, the request counts (for
// sluice_kubernetes_api_requests_total{kind,code}) and the misses the caller counts.
class KubeStatus {
 public:
  void count_request(std::string_view kind, int status);  // status 0: no HTTP answer
  // The state of one resource's watch after a request; logs a change of it (once, not per
  // retry). The client's state is the worst of its resources'.
  void set_state(std::string_view resource, ApiState state, std::string_view why);
  [[nodiscard]] ApiState state() const;
  // Not in sync: /health reports the metadata as degraded.
  [[nodiscard]] bool degraded() const { return state() != ApiState::Synced; }
  [[nodiscard]] std::map<std::pair<std::string, std::string>, uint64_t> requests() const;
  [[nodiscard]] uint64_t requests_of(std::string_view kind) const;
  std::atomic<uint64_t> misses{0};
  std::atomic<uint64_t> relists{0};
  std::atomic<uint64_t> events{0};

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, uint64_t> requests_;
  std::map<std::string, ApiState, std::less<>> states_;  // by resource
};

// The state a refused or failed request puts the API in.
ApiState state_for(const net::HttpResult& result);

struct WatchOptions {
  std::string field_selector;  // the whole fieldSelector value, "" for none
  std::string label_selector;
  uint32_t page_size = 10;
  // timeoutSeconds: the server ends the watch then (a final chunk), and it resumes. Whatever
  // the server does about bookmarks, a stream silent for longer than that (plus
  // watch_idle_margin_ns()) has lost its server: the idle timeout of the stream.
  uint32_t watch_timeout_s = 120;
  int64_t backoff_min_ns = 500'000'000;
  int64_t backoff_max_ns = 30'000'000'000;
  size_t max_line_bytes = 16U << 20;
  uint64_t backoff_seed = 0;  // 0: from the clock
};

class ResourceWatch {
 public:
  // `resource` names it in logs and states ("pods", "namespaces").
  ResourceWatch(std::string resource, net::HttpClient& http, TokenSource& token, KubeStatus& status,
                KubeTime time, WatchOptions options, WatchTarget& target);
  ~ResourceWatch();
  ResourceWatch(const ResourceWatch&) = delete;
  ResourceWatch& operator=(const ResourceWatch&) = delete;

  void start();
  // Asks the thread to end (cancels the watch in flight) without waiting; join() waits. A list
  // request in flight ends when the HttpClient stops (or answers).
  void request_stop();
  void join();
  // True once a list has completed (the cache holds the resource).
  [[nodiscard]] bool synced() const { return synced_.load(); }
  [[nodiscard]] std::string resource_version() const;

 private:
  enum class Outcome { Ended, Gone, Failed };
  void run();
  Outcome list();
  Outcome watch();
  bool read_list_page(std::string& body, std::string* continue_token, std::string* resource_version,
                      std::string* error);
  // One watch event line; false to end the stream (an ERROR event).
  bool on_event(std::string_view line, Outcome* outcome);
  Outcome refused(const net::HttpResult& result);
  void set_resource_version(std::string rv);
  [[nodiscard]] bool stopping() const;
  void wait(int64_t ns);
  std::string query(bool watching) const;
  net::HttpResult send_sync(std::string target);

  std::string resource_;
  net::HttpClient& http_;
  TokenSource& token_;
  KubeStatus& status_;
  KubeTime time_;
  WatchOptions options_;
  WatchTarget& target_;
  Backoff backoff_;
  simdjson::ondemand::parser parser_;
  std::string line_;  // the event being parsed, with simdjson's padding
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;                    // under mutex_
  std::shared_ptr<net::HttpStream> stream_;  // under mutex_
  std::string resource_version_;             // under mutex_
  std::atomic<bool> synced_{false};
  uint32_t gone_in_a_row_ = 0;  // 410s with nothing applied between them
  std::thread thread_;
};

// How long past its timeoutSeconds a watch may stay silent before it is taken for dead (a
// half-open connection: the server gone without a FIN): 10% of it, from 2 s to 30 s, for the
// server's final chunk to arrive.
int64_t watch_idle_margin_ns(uint32_t watch_timeout_s);

// `text` percent-encoded for a query value (RFC 3986 unreserved bytes kept).
std::string url_encode(std::string_view text);

}  // namespace sluice::kube
