#include "sources/container/kubernetes_path.hpp"

#include <algorithm>
#include <array>

namespace sluice {

namespace {

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool is_container_id(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), is_hex);
}

// Pod UIDs are UUIDs; static (mirror) pods use a 32-hex-digit hash. Checking the shape keeps
// host files that merely sit three directories deep from being taken for pod logs.
bool is_pod_uid(std::string_view s) {
  return s.size() >= 8 &&
         std::all_of(s.begin(), s.end(), [](char c) { return is_hex(c) || c == '-'; });
}

// `a_b_c` into exactly three non-empty parts. Kubernetes names cannot hold '_' (they are DNS
// labels and subdomains), which is why kubelet chose it as the separator.
bool split3(std::string_view s, std::array<std::string_view, 3>& parts) {
  const size_t a = s.find('_');
  if (a == std::string_view::npos) return false;
  const size_t b = s.find('_', a + 1);
  if (b == std::string_view::npos || s.find('_', b + 1) != std::string_view::npos) return false;
  parts = {s.substr(0, a), s.substr(a + 1, b - a - 1), s.substr(b + 1)};
  return std::none_of(parts.begin(), parts.end(), [](std::string_view p) { return p.empty(); });
}

// The last component of `path`, which is shortened to its directory.
std::string_view pop_component(std::string_view& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) {
    const std::string_view name = path;
    path = {};
    return name;
  }
  const std::string_view name = path.substr(slash + 1);
  path = path.substr(0, slash);
  return name;
}

// <pod>_<namespace>_<container>-<id>.log, read from the right: pod and container names may
// hold '-', the id never does.
std::optional<KubernetesPathMeta> from_container_link(std::string_view name) {
  constexpr std::string_view kSuffix = ".log";
  if (!name.ends_with(kSuffix)) return std::nullopt;
  name.remove_suffix(kSuffix.size());
  if (name.size() < 66) return std::nullopt;
  const std::string_view id = name.substr(name.size() - 64);
  if (name[name.size() - 65] != '-' || !is_container_id(id)) return std::nullopt;
  std::array<std::string_view, 3> parts;
  if (!split3(name.substr(0, name.size() - 65), parts)) return std::nullopt;
  KubernetesPathMeta meta;
  meta.pod_name = parts[0];
  meta.namespace_name = parts[1];
  meta.container_name = parts[2];
  meta.container_id = id;
  return meta;
}

// <N>.log or a rotated <N>.log.<suffix>.
bool is_pod_log_name(std::string_view name) {
  const auto digits = static_cast<size_t>(
      std::find_if(name.begin(), name.end(), [](char c) { return c < '0' || c > '9'; }) -
      name.begin());
  if (digits == 0) return false;
  const std::string_view rest = name.substr(digits);
  return rest == ".log" || (rest.starts_with(".log.") && rest.size() > 5);
}

// <namespace>_<pod>_<uid>/<container>/<N>.log
std::optional<KubernetesPathMeta> from_pod_dir(std::string_view name, std::string_view container,
                                               std::string_view pod_dir) {
  if (!is_pod_log_name(name) || container.empty()) return std::nullopt;
  std::array<std::string_view, 3> parts;
  if (!split3(pod_dir, parts) || !is_pod_uid(parts[2])) return std::nullopt;
  KubernetesPathMeta meta;
  meta.namespace_name = parts[0];
  meta.pod_name = parts[1];
  meta.pod_uid = parts[2];
  meta.container_name = container;
  return meta;
}

// <id>/<id>-json.log, also rotated <id>-json.log.<N>.
std::optional<KubernetesPathMeta> from_docker_dir(std::string_view name, std::string_view id) {
  if (!is_container_id(id) || !name.starts_with(id)) return std::nullopt;
  const std::string_view rest = name.substr(id.size());
  if (rest != "-json.log" && !(rest.starts_with("-json.log.") && rest.size() > 10)) {
    return std::nullopt;
  }
  KubernetesPathMeta meta;
  meta.container_id = id;
  return meta;
}

}  // namespace

std::optional<KubernetesPathMeta> kubernetes_from_path(std::string_view path) {
  const std::string_view name = pop_component(path);
  if (name.empty()) return std::nullopt;
  if (auto meta = from_container_link(name)) return meta;
  const std::string_view parent = pop_component(path);
  if (auto meta = from_docker_dir(name, parent)) return meta;
  const std::string_view grandparent = pop_component(path);
  return from_pod_dir(name, parent, grandparent);
}

std::vector<std::pair<std::string, std::string>> kubernetes_fields(const KubernetesPathMeta& meta) {
  std::vector<std::pair<std::string, std::string>> fields;
  auto add = [&fields](const char* key, const std::string& value) {
    if (!value.empty()) fields.emplace_back(key, value);
  };
  add("kubernetes.pod.name", meta.pod_name);
  add("kubernetes.pod.uid", meta.pod_uid);
  add("kubernetes.namespace", meta.namespace_name);
  add("kubernetes.container.name", meta.container_name);
  add("container.id", meta.container_id);
  return fields;
}

}  // namespace sluice
