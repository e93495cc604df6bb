// Fuzzes the reading of the Kubernetes API's pod JSON, which comes from outside sluice (a buggy or
// compromised API server) or from disk (a corrupted kept-pods file): read_pod() through
// parse_pod_json() (a GET's answer) and decode_pods() (PodCache::load_deleted's reader), and
// encode_pods() (what save_deleted writes).
//
// Input: byte 0 chooses the PodExtractOptions (bit 0: labels, bit 1: hints, bits 2-3: the
// annotation globs of kGlobSets) and, by bit 4, whether the rest is one Pod (parse_pod_json) or a
// kept-pods list ({"items":[...]}, decode_pods). The rest is the JSON.
//
// Invariants of every pod read:
//   - labels and annotations are sorted by key and no key appears twice; labels only when asked;
//   - only annotations whose key matches a glob are kept (checked against an independent matcher,
//     for the fixed glob sets), and hints only when asked; with the sluice.io/* annotations kept
//     too, the hints say what those annotations say;
//   - the workload: a Deployment or CronJob name is the owner's name minus a `-<suffix>` (the
//     pod-template-hash, or 8+ digits), and only for a ReplicaSet or Job owner;
//   - every image has a container name; append_pod_fields() gives no empty value;
//   - round trip: encode_pods() of the pods is JSON with no key written twice, decode_pods() of it
//     gives the same metadata, and encoding that again gives the same text.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_common.hpp"
#include "sources/container/pod_cache.hpp"
#include "sources/container/pod_metadata.hpp"

