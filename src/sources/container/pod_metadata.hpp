#pragma once
// What sluice keeps of a Kubernetes pod: only the fields it emits (kubernetes.labels.*, the
// selected annotations, uid, ip, node, the owning workload, the containers' images) and the
// per-pod hints, read from the API's JSON with simdjson's on-demand parser, so that values not
// kept (a 200 KiB `kubectl.kubernetes.io/last-applied-configuration`, managedFields, the status
// conditions) are skipped without being copied or unescaped.
//
// A PodMetadata is immutable once made and shared (shared_ptr<const PodMetadata>): the watch
// swaps in a new one on change while the file source still reads the old one.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <simdjson.h>

namespace sluice::kube {

using StringPairs = std::vector<std::pair<std::string, std::string>>;

// What the caller wants kept; everything else in the pod is skipped while reading it.
struct PodExtractOptions {
  bool labels = true;
  // Annotation keys to keep, as shell globs (`*` matches `/` too): `prometheus.io/*`. None by
  // default: annotations are where the large values live.
  std::vector<std::string> annotation_globs;
  bool hints = true;  // read the sluice.io/* annotations (whether or not they are kept)
};

// Per-pod choices from its annotations (`hints: true`).
struct PodHints {
  bool exclude = false;           // sluice.io/exclude: "true"
  std::string parser;             // sluice.io/parser
  std::string multiline;          // sluice.io/multiline
  StringPairs container_parsers;  // sluice.io/parser-<container>: container → parser, sorted

  // The container's own parser hint, else the pod's, else "".
  [[nodiscard]] std::string_view parser_for(std::string_view container) const;
};

// The controller that owns the pod (its ownerReference with `controller: true`).
enum class OwnerKind : uint8_t { None, ReplicaSet, StatefulSet, DaemonSet, Job, Other };

struct PodMetadata {
  std::string namespace_name;
  std::string name;
  std::string uid;
  std::string ip;
  std::string node;
  std::string resource_version;
  StringPairs labels;       // sorted by key
  StringPairs annotations;  // only keys matching the globs; sorted by key
  StringPairs images;       // container name → image, init and ephemeral containers included
  OwnerKind owner_kind = OwnerKind::None;
  std::string owner_name;  // the ReplicaSet, StatefulSet, DaemonSet or Job
  // The ReplicaSet's Deployment (its name minus the pod-template-hash) or the Job's CronJob
  // (its name minus a numeric suffix of 8 digits or more); "" when it cannot be told.
  std::string owner_parent;
  PodHints hints;
  bool deleted = false;  // gone from the API; kept while files of it are still read

  [[nodiscard]] std::string_view image_of(std::string_view container) const;
  // An estimate of the memory the object holds (itself and its heap blocks), for the cache's
  // bytes figure.
  [[nodiscard]] size_t memory_bytes() const;
};

// What an object of a list or watch says about itself beyond its content: its kind (a watch's
// ERROR event carries a Status), metadata.resourceVersion, and a Status's code and message.
struct ObjectHead {
  std::string kind;
  std::string resource_version;
  int64_t code = 0;
  std::string message;
};

// Reads a Pod (or, for an ERROR event, a Status: then `head` says so) from `object`, consuming
// it. False with `error` set when it is not JSON of that shape.
bool read_pod(simdjson::ondemand::object object, const PodExtractOptions& options, PodMetadata* pod,
              ObjectHead* head, std::string* error);

// Reads a Namespace: its name and labels.
bool read_namespace(simdjson::ondemand::object object, std::string* name, StringPairs* labels,
                    ObjectHead* head, std::string* error);

// read_pod() of a whole JSON text (the answer to a GET of one pod).
bool parse_pod_json(std::string_view json, const PodExtractOptions& options, PodMetadata* pod,
                    std::string* error);

// The workload, from the controlling owner: a ReplicaSet named `<deployment>-<hash>` whose pods
// carry `pod-template-hash: <hash>` gives the Deployment; a Job named `<cronjob>-<8+ digits>`
// (how the CronJob controller names its Jobs: the scheduled time in minutes) gives the CronJob.
std::string derive_owner_parent(OwnerKind kind, std::string_view owner_name,
                                std::string_view pod_template_hash);

// Shell-glob match (fnmatch without FNM_PATHNAME: `*` crosses `/`).
bool glob_match(std::string_view glob, std::string_view text);

// The fields of a file of `container` of the pod, as dotted ECS names, appended to `out`:
// kubernetes.pod.uid, kubernetes.pod.ip, kubernetes.node.name, the workload
// (kubernetes.deployment.name / replicaset.name / statefulset.name / daemonset.name /
// job.name / cronjob.name), then container.image.name. Empty values are left out. The labels
// and annotations are maps beside them (add_origin_map: `kubernetes.labels`,
// `kubernetes.annotations`), their keys kept as written.
void append_pod_fields(const PodMetadata& pod, std::string_view container, StringPairs& out);

}  // namespace sluice::kube
