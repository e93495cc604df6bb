#pragma once
// Pods as the Kubernetes API serves them (core/v1 Pod, as `kubectl get pod -o json` shows a
// Deployment's pod: managedFields, ownerReferences, volumes, status conditions), for the tests
// of the metadata extraction, the cache and the API client.
#include <fmt/format.h>

#include <string>
#include <utility>
#include <vector>

namespace sluice::kube::test {

struct PodSpec {
  std::string name = "web-7d4b9c8f6d-x2x9q";
  std::string namespace_name = "shop";
  std::string uid = "5f0f5a9e-0b6d-4c1e-9a7d-2f7f7e0d1c11";
  std::string resource_version = "1001";
  std::string node = "node-1";
  std::string ip = "10.244.1.17";
  std::vector<std::pair<std::string, std::string>> labels = {{"app", "web"},
                                                             {"app.kubernetes.io/name", "web"},
                                                             {"app.kubernetes.io/part-of", "shop"},
                                                             {"pod-template-hash", "7d4b9c8f6d"},
                                                             {"team", "checkout"}};
  std::vector<std::pair<std::string, std::string>> annotations = {{"prometheus.io/scrape", "true"},
                                                                  {"prometheus.io/port", "9102"}};
  std::string owner_kind = "ReplicaSet";  // "" for none
  std::string owner_name = "web-7d4b9c8f6d";
  std::vector<std::pair<std::string, std::string>> containers = {
      {"web", "registry.example.com/shop/web:1.4.2"}, {"envoy", "envoyproxy/envoy:v1.29.1"}};
  size_t last_applied_bytes = 0;  // a kubectl.kubernetes.io/last-applied-configuration this large
};

// A JSON string literal of `text` (quotes, backslashes and newlines escaped).
inline std::string quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

inline std::string string_map(const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::string out = "{";
  for (size_t i = 0; i < pairs.size(); ++i) {
    out += (i ? "," : "") + quoted(pairs[i].first) + ":" + quoted(pairs[i].second);
  }
  return out + "}";
}

// kubectl's last-applied-configuration: a JSON manifest as a string, padded with env entries.
inline std::string last_applied(const PodSpec& spec) {
  std::string manifest =
      fmt::format(R"({{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"{}","namespace":"{}"}},)"
                  R"("spec":{{"containers":[{{"name":"web","image":"web:1","env":[)",
                  spec.name, spec.namespace_name);
  for (size_t i = 0; manifest.size() < spec.last_applied_bytes; ++i) {
    manifest += fmt::format(R"({}{{"name":"SETTING_{}","value":"{:0>96}"}})", i ? "," : "", i, i);
  }
  return manifest + "]}]}}\n";
}

inline std::string pod_json(const PodSpec& spec) {
  auto annotations = spec.annotations;
  if (spec.last_applied_bytes > 0) {
    annotations.emplace_back("kubectl.kubernetes.io/last-applied-configuration",
                             last_applied(spec));
  }
  std::string owners;
  if (!spec.owner_kind.empty()) {
    owners = fmt::format(R"(,"ownerReferences":[{{"apiVersion":"apps/v1","kind":"{}","name":"{}",)"
                         R"("uid":"0c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f","controller":true,)"
                         R"("blockOwnerDeletion":true}}])",
                         spec.owner_kind, spec.owner_name);
  }
  std::string containers;
  std::string statuses;
  for (size_t i = 0; i < spec.containers.size(); ++i) {
    const auto& [name, image] = spec.containers[i];
    containers += fmt::format(
        R"({}{{"name":"{}","image":"{}","ports":[{{"containerPort":8080,"protocol":"TCP"}}],)"
        R"("resources":{{"limits":{{"memory":"256Mi"}},"requests":{{"cpu":"100m"}}}},)"
        R"("volumeMounts":[{{"name":"kube-api-access-abcde","readOnly":true,)"
        R"("mountPath":"/var/run/secrets/kubernetes.io/serviceaccount"}}],)"
        R"("terminationMessagePath":"/dev/termination-log","imagePullPolicy":"IfNotPresent"}})",
        i ? "," : "", name, image);
    statuses += fmt::format(
        R"({}{{"name":"{}","state":{{"running":{{"startedAt":"2026-12-07T10:00:00Z"}}}},)"
        R"("ready":true,"restartCount":0,"image":"{}","imageID":"{}@sha256:{:0>64}",)"
        R"("containerID":"containerd://{:0>64}","started":true}})",
        i ? "," : "", name, image, image, i, i);
  }
  return fmt::format(
      R"({{"kind":"Pod","apiVersion":"v1","metadata":{{"name":{},"generateName":"web-7d4b9c8f6d-",)"
      R"("namespace":{},"uid":{},"resourceVersion":{},"creationTimestamp":"2026-12-07T10:00:00Z",)"
      R"("labels":{},"annotations":{}{},"managedFields":[{{"manager":"kube-controller-manager",)"
      R"("operation":"Update","apiVersion":"v1","time":"2026-12-07T10:00:00Z",)"
      R"("fieldsType":"FieldsV1","fieldsV1":{{"f:metadata":{{"f:labels":{{".":{{}},)"
      R"("f:app":{{}}}}}}}}}}]}},"spec":{{"volumes":[{{"name":"kube-api-access-abcde",)"
      R"("projected":{{"sources":[{{"serviceAccountToken":{{"expirationSeconds":3607,)"
      R"("path":"token"}}}}],"defaultMode":420}}}}],"containers":[{}],)"
      R"("restartPolicy":"Always","terminationGracePeriodSeconds":30,"dnsPolicy":"ClusterFirst",)"
      R"("serviceAccountName":"default","nodeName":{},"securityContext":{{}},)"
      R"("schedulerName":"default-scheduler","tolerations":[{{"key":"node.kubernetes.io/not-ready",)"
      R"("operator":"Exists","effect":"NoExecute","tolerationSeconds":300}}],"priority":0}},)"
      R"("status":{{"phase":"Running","conditions":[{{"type":"Ready","status":"True",)"
      R"("lastProbeTime":null,"lastTransitionTime":"2026-12-07T10:00:05Z"}}],)"
      R"("hostIP":"192.168.49.2","podIP":{},"podIPs":[{{"ip":{}}}],)"
      R"("startTime":"2026-12-07T10:00:00Z","containerStatuses":[{}],"qosClass":"Burstable"}}}})",
      quoted(spec.name), quoted(spec.namespace_name), quoted(spec.uid),
      quoted(spec.resource_version), string_map(spec.labels), string_map(annotations), owners,
      containers, quoted(spec.node), quoted(spec.ip), quoted(spec.ip), statuses);
}

// A watch event line.
inline std::string event(const std::string& type, const PodSpec& spec) {
  return R"({"type":")" + type + R"(","object":)" + pod_json(spec) + "}\n";
}

inline std::string bookmark(const std::string& resource_version) {
  return R"({"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":")" +
         resource_version + R"("}}})" + "\n";
}

inline std::string pod_list(const std::vector<PodSpec>& pods, const std::string& resource_version,
                            const std::string& continue_token = "") {
  std::string items;
  for (size_t i = 0; i < pods.size(); ++i) items += (i ? "," : "") + pod_json(pods[i]);
  std::string meta = R"("resourceVersion":")" + resource_version + "\"";
  if (!continue_token.empty()) meta += R"(,"continue":")" + continue_token + "\"";
  return R"({"kind":"PodList","apiVersion":"v1","metadata":{)" + meta + R"(},"items":[)" + items +
         "]}";
}

}  // namespace sluice::kube::test
