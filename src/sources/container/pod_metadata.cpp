#include "sources/container/pod_metadata.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <iterator>

namespace sluice::kube {

namespace {

namespace od = simdjson::ondemand;

constexpr std::string_view kHintPrefix = "sluice.io/";
constexpr std::string_view kParserPerContainer = "sluice.io/parser-";

// The error codes of one reading, turned into a message once.
struct Reader {
  std::string* error;
  bool fail(std::string_view what) {
    if (error->empty()) *error = std::string(what);
    return false;
  }
};

// Each field of `object` as (key, value); false when the JSON is broken.
template <typename F>
bool for_each_field(od::object object, Reader& r, F&& f) {
  for (auto result : object) {
    od::field field;
    std::string_view key;
    if (std::move(result).get(field) || field.unescaped_key().get(key)) {
      return r.fail("unreadable field");
    }
    if (!f(key, field.value())) return false;
  }
  return true;
}

bool read_string(od::value value, std::string* out, Reader& r, std::string_view what) {
  std::string_view text;
  if (value.get_string().get(text)) return r.fail(std::string(what) + " is not a string");
  out->assign(text);
  return true;
}

// A map of strings (labels, annotations): `want(key)` says whether to read an entry; only then
// is its value unescaped and handed to `store(key, value)`.
template <typename Want, typename Store>
bool read_string_map(od::value value, Reader& r, std::string_view what, Want&& want,
                     Store&& store) {
  od::object object;
  if (value.get_object().get(object)) return r.fail(std::string(what) + " is not an object");
  return for_each_field(object, r, [&](std::string_view key, od::value v) {
    if (!want(key)) return true;  // skipped unread: never unescaped, never copied
    // The key lives in the parser's string buffer, which the value's unescaping appends to:
    // still valid after it.
    std::string_view text;
    if (v.get_string().get(text)) return r.fail(std::string(what) + " value is not a string");
    store(key, text);
    return true;
  });
}

// Sorted by key, each key once: of a key the JSON wrote twice (no API server should, a hostile or
// buggy one may) the last value stays, as Go's encoding/json reads it. A map with a key twice would
// put it twice into every event, and back into the kept-pods file.
void sort_unique_pairs(StringPairs& pairs) {
  std::stable_sort(pairs.begin(), pairs.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  auto kept = pairs.begin();
  for (auto run = pairs.begin(); run != pairs.end();) {
    auto last = run;
    while (std::next(last) != pairs.end() && std::next(last)->first == run->first) ++last;
    if (kept != last) *kept = std::move(*last);
    ++kept;
    run = std::next(last);
  }
  pairs.erase(kept, pairs.end());
}

OwnerKind owner_kind_of(std::string_view kind) {
  if (kind == "ReplicaSet") return OwnerKind::ReplicaSet;
  if (kind == "StatefulSet") return OwnerKind::StatefulSet;
  if (kind == "DaemonSet") return OwnerKind::DaemonSet;
  if (kind == "Job") return OwnerKind::Job;
  return OwnerKind::Other;
}

struct Owner {
  std::string kind;
  std::string name;
  bool controller = false;
};

bool read_owners(od::value value, Reader& r, Owner* chosen) {
  od::array array;
  if (value.get_array().get(array)) return r.fail("ownerReferences is not an array");
  bool have = false;
  for (auto element : array) {
    od::object object;
    if (element.get_object().get(object)) return r.fail("an ownerReference is not an object");
    Owner owner;
    const bool ok = for_each_field(object, r, [&](std::string_view key, od::value v) {
      if (key == "kind") return read_string(v, &owner.kind, r, "ownerReferences.kind");
      if (key == "name") return read_string(v, &owner.name, r, "ownerReferences.name");
      if (key == "controller") {
        bool controller = false;
        if (v.get_bool().get(controller)) return r.fail("ownerReferences.controller");
        owner.controller = controller;
      }
      return true;
    });
    if (!ok) return false;
    // The controller is the workload; without one marked, the first owner stands in.
    if (!have || (owner.controller && !chosen->controller)) {
      *chosen = std::move(owner);
      have = true;
    }
  }
  return true;
}

bool read_containers(od::value value, Reader& r, StringPairs* images) {
  od::array array;
  if (value.get_array().get(array)) return r.fail("containers is not an array");
  for (auto element : array) {
    od::object object;
    if (element.get_object().get(object)) return r.fail("a container is not an object");
    std::string name;
    std::string image;
    const bool ok = for_each_field(object, r, [&](std::string_view key, od::value v) {
      if (key == "name") return read_string(v, &name, r, "container name");
      if (key == "image") return read_string(v, &image, r, "container image");
      return true;
    });
    if (!ok) return false;
    if (!name.empty()) images->emplace_back(std::move(name), std::move(image));
  }
  return true;
}

void read_hint(std::string_view key, std::string_view value, PodHints* hints) {
  if (key == "sluice.io/exclude") {
    hints->exclude = value == "true";
  } else if (key == "sluice.io/parser") {
    hints->parser.assign(value);
  } else if (key == "sluice.io/multiline") {
    hints->multiline.assign(value);
  } else if (key.starts_with(kParserPerContainer) && key.size() > kParserPerContainer.size()) {
    // Sorted (of a container named twice, the last kept) once all are read: see read_pod().
    hints->container_parsers.emplace_back(std::string(key.substr(kParserPerContainer.size())),
                                          std::string(value));
  }
}

bool matches_any(const std::vector<std::string>& globs, std::string_view key) {
  return std::any_of(globs.begin(), globs.end(),
                     [&](const std::string& glob) { return glob_match(glob, key); });
}

bool read_metadata(od::value value, const PodExtractOptions& options, Reader& r, PodMetadata* pod,
                   ObjectHead* head, Owner* owner, std::string* template_hash) {
  od::object object;
  if (value.get_object().get(object)) return r.fail("metadata is not an object");
  return for_each_field(object, r, [&](std::string_view key, od::value v) {
    if (key == "name") return read_string(v, &pod->name, r, "metadata.name");
    if (key == "namespace") return read_string(v, &pod->namespace_name, r, "metadata.namespace");
    if (key == "uid") return read_string(v, &pod->uid, r, "metadata.uid");
    if (key == "resourceVersion") {
      return read_string(v, &head->resource_version, r, "metadata.resourceVersion");
    }
    if (key == "ownerReferences") return read_owners(v, r, owner);
    if (key == "labels") {
      // pod-template-hash is read even when labels are not kept: it names the Deployment.
      return read_string_map(
          v, r, "labels",
          [&](std::string_view k) { return options.labels || k == "pod-template-hash"; },
          [&](std::string_view k, std::string_view text) {
            if (k == "pod-template-hash") template_hash->assign(text);
            if (options.labels) pod->labels.emplace_back(std::string(k), std::string(text));
          });
    }
    if (key == "annotations") {
      return read_string_map(
          v, r, "annotations",
          [&](std::string_view k) {
            return (options.hints && k.starts_with(kHintPrefix)) ||
                   matches_any(options.annotation_globs, k);
          },
          [&](std::string_view k, std::string_view text) {
            if (options.hints && k.starts_with(kHintPrefix)) read_hint(k, text, &pod->hints);
            if (matches_any(options.annotation_globs, k)) {
              pod->annotations.emplace_back(std::string(k), std::string(text));
            }
          });
    }
    return true;
  });
}

bool read_spec(od::value value, Reader& r, PodMetadata* pod) {
  od::object object;
  if (value.get_object().get(object)) return r.fail("spec is not an object");
  return for_each_field(object, r, [&](std::string_view key, od::value v) {
    if (key == "nodeName") return read_string(v, &pod->node, r, "spec.nodeName");
    if (key == "containers" || key == "initContainers" || key == "ephemeralContainers") {
      return read_containers(v, r, &pod->images);
    }
    return true;
  });
}

bool read_status(od::value value, Reader& r, PodMetadata* pod, ObjectHead* head) {
  // A Pod's status is an object; a Status object's `status` is "Failure".
  od::json_type type;
  if (value.type().get(type)) return r.fail("status is not JSON");
  if (type != od::json_type::object) return true;
  od::object object;
  if (value.get_object().get(object)) return r.fail("status is not an object");
  return for_each_field(object, r, [&](std::string_view key, od::value v) {
    if (key == "podIP") return read_string(v, &pod->ip, r, "status.podIP");
    return true;
  });
}

// The parts of a Status object (an ERROR event, an error answer) beside kind and metadata.
bool read_status_field(std::string_view key, od::value v, Reader& r, ObjectHead* head) {
  if (key == "code") {
    int64_t code = 0;
    if (v.get_int64().get(code)) return r.fail("Status code is not a number");
    head->code = code;
  } else if (key == "message") {
    return read_string(v, &head->message, r, "Status message");
  }
  return true;
}

}  // namespace

std::string_view PodHints::parser_for(std::string_view container) const {
  for (const auto& [name, parser_name] : container_parsers) {
    if (name == container) return parser_name;
  }
  return parser;
}

std::string_view PodMetadata::image_of(std::string_view container) const {
  for (const auto& [container_name, image] : images) {
    if (container_name == container) return image;
  }
  return {};
}

namespace {

size_t string_bytes(const std::string& s) {
  // Beyond the small-string buffer, the heap block (rounded as malloc does, with its header).
  return s.capacity() > 15 ? ((s.capacity() + 1 + 8 + 15) & ~size_t{15}) : 0;
}

size_t pairs_bytes(const StringPairs& pairs) {
  size_t n = pairs.capacity() * sizeof(StringPairs::value_type);
  for (const auto& [k, v] : pairs) n += string_bytes(k) + string_bytes(v);
  return n;
}

}  // namespace

size_t PodMetadata::memory_bytes() const {
  size_t n = sizeof(PodMetadata);
  for (const std::string* s : {&namespace_name, &name, &uid, &ip, &node, &resource_version,
                               &owner_name, &owner_parent, &hints.parser, &hints.multiline}) {
    n += string_bytes(*s);
  }
  return n + pairs_bytes(labels) + pairs_bytes(annotations) + pairs_bytes(images) +
         pairs_bytes(hints.container_parsers);
}

bool glob_match(std::string_view glob, std::string_view text) {
  // fnmatch() reads C strings: past a NUL byte (JSON's \u0000) it would match by a prefix only.
  // No Kubernetes key holds one; such a key is never selected.
  if (glob.find('\0') != std::string_view::npos || text.find('\0') != std::string_view::npos) {
    return false;
  }
  return ::fnmatch(std::string(glob).c_str(), std::string(text).c_str(), 0) == 0;
}

std::string derive_owner_parent(OwnerKind kind, std::string_view owner_name,
                                std::string_view pod_template_hash) {
  if (kind == OwnerKind::ReplicaSet) {
    // `<deployment>-<hash>`, the hash being the pod's pod-template-hash label: a ReplicaSet
    // made by hand has no such label and names no Deployment.
    if (pod_template_hash.empty() || owner_name.size() <= pod_template_hash.size() + 1) return {};
    const size_t dash = owner_name.size() - pod_template_hash.size() - 1;
    if (owner_name[dash] != '-' || owner_name.substr(dash + 1) != pod_template_hash) return {};
    return std::string(owner_name.substr(0, dash));
  }
  if (kind == OwnerKind::Job) {
    // The CronJob controller names its Jobs `<cronjob>-<scheduled time in minutes>` (8 digits
    // since 1989): a shorter number is more likely part of a hand-made Job's name (`migrate-2`).
    const size_t dash = owner_name.rfind('-');
    if (dash == std::string_view::npos || dash == 0) return {};
    const std::string_view digits = owner_name.substr(dash + 1);
    if (digits.size() < 8 ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return {};
    }
    return std::string(owner_name.substr(0, dash));
  }
  return {};
}

bool read_pod(simdjson::ondemand::object object, const PodExtractOptions& options, PodMetadata* pod,
              ObjectHead* head, std::string* error) {
  Reader r{error};
  Owner owner;
  std::string template_hash;
  const bool ok = for_each_field(object, r, [&](std::string_view key, od::value v) {
    if (key == "kind") return read_string(v, &head->kind, r, "kind");
    if (key == "metadata") {
      return read_metadata(v, options, r, pod, head, &owner, &template_hash);
    }
    if (key == "spec") return read_spec(v, r, pod);
    if (key == "status") return read_status(v, r, pod, head);
    return read_status_field(key, v, r, head);
  });
  if (!ok) return false;
  sort_unique_pairs(pod->labels);
  sort_unique_pairs(pod->annotations);
  sort_unique_pairs(pod->hints.container_parsers);
  pod->labels.shrink_to_fit();
  pod->annotations.shrink_to_fit();
  pod->images.shrink_to_fit();
  if (!owner.kind.empty()) {
    pod->owner_kind = owner_kind_of(owner.kind);
    pod->owner_name = std::move(owner.name);
    pod->owner_parent = derive_owner_parent(pod->owner_kind, pod->owner_name, template_hash);
  }
  pod->resource_version = head->resource_version;
  return true;
}

bool read_namespace(simdjson::ondemand::object object, std::string* name, StringPairs* labels,
                    ObjectHead* head, std::string* error) {
  Reader r{error};
  const bool ok = for_each_field(object, r, [&](std::string_view key, od::value v) {
    if (key == "kind") return read_string(v, &head->kind, r, "kind");
    if (key == "metadata") {
      od::object metadata;
      if (v.get_object().get(metadata)) return r.fail("metadata is not an object");
      return for_each_field(metadata, r, [&](std::string_view k, od::value mv) {
        if (k == "name") return read_string(mv, name, r, "metadata.name");
        if (k == "resourceVersion") {
          return read_string(mv, &head->resource_version, r, "metadata.resourceVersion");
        }
        if (k == "labels") {
          return read_string_map(
              mv, r, "labels", [](std::string_view) { return true; },
              [&](std::string_view lk, std::string_view text) {
                labels->emplace_back(std::string(lk), std::string(text));
              });
        }
        return true;
      });
    }
    if (key == "status") return true;  // a Namespace's phase, or a Status's "Failure"
    return read_status_field(key, v, r, head);
  });
  if (ok) sort_unique_pairs(*labels);
  return ok;
}

bool parse_pod_json(std::string_view json, const PodExtractOptions& options, PodMetadata* pod,
                    std::string* error) {
  simdjson::ondemand::parser parser;
  const simdjson::padded_string padded(json);
  simdjson::ondemand::document doc;
  simdjson::ondemand::object object;
  if (parser.iterate(padded).get(doc) || doc.get_object().get(object)) {
    *error = "not a JSON object";
    return false;
  }
  ObjectHead head;
  if (!read_pod(object, options, pod, &head, error)) return false;
  if (head.kind != "Pod" || pod->uid.empty()) {
    *error = head.kind.empty() ? "not a Pod" : "a " + head.kind + ", not a Pod";
    return false;
  }
  return true;
}

void append_pod_fields(const PodMetadata& pod, std::string_view container, StringPairs& out) {
  const auto add = [&out](std::string key, std::string_view value) {
    if (!value.empty()) out.emplace_back(std::move(key), std::string(value));
  };
  add("kubernetes.pod.uid", pod.uid);
  add("kubernetes.pod.ip", pod.ip);
  add("kubernetes.node.name", pod.node);
  switch (pod.owner_kind) {
    case OwnerKind::ReplicaSet:
      add("kubernetes.deployment.name", pod.owner_parent);
      add("kubernetes.replicaset.name", pod.owner_name);
      break;
    case OwnerKind::StatefulSet:
      add("kubernetes.statefulset.name", pod.owner_name);
      break;
    case OwnerKind::DaemonSet:
      add("kubernetes.daemonset.name", pod.owner_name);
      break;
    case OwnerKind::Job:
      add("kubernetes.job.name", pod.owner_name);
      add("kubernetes.cronjob.name", pod.owner_parent);
      break;
    case OwnerKind::None:
    case OwnerKind::Other:
      break;
  }
  add("container.image.name", pod.image_of(container));
}

}  // namespace sluice::kube