namespace sluice::kube {
namespace {

// A glob set and the matcher it means, written without fnmatch: a trailing `*` is a prefix
// match, anything else an exact one (none of these globs has another metacharacter).
struct GlobSet {
  std::vector<std::string> globs;
};

const GlobSet kGlobSets[4] = {
    {{}},
    {{"prometheus.io/*"}},
    {{"*"}},
    {{"sluice.io/*", "app.kubernetes.io/name", "fluentbit.io/*"}},
};

bool reference_match(const std::vector<std::string>& globs, std::string_view key) {
  if (key.find('\0') != std::string_view::npos) return false;  // see glob_match()
  for (const std::string& glob : globs) {
    if (glob.ends_with('*')) {
      if (key.starts_with(std::string_view(glob).substr(0, glob.size() - 1))) return true;
    } else if (key == glob) {
      return true;
    }
  }
  return false;
}

// The glob set keeps the sluice.io/* annotations the hints are read from.
bool keeps_hint_annotations(const PodExtractOptions& options) {
  return reference_match(options.annotation_globs, "sluice.io/parser") &&
         reference_match(options.annotation_globs, "sluice.io/exclude");
}

void check_sorted_unique(const StringPairs& pairs) {
  for (size_t i = 1; i < pairs.size(); ++i) FUZZ_CHECK(pairs[i - 1].first < pairs[i].first);
}

const std::string* find_value(const StringPairs& pairs, std::string_view key) {
  for (const auto& [k, v] : pairs) {
    if (k == key) return &v;
  }
  return nullptr;
}

// `parent` is `owner` minus a `-<suffix>` that `suffix_ok` accepts.
template <typename SuffixOk>
void check_parent_of(std::string_view owner, std::string_view parent, SuffixOk&& suffix_ok) {
  FUZZ_CHECK(!parent.empty());
  FUZZ_CHECK(owner.size() > parent.size() + 1);
  FUZZ_CHECK(owner.starts_with(parent));
  FUZZ_CHECK(owner[parent.size()] == '-');
  FUZZ_CHECK(suffix_ok(owner.substr(parent.size() + 1)));
}

bool all_digits(std::string_view text) {
  for (const char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

void check_workload(const PodMetadata& pod) {
  if (pod.owner_kind == OwnerKind::None) FUZZ_CHECK(pod.owner_name.empty());
  if (pod.owner_parent.empty()) return;
  if (pod.owner_kind == OwnerKind::ReplicaSet) {
    check_parent_of(pod.owner_name, pod.owner_parent, [](std::string_view) { return true; });
  } else {
    FUZZ_CHECK(pod.owner_kind == OwnerKind::Job);
    check_parent_of(pod.owner_name, pod.owner_parent, [](std::string_view digits) {
      return digits.size() >= 8 && all_digits(digits);
    });
  }
}

// derive_owner_parent() on strings of the input other than the owner's name, which reach its
// edges (empty, the hash as long as the name, a name that is all dashes) more often.
void check_derive(std::string_view name, std::string_view hash) {
  const std::string deployment = derive_owner_parent(OwnerKind::ReplicaSet, name, hash);
  if (!deployment.empty()) {
    check_parent_of(name, deployment, [&](std::string_view suffix) { return suffix == hash; });
  }
  const std::string cronjob = derive_owner_parent(OwnerKind::Job, name, hash);
  if (!cronjob.empty()) {
    check_parent_of(name, cronjob, [](std::string_view digits) {
      return digits.size() >= 8 && all_digits(digits);
    });
  }
  FUZZ_CHECK(derive_owner_parent(OwnerKind::StatefulSet, name, hash).empty());
}

void check_hints(const PodMetadata& pod, const PodExtractOptions& options) {
  const PodHints& hints = pod.hints;
  if (!options.hints) {
    FUZZ_CHECK(!hints.exclude && hints.parser.empty() && hints.multiline.empty() &&
               hints.container_parsers.empty());
    return;
  }
  for (size_t i = 0; i < hints.container_parsers.size(); ++i) {
    FUZZ_CHECK(!hints.container_parsers[i].first.empty());
    for (size_t j = 0; j < i; ++j) {
      FUZZ_CHECK(hints.container_parsers[j].first != hints.container_parsers[i].first);
    }
    FUZZ_CHECK(hints.parser_for(hints.container_parsers[i].first) ==
               hints.container_parsers[i].second);
  }
  if (!keeps_hint_annotations(options)) return;
  // The sluice.io/* annotations are kept as well: the hints must say what they say.
  const std::string* exclude = find_value(pod.annotations, "sluice.io/exclude");
  FUZZ_CHECK(hints.exclude == (exclude != nullptr && *exclude == "true"));
  const std::string* parser = find_value(pod.annotations, "sluice.io/parser");
  FUZZ_CHECK(hints.parser == (parser ? *parser : std::string()));
  const std::string* multiline = find_value(pod.annotations, "sluice.io/multiline");
  FUZZ_CHECK(hints.multiline == (multiline ? *multiline : std::string()));
  for (const auto& [container, parser_name] : hints.container_parsers) {
    // A key with a NUL byte matches no glob (fnmatch could not tell); its hint still counts.
    if (container.find('\0') != std::string::npos) continue;
    const std::string* kept = find_value(pod.annotations, "sluice.io/parser-" + container);
    FUZZ_CHECK(kept != nullptr && *kept == parser_name);
  }
}

void check_fields(const PodMetadata& pod) {
  static const std::vector<std::string_view> kKeys = {
      "kubernetes.pod.uid",         "kubernetes.pod.ip",          "kubernetes.node.name",
      "kubernetes.deployment.name", "kubernetes.replicaset.name", "kubernetes.statefulset.name",
      "kubernetes.daemonset.name",  "kubernetes.job.name",        "kubernetes.cronjob.name",
      "container.image.name"};
  std::vector<std::string_view> containers = {"", "no-such-container"};
  for (const auto& [container, image] : pod.images) {
    FUZZ_CHECK(!container.empty());
    containers.push_back(container);
  }
  for (const std::string_view container : containers) {
    StringPairs fields;
    append_pod_fields(pod, container, fields);
    for (const auto& [key, value] : fields) {
      FUZZ_CHECK(!value.empty());
      FUZZ_CHECK(std::find(kKeys.begin(), kKeys.end(), key) != kKeys.end());
    }
  }
}

void check_pod(const PodMetadata& pod, const PodExtractOptions& options) {
  FUZZ_CHECK(!pod.uid.empty());
  check_sorted_unique(pod.labels);
  check_sorted_unique(pod.annotations);
  if (!options.labels) FUZZ_CHECK(pod.labels.empty());
  for (const auto& [key, value] : pod.annotations) {
    FUZZ_CHECK(reference_match(options.annotation_globs, key));
  }
  check_hints(pod, options);
  check_workload(pod);
  check_derive(pod.name, pod.node);
  check_fields(pod);
  FUZZ_CHECK(pod.memory_bytes() >= sizeof(PodMetadata));
}

void check_same(const PodMetadata& a, const PodMetadata& b) {
  FUZZ_CHECK(a.namespace_name == b.namespace_name);
  FUZZ_CHECK(a.name == b.name);
  FUZZ_CHECK(a.uid == b.uid);
  FUZZ_CHECK(a.ip == b.ip);
  FUZZ_CHECK(a.node == b.node);
  FUZZ_CHECK(a.resource_version == b.resource_version);
  FUZZ_CHECK(a.labels == b.labels);
  FUZZ_CHECK(a.annotations == b.annotations);
  FUZZ_CHECK(a.images == b.images);
  FUZZ_CHECK(a.owner_kind == b.owner_kind);
  FUZZ_CHECK(a.owner_name == b.owner_name);
  FUZZ_CHECK(a.owner_parent == b.owner_parent);
  FUZZ_CHECK(a.hints.exclude == b.hints.exclude);
  FUZZ_CHECK(a.hints.parser == b.hints.parser);
  FUZZ_CHECK(a.hints.multiline == b.hints.multiline);
  FUZZ_CHECK(a.hints.container_parsers == b.hints.container_parsers);
}

void check_round_trip(const std::vector<PodPtr>& pods, const PodExtractOptions& options) {
  const std::string encoded = encode_pods(pods);
  if (!fuzz::StrictJson::valid_with_unique_keys(encoded)) {
    std::fprintf(stderr, "round trip: encode_pods wrote invalid JSON or a key twice: %s\n",
                 encoded.c_str());
    __builtin_trap();
  }
  std::vector<std::shared_ptr<PodMetadata>> decoded;
  std::string error;
  if (!decode_pods(encoded, options, &decoded, &error)) {
    std::fprintf(stderr, "round trip: decode_pods refused encode_pods' text (%s): %s\n",
                 error.c_str(), encoded.c_str());
    __builtin_trap();
  }
  FUZZ_CHECK(decoded.size() == pods.size());
  std::vector<PodPtr> again;
  for (size_t i = 0; i < pods.size(); ++i) {
    check_same(*pods[i], *decoded[i]);
    again.push_back(decoded[i]);
  }
  FUZZ_CHECK(encode_pods(again) == encoded);
}

}  // namespace
}  // namespace sluice::kube

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice::kube;
  if (size < 1) return 0;
  const uint8_t choice = data[0];
  const std::string_view json(reinterpret_cast<const char*>(data + 1), size - 1);
  PodExtractOptions options;
  options.labels = (choice & 1) != 0;
  options.hints = (choice & 2) != 0;
  options.annotation_globs = kGlobSets[(choice >> 2) & 3].globs;
  const bool as_list = (choice & 16) != 0;

  std::vector<PodPtr> pods;
  std::string error;
  if (as_list) {
    std::vector<std::shared_ptr<PodMetadata>> decoded;
    const bool ok = decode_pods(json, options, &decoded, &error);
    FUZZ_CHECK(ok || !error.empty());
    pods.assign(decoded.begin(), decoded.end());
  } else {
    auto pod = std::make_shared<PodMetadata>();
    if (parse_pod_json(json, options, pod.get(), &error)) {
      pods.push_back(std::move(pod));
    } else {
      FUZZ_CHECK(!error.empty());
    }
  }
  for (const PodPtr& pod : pods) check_pod(*pod, options);
  check_round_trip(pods, options);
  return 0;
}
