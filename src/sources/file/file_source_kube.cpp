// The container source's Kubernetes metadata: the API client started with the source, the pod
// of each file looked up when it is opened (its fields put in the file's Origin once, so they
// cost nothing per event), a file whose pod is not known yet waiting briefly for the watch and
// then one GET, and the kept deleted pods saved next to the checkpoints.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <unordered_set>

#include "base/clock.hpp"
#include "base/log.hpp"
#include "core/durable_file.hpp"
#include "core/origin_maps.hpp"
#include "sources/container/kube_client.hpp"
#include "sources/container/kube_options.hpp"
#include "sources/container/kubernetes_path.hpp"
#include "sources/container/pod_hints.hpp"
#include "sources/file/file_source.hpp"

namespace sluice {

namespace {

// Until the first list of the node's pods is in, files wait for it (no GET) at most this long.
constexpr int64_t kFirstListWaitNs = 10'000'000'000;
// Pods whose unknown hint value was logged are remembered up to this many, then forgotten (the
// line may then come once more).
constexpr size_t kLoggedHintsMax = 10'000;

// Releases a file's pin on its pod when the file's tailer goes (the source's tailers go before
// its client: ~FileSource clears them first). It is the only thing a tailer holds (hold()), and
// remembers the metadata the file's Origin was made from, so that a change is noticed.
struct PodPin {
  PodPin(kube::PodCache& pinned_in, kube::PodPtr pod)
      : cache(pinned_in), uid(pod->uid), used(std::move(pod)) {}
  ~PodPin() { cache.unpin(uid); }
  PodPin(const PodPin&) = delete;
  PodPin& operator=(const PodPin&) = delete;
  kube::PodCache& cache;
  std::string uid;
  kube::PodPtr used;
};

// The path's fields with the pod's added (a key the path already gives is not repeated), then
// ordered so that every dotted prefix is one run (`kubernetes.pod.name`, `kubernetes.pod.ip`
// together), keeping the order in which prefixes first appear: the encoders write each prefix
// as one object.
void merge_pod_fields(std::vector<std::pair<std::string, std::string>>& fields,
                      const kube::StringPairs& pod_fields) {
  std::set<std::string> present;
  for (const auto& [key, value] : fields) present.insert(key);
  for (const auto& field : pod_fields) {
    if (!present.contains(field.first)) fields.push_back(field);
  }
  std::map<std::string, size_t, std::less<>> first_at;
  for (size_t i = 0; i < fields.size(); ++i) {
    const std::string& key = fields[i].first;
    for (size_t dot = key.find('.');; dot = key.find('.', dot + 1)) {
      first_at.emplace(key.substr(0, dot), i);
      if (dot == std::string::npos) break;
    }
  }
  std::vector<std::vector<size_t>> ranks(fields.size());
  for (size_t i = 0; i < fields.size(); ++i) {
    const std::string& key = fields[i].first;
    for (size_t dot = key.find('.');; dot = key.find('.', dot + 1)) {
      ranks[i].push_back(first_at.find(std::string_view(key).substr(0, dot))->second);
      if (dot == std::string::npos) break;
    }
  }
  std::vector<size_t> order(fields.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return ranks[a] < ranks[b]; });
  std::vector<std::pair<std::string, std::string>> sorted;
  sorted.reserve(fields.size());
  for (size_t i : order) sorted.push_back(std::move(fields[i]));
  fields = std::move(sorted);
}

}  // namespace

