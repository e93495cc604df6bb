#include "sources/container/kube_client.hpp"

#include <utility>

#include <fmt/format.h>

#include "base/log.hpp"

namespace sluice::kube {

// Namespaces: their labels only.
class KubeClient::NamespaceTarget final : public WatchTarget {
 public:
  explicit NamespaceTarget(KubeClient& client) : client_(client) {}

  [[nodiscard]] std::string path() const override { return "/api/v1/namespaces"; }
  bool read(simdjson::ondemand::object object, ObjectHead* head, std::string* error) override {
    name_.clear();
    labels_ = std::make_shared<StringPairs>();
    return read_namespace(object, &name_, labels_.get(), head, error);
  }
  void list_begin() override { listed_.clear(); }
  void add_listed() override {
    if (!name_.empty()) listed_.emplace(name_, labels_);
  }
  void list_complete() override {
    std::lock_guard lock(client_.namespaces_mutex_);
    client_.namespaces_.clear();
    for (auto& [name, labels] : listed_) client_.namespaces_.emplace(name, std::move(labels));
    listed_.clear();
  }
  void apply(std::string_view type) override {
    if (name_.empty()) return;
    std::lock_guard lock(client_.namespaces_mutex_);
    if (type == "DELETED") {
      client_.namespaces_.erase(name_);
    } else {
      client_.namespaces_[name_] = labels_;
    }
  }

 private:
  KubeClient& client_;
  std::string name_;
  std::shared_ptr<StringPairs> labels_;
  std::unordered_map<std::string, std::shared_ptr<const StringPairs>> listed_;
};

std::unique_ptr<KubeClient> KubeClient::create(KubeClientOptions options, std::string* error) {
  net::Endpoint endpoint;
  const net::EndpointDefaults defaults{
      .http_port = "80", .https_port = "443", .credentials_hint = "use `token_file` instead"};
  if (!net::parse_endpoint(options.api_url, defaults, &endpoint, error)) {
    *error = "kubernetes api_url: " + *error;
    return nullptr;
  }
  net::HttpClientOptions http;
  http.endpoints = {endpoint};
  http.tls.ca_file = options.ca_file;
  http.timeout_ns = options.request_timeout_ns;
  http.max_idle_connections = 2;
  http.headers = {{"User-Agent", "sluice"}};
  http.name = "kubernetes";
  http.thread_name = "sluice-kube";
  // A page of pods with their large annotations can be big; a GET of one pod is small.
  http.max_response_body_bytes = 256ULL << 20;
  auto client = net::HttpClient::create(std::move(http), error);
  if (!client) return nullptr;
  return std::unique_ptr<KubeClient>(new KubeClient(std::move(options), std::move(client)));
}

KubeClient::KubeClient(KubeClientOptions options, std::unique_ptr<net::HttpClient> http)
    : options_(std::move(options)),
      http_(std::move(http)),
      token_(options_.token_file, options_.time, options_.token_reread_ns) {
  WatchOptions pods = options_.watch;
  pods.field_selector =
      options_.node_name.empty() ? std::string() : "spec.nodeName=" + options_.node_name;
  if (!options_.field_selector.empty()) {
    pods.field_selector += (pods.field_selector.empty() ? "" : ",") + options_.field_selector;
  }
  pods.label_selector = options_.label_selector;
  pod_target_ = std::make_unique<PodWatchTarget>(pods_, options_.extract);
  pod_watch_ = std::make_unique<ResourceWatch>("pods", *http_, token_, status_, options_.time,
                                               std::move(pods), *pod_target_);
  if (options_.namespace_labels) {
    WatchOptions namespaces = options_.watch;
    namespaces.field_selector.clear();
    namespaces.label_selector.clear();
    namespace_target_ = std::make_unique<NamespaceTarget>(*this);
    namespace_watch_ =
        std::make_unique<ResourceWatch>("namespaces", *http_, token_, status_, options_.time,
                                        std::move(namespaces), *namespace_target_);
  }
}

KubeClient::~KubeClient() { stop(); }

void KubeClient::start() {
  pod_watch_->start();
  if (namespace_watch_) namespace_watch_->start();
}

void KubeClient::stop() {
  if (stopped_) return;
  stopped_ = true;
  pod_watch_->request_stop();
  if (namespace_watch_) namespace_watch_->request_stop();
  // Ends a list request in flight, which the watch threads may be waiting for.
  http_->stop();
  pod_watch_->join();
  if (namespace_watch_) namespace_watch_->join();
}

bool KubeClient::synced() const { return pod_watch_->synced(); }

std::shared_ptr<const StringPairs> KubeClient::namespace_labels(std::string_view name) const {
  std::lock_guard lock(namespaces_mutex_);
  auto it = namespaces_.find(std::string(name));
  return it == namespaces_.end() ? nullptr : it->second;
}

void KubeClient::get_pod(std::string_view namespace_name, std::string_view name,
                         std::function<void(PodPtr)> done) {
  net::HttpRequest request;
  request.method = "GET";
  request.target =
      fmt::format("/api/v1/namespaces/{}/pods/{}", url_encode(namespace_name), url_encode(name));
  const std::string authorization = token_.authorization();
  if (!authorization.empty()) request.headers = {{"Authorization", authorization}};
  request.headers.emplace_back("Accept", "application/json");
  http_->send(std::move(request), [this, done = std::move(done)](const net::HttpResult& result) {
    if (result.cancelled) {
      done(nullptr);
      return;
    }
    status_.count_request("get", result.responded ? result.status : 0);
    if (result.responded && result.status == 401) token_.invalidate();
    if (!result.responded || result.status != 200) {
      done(nullptr);
      return;
    }
    auto pod = std::make_shared<PodMetadata>();
    std::string error;
    if (!parse_pod_json(result.body, options_.extract, pod.get(), &error)) {
      log::warn("kubernetes API: unreadable pod", "error", error);
      done(nullptr);
      return;
    }
    pods_.upsert(pod);
    done(std::move(pod));
  });
}

}  // namespace sluice::kube
