#include "sources/container/pod_cache.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <mutex>

#include "base/json_writer.hpp"
#include "core/durable_file.hpp"

namespace sluice::kube {

namespace {

void put_string(ByteBuffer& out, std::string_view text) { append_json_string(out, text); }

void put_member(ByteBuffer& out, std::string_view key, std::string_view value, bool& first) {
  if (!first) out.push_back(',');
  first = false;
  put_string(out, key);
  out.push_back(':');
  put_string(out, value);
}

bool has_key(const StringPairs& pairs, std::string_view key) {
  return std::any_of(pairs.begin(), pairs.end(),
                     [&](const auto& pair) { return pair.first == key; });
}

// `key: value` added to a map unless the pod kept that key itself (the label or annotation the
// value was derived from): a JSON object must not write a key twice.
void add_derived(StringPairs& pairs, std::string key, std::string value) {
  if (!has_key(pairs, key)) pairs.emplace_back(std::move(key), std::move(value));
}

void put_map(ByteBuffer& out, const StringPairs& pairs) {
  out.push_back('{');
  bool first = true;
  for (const auto& [key, value] : pairs) put_member(out, key, value, first);
  out.push_back('}');
}

std::string_view owner_kind_name(OwnerKind kind) {
  switch (kind) {
    case OwnerKind::ReplicaSet:
      return "ReplicaSet";
    case OwnerKind::StatefulSet:
      return "StatefulSet";
    case OwnerKind::DaemonSet:
      return "DaemonSet";
    case OwnerKind::Job:
      return "Job";
    case OwnerKind::None:
    case OwnerKind::Other:
      break;
  }
  return "Other";
}

// A pod as the API would show it, with only what PodMetadata keeps: read_pod() gives it back.
void encode_pod(ByteBuffer& out, const PodMetadata& pod) {
  out.append(R"({"kind":"Pod","metadata":{)");
  bool first = true;
  put_member(out, "name", pod.name, first);
  put_member(out, "namespace", pod.namespace_name, first);
  put_member(out, "uid", pod.uid, first);
  put_member(out, "resourceVersion", pod.resource_version, first);
  StringPairs labels = pod.labels;
  if (pod.owner_kind == OwnerKind::ReplicaSet && !pod.owner_parent.empty()) {
    // The Deployment is derived from this label: without it the name would not come back.
    add_derived(labels, "pod-template-hash", pod.owner_name.substr(pod.owner_parent.size() + 1));
  }
  out.append(R"(,"labels":)");
  put_map(out, labels);
  StringPairs annotations = pod.annotations;
  const PodHints& h = pod.hints;
  // The hints, unless their annotations are kept as such (a `sluice.io/*` glob): those say the
  // same, both being read from the last value of each key.
  if (h.exclude) add_derived(annotations, "sluice.io/exclude", "true");
  if (!h.parser.empty()) add_derived(annotations, "sluice.io/parser", h.parser);
  if (!h.multiline.empty()) add_derived(annotations, "sluice.io/multiline", h.multiline);
  for (const auto& [container, parser] : h.container_parsers) {
    add_derived(annotations, "sluice.io/parser-" + container, parser);
  }
  out.append(R"(,"annotations":)");
  put_map(out, annotations);
  if (pod.owner_kind != OwnerKind::None) {
    out.append(R"(,"ownerReferences":[{"kind":)");
    put_string(out, owner_kind_name(pod.owner_kind));
    out.append(R"(,"name":)");
    put_string(out, pod.owner_name);
    out.append(R"(,"controller":true}])");
  }
  out.append(R"(},"spec":{"nodeName":)");
  put_string(out, pod.node);
  out.append(R"(,"containers":[)");
  for (size_t i = 0; i < pod.images.size(); ++i) {
    if (i > 0) out.push_back(',');
    out.append(R"({"name":)");
    put_string(out, pod.images[i].first);
    out.append(R"(,"image":)");
    put_string(out, pod.images[i].second);
    out.push_back('}');
  }
  out.append(R"(]},"status":{"podIP":)");
  put_string(out, pod.ip);
  out.append("}}");
}

}  // namespace

std::string encode_pods(const std::vector<PodPtr>& pods) {
  ByteBuffer out;
  out.append(R"({"kind":"PodList","items":[)");
  for (size_t i = 0; i < pods.size(); ++i) {
    out.append(i == 0 ? "\n" : ",\n");
    encode_pod(out, *pods[i]);
  }
  out.append("]}\n");
  return std::string(out.view());
}

std::string PodCache::name_key(std::string_view namespace_name, std::string_view name) {
  std::string key;
  key.reserve(namespace_name.size() + 1 + name.size());
  key.append(namespace_name).append("/").append(name);
  return key;
}

std::string PodCache::name_key(const PodMetadata& pod) {
  return name_key(pod.namespace_name, pod.name);
}

PodPtr PodCache::find_uid(std::string_view uid) const {
  std::shared_lock lock(mutex_);
  auto it = by_uid_.find(std::string(uid));
  return it == by_uid_.end() ? nullptr : it->second.pod;
}

PodPtr PodCache::find(std::string_view namespace_name, std::string_view name) const {
  std::shared_lock lock(mutex_);
  auto named = by_name_.find(name_key(namespace_name, name));
  if (named == by_name_.end()) return nullptr;
  auto it = by_uid_.find(named->second.uid);
  return it == by_uid_.end() ? nullptr : it->second.pod;
}

size_t PodCache::size() const {
  std::shared_lock lock(mutex_);
  return by_uid_.size();
}

size_t PodCache::deleted_size() const {
  std::shared_lock lock(mutex_);
  size_t n = 0;
  for (const auto& [uid, entry] : by_uid_) n += entry.pod->deleted ? 1 : 0;
  return n;
}

size_t PodCache::memory_bytes() const {
  std::shared_lock lock(mutex_);
  // A hash node: the key string, the value, the next pointer and the hash, plus its bucket.
  constexpr size_t kNodeOverhead = 2 * sizeof(void*) + sizeof(size_t) + 16;
  size_t n = 0;
  for (const auto& [uid, entry] : by_uid_) {
    n += entry.pod->memory_bytes() + kNodeOverhead + sizeof(Entry) + sizeof(std::string) +
         uid.capacity() + 32;  // + the shared_ptr control block
  }
  for (const auto& [key, named] : by_name_) {
    n +=
        kNodeOverhead + sizeof(std::string) + sizeof(Named) + key.capacity() + named.uid.capacity();
  }
  return n;
}

void PodCache::upsert(PodPtr pod) {
  std::unique_lock lock(mutex_);
  std::string key = name_key(*pod);
  const std::string uid = pod->uid;
  Entry& entry = by_uid_[uid];
  const bool live = !pod->deleted;
  ++generation_;
  if (!live) ++deleted_changes_;
  const std::string old_key = entry.pod ? name_key(*entry.pod) : std::string();
  entry.pod = std::move(pod);
  if (!old_key.empty() && old_key != key) {
    // Renamed (the API never renames a pod, a broken server may): the old name must not find it.
    unname_locked(old_key, uid);
  }
  if (old_key != key) {
    name_locked(key, uid, live);
  } else if (live) {
    by_name_[key].uid = uid;  // a live pod takes the name over from a deleted one
  }
}

void PodCache::name_locked(const std::string& key, const std::string& uid, bool live) {
  // A live pod takes the name over from a deleted one of the same name (a StatefulSet's web-0
  // recreated); a deleted one only takes a name nobody has.
  Named& named = by_name_[key];
  if (named.pods++ == 0 || live) named.uid = uid;
}

void PodCache::unname_locked(const std::string& key, const std::string& uid) {
  auto named = by_name_.find(key);
  if (named == by_name_.end()) return;
  if (--named->second.pods == 0) {
    by_name_.erase(named);
    return;
  }
  if (named->second.uid != uid) return;
  // Another pod has the name (rare: a recreated pod's predecessor kept while its files are read):
  // it is found by a scan, preferring a live one.
  const PodMetadata* heir = nullptr;
  for (const auto& [other_uid, entry] : by_uid_) {
    if (other_uid == uid || name_key(*entry.pod) != key) continue;
    if (heir == nullptr || (heir->deleted && !entry.pod->deleted)) heir = entry.pod.get();
  }
  named->second.uid = heir == nullptr ? std::string() : heir->uid;
}

void PodCache::remove(std::string_view uid) {
  std::unique_lock lock(mutex_);
  remove_locked(std::string(uid));
}

void PodCache::remove_all_but(const std::unordered_set<std::string>& listed) {
  std::unique_lock lock(mutex_);
  std::vector<std::string> gone;
  for (const auto& [uid, entry] : by_uid_) {
    if (!entry.pod->deleted && !listed.contains(uid)) gone.push_back(uid);
  }
  for (const std::string& uid : gone) remove_locked(uid);
}

void PodCache::remove_locked(const std::string& uid) {
  auto it = by_uid_.find(uid);
  if (it == by_uid_.end()) return;
  if (it->second.pins == 0) {
    erase_locked(it);
    return;
  }
  if (it->second.pod->deleted) return;
  ++generation_;
  auto kept = std::make_shared<PodMetadata>(*it->second.pod);
  kept->deleted = true;
  it->second.pod = std::move(kept);
  ++deleted_changes_;
}

void PodCache::erase_locked(std::unordered_map<std::string, Entry>::iterator it) {
  const PodMetadata& pod = *it->second.pod;
  if (pod.deleted) ++deleted_changes_;
  ++generation_;
  unname_locked(name_key(pod), it->first);
  by_uid_.erase(it);
}

PodPtr PodCache::pin(std::string_view uid) {
  std::unique_lock lock(mutex_);
  auto it = by_uid_.find(std::string(uid));
  if (it == by_uid_.end()) return nullptr;
  ++it->second.pins;
  return it->second.pod;
}

void PodCache::unpin(std::string_view uid) {
  std::unique_lock lock(mutex_);
  auto it = by_uid_.find(std::string(uid));
  if (it == by_uid_.end() || it->second.pins == 0) return;
  if (--it->second.pins == 0 && it->second.pod->deleted) erase_locked(it);
}

void PodCache::release_unpinned_deleted(const std::unordered_set<std::string>& keep) {
  std::unique_lock lock(mutex_);
  for (auto it = by_uid_.begin(); it != by_uid_.end();) {
    auto next = std::next(it);
    if (it->second.pins == 0 && it->second.pod->deleted && !keep.contains(it->first)) {
      erase_locked(it);
    }
    it = next;
  }
}

bool PodCache::save_deleted(const std::string& dir, const std::string& path,
                            std::string* error) const {
  std::vector<PodPtr> deleted;
  {
    std::shared_lock lock(mutex_);
    for (const auto& [uid, entry] : by_uid_) {
      if (entry.pod->deleted) deleted.push_back(entry.pod);
    }
  }
  if (!make_dirs(dir, error)) return false;
  return replace_file(dir, path, encode_pods(deleted), error);
}

bool decode_pods(std::string_view json, const PodExtractOptions& options,
                 std::vector<std::shared_ptr<PodMetadata>>* pods, std::string* error) {
  simdjson::ondemand::parser parser;
  const simdjson::padded_string padded(json);
  simdjson::ondemand::document doc;
  simdjson::ondemand::object root;
  simdjson::ondemand::array items;
  if (parser.iterate(padded).get(doc) || doc.get_object().get(root) ||
      root.find_field("items").get_array().get(items)) {
    *error = "not a list of pods";
    return false;
  }
  for (auto element : items) {
    simdjson::ondemand::object object;
    auto pod = std::make_shared<PodMetadata>();
    ObjectHead head;
    std::string pod_error;
    if (element.get_object().get(object) ||
        !read_pod(object, options, pod.get(), &head, &pod_error) || pod->uid.empty()) {
      *error = pod_error.empty() ? std::string("a pod without uid") : std::move(pod_error);
      return false;
    }
    pods->push_back(std::move(pod));
  }
  return true;
}

bool PodCache::load_deleted(const std::string& path, const PodExtractOptions& options,
                            std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return true;  // nothing was kept
    *error = path + ": " + std::strerror(errno);
    return false;
  }
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::shared_ptr<PodMetadata>> pods;
  std::string decode_error;
  const bool ok = decode_pods(text, options, &pods, &decode_error);
  // The pods read before a broken one are kept all the same, as they were before: each is whole.
  for (auto& pod : pods) {
    pod->deleted = true;
    upsert(std::move(pod));
  }
  if (!ok) *error = path + ": " + decode_error;
  return ok;
}

}  // namespace sluice::kube