bool FileSource::start_kubernetes(std::string* error) {
  if (!options_.tail.container || !options_.kube || !options_.kube->active) return true;
  const kube::KubeOptions& k = *options_.kube;
  kube::KubeClientOptions client_options;
  client_options.api_url = k.api_url;
  client_options.token_file = k.token_file;
  client_options.ca_file = k.ca_file;
  client_options.node_name = k.node_name;
  client_options.field_selector = k.field_selector;
  client_options.label_selector = k.label_selector;
  client_options.namespace_labels = k.namespace_labels;
  client_options.extract = k.extract_options();
  client_options.watch.watch_timeout_s = static_cast<uint32_t>(k.watch_timeout_ns / 1'000'000'000);
  client_options.watch.backoff_min_ns = k.retry_backoff_min_ns;
  client_options.watch.backoff_max_ns = k.retry_backoff_max_ns;
  auto client = kube::KubeClient::create(std::move(client_options), error);
  if (!client) return false;
  kube_ = std::move(client);
  if (options_.checkpoints) {
    // Beside the checkpoints (checkpoint_store.cpp): state of the same source, kept as long.
    kept_pods_dir_ =
        options_.data_dir + (options_.data_dir == "/" ? "checkpoints" : "/checkpoints");
    kept_pods_path_ =
        kept_pods_dir_ + "/" + component_file_name(options_.name) + ".kubernetes_pods.json";
    std::string load_error;
    if (!kube_->pods().load_deleted(kept_pods_path_, k.extract_options(), &load_error)) {
      log::warn("kept pod metadata unreadable; deleted pods' files get path metadata only",
                "source", options_.name, "error", load_error);
    }
    kept_pods_saved_ = kube_->pods().deleted_changes();
  }
  kube_->start();
  return true;
}

void FileSource::add_pod_to_origin(Origin& origin, const kube::PodMetadata& pod,
                                   std::string_view container) const {
  kube::StringPairs fields;
  kube::append_pod_fields(pod, container, fields);
  merge_pod_fields(origin.fields, fields);
  // Keys with dots and slashes (`app.kubernetes.io/name`) stay whole in maps.
  add_origin_map(origin, "kubernetes.labels", pod.labels);
  add_origin_map(origin, "kubernetes.annotations", pod.annotations);
  if (options_.kube->namespace_labels && kube_) {
    if (auto labels = kube_->namespace_labels(pod.namespace_name)) {
      add_origin_map(origin, "kubernetes.namespace_labels", *labels);
    }
  }
}

void FileSource::refresh_pod_origins() {
  kube::PodCache* const pods = pod_cache();
  if (pods == nullptr) return;
  const uint64_t generation = pods->generation();
  if (generation == pods_generation_seen_) return;
  pods_generation_seen_ = generation;
  std::set<std::string> still_excluded;
  for (auto& [key, tailer] : tailers_) {
    auto* pin = static_cast<PodPin*>(tailer->held().get());
    if (pin == nullptr) continue;
    kube::PodPtr now = pods->find_uid(pin->uid);
    if (now && now != pin->used) {
      // Labels, annotations or hints changed (or the pod was deleted): the file's next batches
      // carry the new metadata and parser, its next read is dropped or not and joined the new
      // way (the record being joined handed on first); batches already handed on keep theirs.
      const auto meta = kubernetes_from_path(tailer->path());
      const std::string_view container = meta ? std::string_view(meta->container_name) : "";
      auto origin = std::make_shared<Origin>();
      origin->file_path = tailer->origin()->file_path;
      origin->file_id = tailer->origin()->file_id;
      if (meta) origin->fields = kubernetes_fields(*meta);
      kube::FileHints hints;
      if (options_.kube->hints) hints = apply_hints(*now, container, *origin);
      const bool excluded = hints.exclude;
      tailer->set_multiline(hints.multiline ? hinted_multiline(*hints.multiline)
                                            : options_.tail.framer.multiline);
      add_pod_to_origin(*origin, *now, container);
      tailer->set_origin(std::move(origin));
      if (excluded != tailer->excluded()) {
        tailer->set_excluded(excluded ? &excluded_events_ : nullptr);
        note_exclusion(*now, excluded);
      }
      pin->used = std::move(now);
    }
    if (tailer->excluded()) still_excluded.insert(pin->uid);
  }
  // Pods none of whose files is open any more: a file of theirs opened later logs again.
  std::erase_if(excluded_pods_,
                [&](const std::string& uid) { return !still_excluded.contains(uid); });
}

void FileSource::note_exclusion(const kube::PodMetadata& pod, bool excluded) {
  if (excluded) {
    if (excluded_pods_.insert(pod.uid).second) {
      log::info("pod's logs excluded: read, counted and dropped", "source", options_.name,
                "namespace", pod.namespace_name, "pod", pod.name, "hint",
                "sluice.io/exclude: \"true\"");
    }
  } else if (excluded_pods_.erase(pod.uid) > 0) {
    log::info("pod's logs no longer excluded; its files go on from where they are read", "source",
              options_.name, "namespace", pod.namespace_name, "pod", pod.name);
  }
}

std::optional<KubernetesStatus> FileSource::kubernetes_status() const {
  // kube_ is set by start(), before the metrics server asks, and stays until destruction.
  if (!kube_) return std::nullopt;
  const kube::KubeStatus& status = kube_->status();
  KubernetesStatus out;
  out.state = kube::api_state_name(status.state());
  out.degraded = status.degraded();
  out.pods_cached = kube_->pods().size();
  out.cache_bytes = kube_->pods().memory_bytes();
  out.misses = status.misses.load(std::memory_order_relaxed);
  out.relists = status.relists.load(std::memory_order_relaxed);
  out.excluded_events = excluded_events_.load(std::memory_order_relaxed);
  for (const auto& [key, count] : status.requests()) {
    out.requests.emplace_back(key.first, key.second, count);
  }
  return out;
}

void FileSource::forget_skipped(const std::vector<std::string>& matched) {
  if (skipped_.empty()) return;
  const std::set<std::string> present(matched.begin(), matched.end());
  std::erase_if(skipped_, [&](const std::string& path) { return !present.contains(path); });
}

void FileSource::stop_kubernetes() {
  if (kube_) kube_->stop();
}

void FileSource::use_pods(std::shared_ptr<kube::PodCache> pods, PodRequest request) {
  given_pods_ = std::move(pods);
  request_pod_ = std::move(request);
}

kube::PodCache* FileSource::pod_cache() const { return kube_ ? &kube_->pods() : given_pods_.get(); }

int64_t FileSource::pod_now() const { return pod_clock_ ? pod_clock_() : monotonic_ns(); }

void FileSource::count_miss() {
  pod_misses_.fetch_add(1, std::memory_order_relaxed);
  if (kube_) kube_->status().misses.fetch_add(1, std::memory_order_relaxed);
}

FileSource::PodCounters FileSource::pod_counters() const {
  return PodCounters{excluded_events_.load(), pod_misses_.load(), pod_gets_.load()};
}

std::vector<std::pair<std::string, uint64_t>> FileSource::dropped_events() const {
  const uint64_t excluded = excluded_events_.load(std::memory_order_relaxed);
  if (excluded == 0) return {};
  return {{"excluded", excluded}};
}

std::shared_ptr<const EventParser> FileSource::hinted_parser(ParserKind kind) {
  std::shared_ptr<const EventParser>& parser = hinted_parsers_[kind];
  if (!parser) {
    // The source's settings (target, timestamp_field, timezone, keep_raw), another format.
    ParserOptions options = options_.parser;
    options.kind = kind;
    options.pattern.clear();
    std::string error;  // fails only for a regex without pattern, or target `@timestamp`
    parser = EventParser::create(std::move(options), &error);
  }
  return parser;
}

std::shared_ptr<const MultilineOptions> FileSource::hinted_multiline(MultilineOptions::Mode mode) {
  std::shared_ptr<const MultilineOptions>& options = hinted_multiline_[mode];
  if (!options) {
    // The source's limits (flush_after, max_lines, max_bytes) when it has them; the preset's
    // way of telling records apart.
    auto made = options_.tail.framer.multiline
                    ? std::make_shared<MultilineOptions>(*options_.tail.framer.multiline)
                    : std::make_shared<MultilineOptions>();
    made->mode = mode;
    made->start_pattern.clear();
    made->continue_pattern.clear();
    options = std::move(made);
  }
  return options;
}

kube::FileHints FileSource::apply_hints(const kube::PodMetadata& pod, std::string_view container,
                                        Origin& origin) {
  kube::FileHints hints = kube::file_hints(pod.hints, container);
  if (!hints.unknown.empty()) {
    if (logged_hints_.size() >= kLoggedHintsMax) logged_hints_.clear();
    if (logged_hints_.insert(pod.uid).second) {
      log::warn("unknown hint value; the source's own setting is used", "source", options_.name,
                "namespace", pod.namespace_name, "pod", pod.name, "hint", hints.unknown);
    }
  }
  // Files without a hint keep the source's parser and options: nothing changes for them.
  if (hints.parser && *hints.parser != options_.parser.kind) {
    origin.parser = hinted_parser(*hints.parser);
  }
  return hints;
}

FileSource::Start FileSource::pod_metadata(const std::string& path,
                                           std::optional<FirstSeen>& first_seen, Origin& origin,
                                           PodFile& file) {
  if (!options_.kube) return Start::Tailing;
  const kube::KubeOptions& k = *options_.kube;
  const auto meta = kubernetes_from_path(path);
  if (!meta || meta->pod_name.empty()) return Start::Tailing;
  const auto skip = [&](std::string_view why) {
    if (skipped_.insert(path).second) {
      log::info("container log not read", "source", options_.name, "path", path, "why", why);
    }
    pod_waits_.erase(path);
    return Start::Skipped;
  };
  if (!k.namespaces.admits(meta->namespace_name)) {
    return skip("its namespace is not selected (kubernetes.namespaces)");
  }
  if (k.exclude_self && k.self.is(meta->namespace_name, meta->pod_name)) {
    return skip("sluice's own pod (kubernetes.exclude_self)");
  }
  kube::PodCache* const pods = pod_cache();
  if (pods == nullptr) return Start::Tailing;

  auto wait = pod_waits_.find(path);
  if (wait != pod_waits_.end()) first_seen = wait->second.first_seen;
  kube::PodPtr pod = meta->pod_uid.empty() ? nullptr : pods->find_uid(meta->pod_uid);
  if (!pod) {
    pod = pods->find(meta->namespace_name, meta->pod_name);
    // The same name, another pod (a StatefulSet's pod recreated): not this file's.
    if (pod && !meta->pod_uid.empty() && pod->uid != meta->pod_uid) pod = nullptr;
  }
  if (pod) {
    if (wait != pod_waits_.end()) pod_waits_.erase(wait);
    if (k.hints) {
      const kube::FileHints hints = apply_hints(*pod, meta->container_name, origin);
      if (hints.multiline) file.multiline = hinted_multiline(*hints.multiline);
      // Read all the same, to be counted, and to go on from there should the hint go.
      file.excluded = hints.exclude;
      if (hints.exclude) note_exclusion(*pod, true);
    }
    add_pod_to_origin(origin, *pod, meta->container_name);
    if (pods->pin(pod->uid)) file.pin = std::make_shared<PodPin>(*pods, pod);
    skipped_.erase(path);
    return Start::Tailing;
  }

  const int64_t now = pod_now();
  const kube::ApiState state = kube_ ? kube_->status().state() : kube::ApiState::Synced;
  const bool refused = state == kube::ApiState::Unreachable ||
                       state == kube::ApiState::Unauthorized || state == kube::ApiState::Forbidden;
  if (wait == pod_waits_.end()) {
    // The API is known to be down or refusing: waiting would only delay the file.
    // Reading each file once (`stop_at_eof`) has no later round to come back to a waiting file.
    if (refused || options_.stop_at_eof) {
      count_miss();
      return Start::Tailing;
    }
    PodWait& w = pod_waits_[path];
    w.first_seen = first_seen;
    w.since_ns = now;
    w.get_at_ns = now + kPodWaitNs;
    w.answered = std::make_shared<std::atomic<bool>>(false);
    return Start::PodWait;
  }
  PodWait& w = wait->second;
  // A cache given by use_pods() counts as listed.
  const bool synced = kube_ == nullptr || kube_->synced();
  const auto get_wanted = [&] {
    if (w.get_sent || now < w.get_at_ns || refused) return false;
    // Before the first list is in, every file of the node would GET its pod (the storm the
    // watch is there to avoid): the list brings them all, so files wait for it instead.
    return synced;
  };
  if (get_wanted()) {
    w.get_sent = true;
    w.give_up_ns = now + kPodGetWaitNs;
    pod_gets_.fetch_add(1, std::memory_order_relaxed);
    if (kube_) {
      kube_->get_pod(meta->namespace_name, meta->pod_name,
                     [answered = w.answered, fd = wake_fd_](const kube::PodPtr&) {
                       answered->store(true);
                       const uint64_t one = 1;
                       (void)!::write(fd, &one, sizeof one);
                     });
    } else if (request_pod_) {
      request_pod_(meta->namespace_name, meta->pod_name);
    }
    return Start::PodWait;
  }
  if (w.get_sent && !w.answered->load() && now < w.give_up_ns) return Start::PodWait;
  if (!w.get_sent && now < w.get_at_ns) return Start::PodWait;
  if (!w.get_sent && !refused && !synced && now < w.since_ns + kFirstListWaitNs) {
    return Start::PodWait;
  }
  // The GET found nothing (or did not answer in time), or the first list did not come: the
  // path's metadata only, counted.
  pod_waits_.erase(wait);
  count_miss();
  log::debug("no pod metadata for file", "source", options_.name, "path", path);
  return Start::Tailing;
}

void FileSource::retry_pod_waits() {
  // Without a free descriptor the files wait for one first (waiting_), as any other.
  if (pod_waits_.empty() || free_slots() == 0) return;
  std::vector<std::pair<std::string, std::optional<FirstSeen>>> waiting;
  for (const auto& [path, wait] : pod_waits_) waiting.emplace_back(path, wait.first_seen);
  for (const auto& [path, first_seen] : waiting) {
    if (start_tailing(path, first_seen) == Start::Failed) pod_waits_.erase(path);
  }
}

void FileSource::release_kept_pods() {
  kube::PodCache* const pods = pod_cache();
  if (!releasing_kept_pods_ || pods == nullptr) return;
  const size_t waiting = waiting_.size() + pod_waits_.size();
  if (waiting == kept_pods_waiting_seen_) return;  // no file opened or went since
  kept_pods_waiting_seen_ = waiting;
  std::unordered_set<std::string> keep;
  const auto keep_pod_of = [&](const std::string& path) {
    const auto meta = kubernetes_from_path(path);
    if (!meta || meta->pod_name.empty()) return;
    if (!meta->pod_uid.empty()) {
      keep.insert(meta->pod_uid);
    } else if (kube::PodPtr pod = pods->find(meta->namespace_name, meta->pod_name)) {
      keep.insert(pod->uid);  // the pod pod_metadata() will find for it
    }
  };
  for (const auto& [path, first_seen] : waiting_) keep_pod_of(path);
  for (const auto& [path, wait] : pod_waits_) keep_pod_of(path);
  pods->release_unpinned_deleted(keep);
  // Every file still known has pinned its pod: deleted pods go with their last pin from now on.
  if (waiting == 0) releasing_kept_pods_ = false;
}

void FileSource::save_kept_pods(bool force) {
  if (!kube_ || kept_pods_path_.empty()) return;
  const uint64_t changes = kube_->pods().deleted_changes();
  if (changes == kept_pods_saved_ && !force) return;
  std::string error;
  if (kube_->pods().save_deleted(kept_pods_dir_, kept_pods_path_, &error)) {
    kept_pods_saved_ = changes;
    return;
  }
  static log::RateLimit limit;
  uint64_t suppressed = 0;
  if (limit.allow(&suppressed)) {
    log::warn("cannot save the kept pod metadata; will retry", "source", options_.name, "error",
              error, "suppressed", suppressed);
  }
}

}  // namespace sluice
