#pragma once
// Kubernetes and Docker metadata recovered from the path of a container log file. kubelet and
// dockerd encode the pod, namespace, container and container id in the names they give the
// files, so a node-level tail gets them without asking the API server.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice {

struct KubernetesPathMeta {
  std::string pod_name, namespace_name, container_name, container_id, pod_uid;
};

// Recognises (only the trailing components matter; any directory above them):
//  - kubelet's symlinks:  .../<pod>_<namespace>_<container>-<64 hex id>.log
//  - kubelet's files:     .../<namespace>_<pod>_<uid>/<container>/<N>.log, and rotated
//                         <N>.log.<suffix> names (`0.log.20240102-150405`, `.gz`)
//  - dockerd's files:     .../<64 hex id>/<same id>-json.log (and `-json.log.<N>`): id only
// nullopt for anything else.
std::optional<KubernetesPathMeta> kubernetes_from_path(std::string_view path);

// The metadata as dotted ECS fields, in this order, leaving out empty ones:
// kubernetes.pod.name, kubernetes.pod.uid, kubernetes.namespace, kubernetes.container.name,
// container.id.
std::vector<std::pair<std::string, std::string>> kubernetes_fields(const KubernetesPathMeta& meta);

}  // namespace sluice
