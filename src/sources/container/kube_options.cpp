#include "sources/container/kube_options.hpp"

#include <unistd.h>

#include <algorithm>
#include <climits>

#include "options/descriptor.hpp"
#include "options/map_reader.hpp"

namespace sluice::kube {

bool NamespaceFilter::admits(std::string_view namespace_name) const {
  const auto matches = [namespace_name](const std::string& glob) {
    return glob_match(glob, namespace_name);
  };
  if (!include.empty() && std::none_of(include.begin(), include.end(), matches)) return false;
  return std::none_of(exclude.begin(), exclude.end(), matches);
}

bool SelfPod::is(std::string_view pod_namespace, std::string_view pod_name) const {
  if (name.empty() || pod_name != name) return false;
  return namespace_name.empty() || pod_namespace == namespace_name;
}

PodExtractOptions KubeOptions::extract_options() const {
  PodExtractOptions extract;
  extract.labels = labels;
  extract.annotation_globs = annotations;
  extract.hints = hints;
  return extract;
}

namespace {

std::string env_or(const EnvLookup& env, const std::string& name, const std::string& fallback) {
  std::optional<std::string> value = env(name);
  return value && !value->empty() ? *value : fallback;
}

// https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT, an IPv6 address in brackets; ""
// outside a cluster.
std::string in_cluster_api_url(const EnvLookup& env) {
  std::string host = env_or(env, "KUBERNETES_SERVICE_HOST", "");
  if (host.empty()) return "";
  if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";
  return "https://" + host + ":" + env_or(env, "KUBERNETES_SERVICE_PORT", "443");
}

// The pod sluice runs in: the downward API's POD_NAME (and POD_NAMESPACE); without it, in a
// cluster, the hostname, which is the pod's name unless the pod sets spec.hostname.
SelfPod find_self(const EnvLookup& env) {
  SelfPod self;
  self.name = env_or(env, "POD_NAME", "");
  if (!self.name.empty()) {
    self.namespace_name = env_or(env, "POD_NAMESPACE", "");
    self.how = "POD_NAME";
    return self;
  }
  if (env_or(env, "KUBERNETES_SERVICE_HOST", "").empty()) return self;
  self.name = env_or(env, "HOSTNAME", "");
  if (self.name.empty()) {
    char host[HOST_NAME_MAX + 1] = {};
    if (::gethostname(host, sizeof host - 1) == 0) self.name = host;
  }
  self.how = "hostname";
  return self;
}

// timeoutSeconds is whole seconds; a watch that ends within 1 s without a line counts as a
// failure (kube_watch.cpp), so the shortest is 2 s.
constexpr int64_t kMinWatchTimeoutNs = 2'000'000'000;
constexpr int64_t kMaxWatchTimeoutNs = 3'600'000'000'000;

std::vector<std::string> glob_list(MapReader& reader, const std::string& key) {
  std::vector<std::string> globs = reader.string_list(key);
  for (const std::string& glob : globs) {
    if (glob.empty()) reader.fail(key, "`" + key + "` must not hold an empty pattern");
  }
  return globs;
}

void decide(MapReader& k, const EnvLookup& env, KubeOptions& o) {
  switch (o.enabled) {
    case Enabled::Off:
      o.decision = "`enabled: false`";
      return;
    case Enabled::On:
      if (o.api_url.empty()) {
        k.fail(
            "enabled",
            "`enabled: true` needs `api_url` (KUBERNETES_SERVICE_HOST, its default, is not set)");
      }
      if (o.node_name.empty()) {
        k.fail("enabled",
               "`enabled: true` needs `node_name` (NODE_NAME, its default, is not set): only the "
               "pods of this node are watched");
      }
      o.active = true;
      o.decision = "`enabled: true`";
      return;
    case Enabled::Auto:
      break;
  }
  if (env_or(env, "KUBERNETES_SERVICE_HOST", "").empty()) {
    o.decision = "`enabled: auto` and not in a cluster (KUBERNETES_SERVICE_HOST is not set)";
  } else if (o.api_url.empty()) {
    o.decision = "`enabled: auto` and no `api_url`";
  } else if (!o.token_file.empty() && ::access(o.token_file.c_str(), R_OK) != 0) {
    o.decision = "`enabled: auto` and the token file " + o.token_file + " is not readable";
  } else if (o.node_name.empty()) {
    o.decision =
        "`enabled: auto` in a cluster, but no node name (set NODE_NAME from the "
        "downward API, or `node_name`)";
  } else {
    o.active = true;
    o.decision = "`enabled: auto` in a cluster (KUBERNETES_SERVICE_HOST set, token readable)";
  }
}

}  // namespace

KubeOptions read_kube_options(MapReader& k, const EnvLookup& env) {
  if (k.node() && !k.node().IsNull() && !k.node().IsMap()) {
    k.fail_here("`kubernetes` must be a mapping, e.g. `kubernetes: {enabled: true}`");
  }
  KubeOptions o;
  o.enabled =
      k.choice<Enabled>("enabled", Enabled::Auto,
                        {{"auto", Enabled::Auto}, {"true", Enabled::On}, {"false", Enabled::Off}});
  o.api_url = k.string("api_url", in_cluster_api_url(env));
  if (!o.api_url.empty() && !o.api_url.starts_with("https://") &&
      !o.api_url.starts_with("http://")) {
    k.fail("api_url", "`api_url` must start with https:// (or http://), not `" + o.api_url + "`");
  }
  while (o.api_url.size() > 8 && o.api_url.back() == '/') o.api_url.pop_back();
  o.token_file = k.string("token_file", o.token_file);
  o.ca_file = k.string("ca_file", o.ca_file);
  o.node_name = k.string("node_name", env_or(env, "NODE_NAME", ""));
  o.labels = k.boolean("labels", true);
  o.annotations = glob_list(k, "annotations");
  o.namespace_labels = k.boolean("namespace_labels", false);
  o.hints = k.boolean("hints", true);
  MapReader namespaces = k.sub("namespaces");
  if (namespaces.node() && !namespaces.node().IsNull() && !namespaces.node().IsMap()) {
    k.fail("namespaces", "`namespaces` must be a mapping: `{include: [globs], exclude: [globs]}`");
  }
  o.namespaces.include = glob_list(namespaces, "include");
  o.namespaces.exclude = glob_list(namespaces, "exclude");
  namespaces.finish();
  o.label_selector = k.string("label_selector", "");
  o.field_selector = k.string("field_selector", "");
  o.exclude_self = k.boolean("exclude_self", true);
  if (o.exclude_self) o.self = find_self(env);
  o.watch_timeout_ns = k.duration_ns("watch_timeout", o.watch_timeout_ns);
  if (o.watch_timeout_ns < kMinWatchTimeoutNs || o.watch_timeout_ns > kMaxWatchTimeoutNs) {
    k.fail("watch_timeout", "`watch_timeout` must be from 2s to 1h");
  }
  o.retry_backoff_min_ns = k.duration_ns("retry_backoff_min", o.retry_backoff_min_ns);
  o.retry_backoff_max_ns = k.duration_ns("retry_backoff_max", o.retry_backoff_max_ns);
  if (o.retry_backoff_min_ns <= 0) {
    k.fail("retry_backoff_min", "`retry_backoff_min` must be positive");
  }
  if (o.retry_backoff_max_ns < o.retry_backoff_min_ns) {
    k.fail("retry_backoff_max", "`retry_backoff_max` must be at least `retry_backoff_min`");
  }
  decide(k, env, o);
  return o;
}

std::vector<OptionSpec> kube_option_specs() {
  const std::string sa = kServiceAccountDir;
  return {
      {.key = "enabled",
       .type = OptionType::Enum,
       .default_shown = "auto",
       .description = "pod metadata from the API server; `auto`: on in a cluster "
                      "(KUBERNETES_SERVICE_HOST set and the token readable)",
       .choices = {"auto", "true", "false"}},
      {.key = "api_url",
       .type = OptionType::String,
       .default_shown = "https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT",
       .description = "the API server; `http://` too (`kubectl proxy`, tests)"},
      {.key = "token_file",
       .type = OptionType::String,
       .default_shown = sa + "token",
       .description = "the bearer token, re-read every 60s and after a 401; `\"\"`: none"},
      {.key = "ca_file",
       .type = OptionType::String,
       .default_shown = sa + "ca.crt",
       .description = "the CA the API server's certificate is checked against"},
      {.key = "node_name",
       .type = OptionType::String,
       .default_shown = "$NODE_NAME",
       .description = "only this node's pods are watched (set NODE_NAME from the downward API)"},
      {.key = "labels",
       .type = OptionType::Bool,
       .default_shown = "true",
       .description = "the pod's labels as `kubernetes.labels.*`"},
      {.key = "annotations",
       .type = OptionType::List,
       .description = "globs of the annotation keys emitted as `kubernetes.annotations.*` "
                      "(none by default; others are never kept)"},
      {.key = "namespace_labels",
       .type = OptionType::Bool,
       .default_shown = "false",
       .description = "the namespace's labels as `kubernetes.namespace_labels.*` (watches "
                      "namespaces too)"},
      {.key = "hints",
       .type = OptionType::Bool,
       .default_shown = "true",
       .description = "obey the pods' `sluice.io/exclude`, `sluice.io/parser[-<container>]` and "
                      "`sluice.io/multiline` annotations"},
      {.key = "namespaces",
       .type = OptionType::Mapping,
       .description = "the namespaces whose files are read, by glob (from the file's path)",
       .nested =
           {
               {.key = "include",
                .type = OptionType::List,
                .description = "globs; none: every namespace"},
               {.key = "exclude",
                .type = OptionType::List,
                .description = "globs, applied after `include`"},
           }},
      {.key = "label_selector",
       .type = OptionType::String,
       .description = "passed to the API's pod watch, e.g. `app!=noisy`"},
      {.key = "field_selector",
       .type = OptionType::String,
       .description = "passed to the API's pod watch, ANDed with `spec.nodeName=<node_name>`"},
      {.key = "exclude_self",
       .type = OptionType::Bool,
       .default_shown = "true",
       .description = "skip sluice's own pod ($POD_NAME/$POD_NAMESPACE, else in a cluster the "
                      "hostname)"},
      {.key = "watch_timeout",
       .type = OptionType::Duration,
       .default_shown = "2m",
       .description = "the server ends each watch after this (`timeoutSeconds`) and it resumes; "
                      "a watch silent for this plus 10% (2s to 30s) is dropped as dead"},
      {.key = "retry_backoff_min",
       .type = OptionType::Duration,
       .default_shown = "500ms",
       .description = "first delay before a failed list or watch is retried; doubles per "
                      "failure, jittered (half to all of it)"},
      {.key = "retry_backoff_max",
       .type = OptionType::Duration,
       .default_shown = "30s",
       .description = "the longest retry delay"},
  };
}

}  // namespace sluice::kube
