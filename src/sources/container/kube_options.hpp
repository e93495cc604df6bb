#pragma once
// The `kubernetes:` block of a `container` source, read and resolved: where the API server is,
// what of a pod to keep and emit, and which pods' files to read at all. The API client is built
// from it (kube_client), and the file source uses it for the lookups, hints and filters.
//
// Defaults come from the environment a pod of a DaemonSet has: the API server's address from
// KUBERNETES_SERVICE_HOST/PORT, the node from NODE_NAME (the downward API), the service account's
// token and CA under /var/run/secrets/kubernetes.io/serviceaccount/.
#include <string>
#include <string_view>
#include <vector>

#include "options/interpolate.hpp"
#include "sources/container/pod_metadata.hpp"

namespace sluice {
class MapReader;
struct OptionSpec;
}  // namespace sluice

namespace sluice::kube {

inline constexpr const char* kServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount/";

enum class Enabled { Auto, On, Off };

// Namespaces whose files are read: those matching an `include` glob (every namespace when there
// is none), less those matching an `exclude` glob.
struct NamespaceFilter {
  std::vector<std::string> include;
  std::vector<std::string> exclude;
  [[nodiscard]] bool admits(std::string_view namespace_name) const;
  [[nodiscard]] bool empty() const { return include.empty() && exclude.empty(); }
};

// sluice's own pod, for `exclude_self`. `name` empty: not known (not running in a pod).
struct SelfPod {
  std::string namespace_name;  // empty: any namespace (the name came from the hostname)
  std::string name;
  std::string how;  // where it came from, for the log line: "POD_NAME" or "hostname"
  [[nodiscard]] bool is(std::string_view namespace_name, std::string_view pod_name) const;
};

struct KubeOptions {
  Enabled enabled = Enabled::Auto;
  // Decided when the config is read: metadata is fetched from the API (`true`, or `auto` in a
  // cluster). `decision` says which and why, for the one log line at start.
  bool active = false;
  std::string decision;

  std::string api_url;  // https://host:port, or http:// (tests, `kubectl proxy`)
  std::string token_file = std::string(kServiceAccountDir) + "token";
  std::string ca_file = std::string(kServiceAccountDir) + "ca.crt";
  std::string node_name;
  std::string label_selector;  // passed to the API as is (ANDed with the node's field selector)
  std::string field_selector;

  bool labels = true;
  std::vector<std::string> annotations;  // globs of the annotation keys emitted
  bool namespace_labels = false;
  bool hints = true;  // sluice.io/exclude, sluice.io/parser[-<container>], sluice.io/multiline

  // The watch asks the server to end it after this (timeoutSeconds) and resumes; a watch silent
  // for longer than this plus a margin is taken for dead (a half-open connection).
  int64_t watch_timeout_ns = 120'000'000'000;
  // Failed requests are retried after a jittered delay from min, doubling up to max.
  int64_t retry_backoff_min_ns = 500'000'000;
  int64_t retry_backoff_max_ns = 30'000'000'000;

  NamespaceFilter namespaces;  // applies from the path alone, so also when `active` is false
  bool exclude_self = true;
  SelfPod self;

  // What the pod cache keeps of each pod.
  [[nodiscard]] PodExtractOptions extract_options() const;
};

// Reads the `kubernetes:` mapping (`kubernetes` is the reader of that mapping, possibly empty)
// with `env` for the defaults (the config's environment, which tests set). Config errors name
// file:line:col.
KubeOptions read_kube_options(MapReader& kubernetes, const EnvLookup& env);

// The options of the `kubernetes:` mapping, for the container source's schema.
std::vector<OptionSpec> kube_option_specs();

}  // namespace sluice::kube
