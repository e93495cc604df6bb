#pragma once
// The Kubernetes API client of the container source: one list + watch of the pods of this node
// (and of the namespaces, only when their labels are wanted) feeding a PodCache, and a GET of a
// single pod for a log file whose pod is not in the cache yet (the caller decides when). Runs on
// the HttpClient's io thread and one thread per watch; lookups (pods(), namespace_labels()) are
// cheap and thread-safe. No request per log file in the steady state.
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "net/http_client.hpp"
#include "sources/container/kube_watch.hpp"
#include "sources/container/pod_cache.hpp"
#include "sources/container/pod_metadata.hpp"
#include "sources/container/pod_watch_target.hpp"

namespace sluice::kube {

struct KubeClientOptions {
  std::string api_url;         // https://host:port, or http:// (tests, kubectl proxy)
  std::string token_file;      // "" for none
  std::string ca_file;         // "" for the system's CAs
  std::string node_name;       // the pods of this node only (fieldSelector spec.nodeName)
  std::string field_selector;  // more field selectors, ANDed with the node's
  std::string label_selector;
  bool namespace_labels = false;  // list + watch namespaces too
  PodExtractOptions extract;
  WatchOptions watch;  // its selectors are set from the above
  int64_t token_reread_ns = 60'000'000'000;
  int64_t request_timeout_ns = 30'000'000'000;
  KubeTime time = real_kube_time();
};

class KubeClient {
 public:
  // nullptr with `error` set for a bad api_url or an unusable CA file.
  static std::unique_ptr<KubeClient> create(KubeClientOptions options, std::string* error);
  ~KubeClient();
  KubeClient(const KubeClient&) = delete;
  KubeClient& operator=(const KubeClient&) = delete;

  void start();
  // Ends the watches and requests in flight; idempotent (also done by the destructor).
  void stop();

  PodCache& pods() { return pods_; }
  // The namespace's labels (namespace_labels on), nullptr when unknown.
  [[nodiscard]] std::shared_ptr<const StringPairs> namespace_labels(std::string_view name) const;
  // One GET of the pod; its answer goes into the cache. `done` runs once on the client's
  // thread with the pod, or nullptr (not found, refused, unreachable).
  void get_pod(std::string_view namespace_name, std::string_view name,
               std::function<void(PodPtr)> done);

  KubeStatus& status() { return status_; }
  [[nodiscard]] const KubeStatus& status() const { return status_; }
  // The first list of pods has completed.
  [[nodiscard]] bool synced() const;
  [[nodiscard]] uint64_t token_reads() const { return token_.reads(); }

 private:
  class NamespaceTarget;
  KubeClient(KubeClientOptions options, std::unique_ptr<net::HttpClient> http);

  KubeClientOptions options_;
  std::unique_ptr<net::HttpClient> http_;
  TokenSource token_;
  KubeStatus status_;
  PodCache pods_;
  mutable std::mutex namespaces_mutex_;
  std::unordered_map<std::string, std::shared_ptr<const StringPairs>> namespaces_;
  std::unique_ptr<PodWatchTarget> pod_target_;
  std::unique_ptr<NamespaceTarget> namespace_target_;
  std::unique_ptr<ResourceWatch> pod_watch_;
  std::unique_ptr<ResourceWatch> namespace_watch_;
  bool stopped_ = false;
};

}  // namespace sluice::kube
