#include "sources/container/pod_metadata.hpp"

#include <gtest/gtest.h>

#include <string>

#include "pod_json.hpp"

namespace sluice::kube {
namespace {

using test::pod_json;
using test::PodSpec;

PodMetadata parse(const std::string& json, const PodExtractOptions& options = {}) {
  PodMetadata pod;
  std::string error;
  EXPECT_TRUE(parse_pod_json(json, options, &pod, &error)) << error;
  return pod;
}

std::string field(const StringPairs& fields, const std::string& key) {
  for (const auto& [k, v] : fields) {
    if (k == key) return v;
  }
  return "<absent>";
}

TEST(PodMetadata, ReadsWhatIsEmittedFromARealPod) {
  const PodMetadata pod = parse(pod_json(PodSpec{}));
  EXPECT_EQ(pod.name, "web-7d4b9c8f6d-x2x9q");
  EXPECT_EQ(pod.namespace_name, "shop");
  EXPECT_EQ(pod.uid, "5f0f5a9e-0b6d-4c1e-9a7d-2f7f7e0d1c11");
  EXPECT_EQ(pod.resource_version, "1001");
  EXPECT_EQ(pod.node, "node-1");
  EXPECT_EQ(pod.ip, "10.244.1.17");
  EXPECT_EQ(pod.labels, (StringPairs{{"app", "web"},
                                     {"app.kubernetes.io/name", "web"},
                                     {"app.kubernetes.io/part-of", "shop"},
                                     {"pod-template-hash", "7d4b9c8f6d"},
                                     {"team", "checkout"}}));
  // No annotation glob: none kept.
  EXPECT_TRUE(pod.annotations.empty());
  EXPECT_EQ(pod.images, (StringPairs{{"web", "registry.example.com/shop/web:1.4.2"},
                                     {"envoy", "envoyproxy/envoy:v1.29.1"}}));
  EXPECT_EQ(pod.owner_kind, OwnerKind::ReplicaSet);
  EXPECT_EQ(pod.owner_name, "web-7d4b9c8f6d");
  EXPECT_EQ(pod.owner_parent, "web");
  EXPECT_FALSE(pod.deleted);
}

TEST(PodMetadata, FieldsOfAContainerFile) {
  PodSpec spec;
  spec.labels = {
      {"app.kubernetes.io/name", "web"}, {"pod-template-hash", "7d4b9c8f6d"}, {"node-role", ""}};
  const PodMetadata pod = parse(pod_json(spec));
  StringPairs fields;
  append_pod_fields(pod, "envoy", fields);
  EXPECT_EQ(fields, (StringPairs{{"kubernetes.pod.uid", "5f0f5a9e-0b6d-4c1e-9a7d-2f7f7e0d1c11"},
                                 {"kubernetes.pod.ip", "10.244.1.17"},
                                 {"kubernetes.node.name", "node-1"},
                                 {"kubernetes.deployment.name", "web"},
                                 {"kubernetes.replicaset.name", "web-7d4b9c8f6d"},
                                 {"container.image.name", "envoyproxy/envoy:v1.29.1"}}));
  // Labels are kept as written, empty values too (they go into a map, not dotted fields).
  EXPECT_EQ(pod.labels, (StringPairs{{"app.kubernetes.io/name", "web"},
                                     {"node-role", ""},
                                     {"pod-template-hash", "7d4b9c8f6d"}}));
  // A container the pod does not list has no image field.
  StringPairs other;
  append_pod_fields(pod, "sidecar", other);
  EXPECT_EQ(field(other, "container.image.name"), "<absent>");
}

TEST(PodMetadata, WorkloadFromTheControllingOwner) {
  struct Case {
    std::string kind, owner, hash;
    OwnerKind expect_kind;
    std::string expect_parent;
    std::string workload_field, workload_value, parent_field;
  };
  const Case cases[] = {
      {"ReplicaSet", "web-7d4b9c8f6d", "7d4b9c8f6d", OwnerKind::ReplicaSet, "web",
       "kubernetes.replicaset.name", "web-7d4b9c8f6d", "kubernetes.deployment.name"},
      // A ReplicaSet made by hand: its pods have no pod-template-hash, so no Deployment.
      {"ReplicaSet", "frontend", "", OwnerKind::ReplicaSet, "", "kubernetes.replicaset.name",
       "frontend", "kubernetes.deployment.name"},
      // A hash that is not the name's suffix names no Deployment either.
      {"ReplicaSet", "web-abc", "7d4b9c8f6d", OwnerKind::ReplicaSet, "",
       "kubernetes.replicaset.name", "web-abc", "kubernetes.deployment.name"},
      {"StatefulSet", "db", "", OwnerKind::StatefulSet, "", "kubernetes.statefulset.name", "db",
       ""},
      {"DaemonSet", "fluent", "", OwnerKind::DaemonSet, "", "kubernetes.daemonset.name", "fluent",
       ""},
      {"Job", "backup-29000000", "", OwnerKind::Job, "backup", "kubernetes.job.name",
       "backup-29000000", "kubernetes.cronjob.name"},
      // A hand-made Job with a short number is not taken for a CronJob's.
      {"Job", "migrate-2", "", OwnerKind::Job, "", "kubernetes.job.name", "migrate-2",
       "kubernetes.cronjob.name"},
      {"Node", "node-1", "", OwnerKind::Other, "", "", "", ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.kind + " " + c.owner);
    PodSpec spec;
    spec.owner_kind = c.kind;
    spec.owner_name = c.owner;
    spec.labels = {{"app", "x"}};
    if (!c.hash.empty()) spec.labels.emplace_back("pod-template-hash", c.hash);
    const PodMetadata pod = parse(pod_json(spec));
    EXPECT_EQ(pod.owner_kind, c.expect_kind);
    EXPECT_EQ(pod.owner_parent, c.expect_parent);
    StringPairs fields;
    append_pod_fields(pod, "web", fields);
    if (!c.workload_field.empty()) {
      EXPECT_EQ(field(fields, c.workload_field), c.workload_value);
    }
    if (!c.parent_field.empty()) {
      EXPECT_EQ(field(fields, c.parent_field),
                c.expect_parent.empty() ? "<absent>" : c.expect_parent);
    }
  }
  PodSpec bare;
  bare.owner_kind = "";
  const PodMetadata pod = parse(pod_json(bare));
  EXPECT_EQ(pod.owner_kind, OwnerKind::None);
}

TEST(PodMetadata, ControllerOwnerWinsOverOthers) {
  const std::string json = R"({"kind":"Pod","metadata":{"name":"p","namespace":"n","uid":"u",
    "ownerReferences":[{"kind":"ConfigMap","name":"c"},
                       {"kind":"StatefulSet","name":"db","controller":true}]}})";
  const PodMetadata pod = parse(json);
  EXPECT_EQ(pod.owner_kind, OwnerKind::StatefulSet);
  EXPECT_EQ(pod.owner_name, "db");
}

TEST(PodMetadata, DeriveOwnerParentEdges) {
  EXPECT_EQ(derive_owner_parent(OwnerKind::ReplicaSet, "a-b-5d9f", "5d9f"), "a-b");
  EXPECT_EQ(derive_owner_parent(OwnerKind::ReplicaSet, "-5d9f", "5d9f"), "");
  EXPECT_EQ(derive_owner_parent(OwnerKind::ReplicaSet, "5d9f", "5d9f"), "");
  EXPECT_EQ(derive_owner_parent(OwnerKind::Job, "nightly-report-28999999", ""), "nightly-report");
  EXPECT_EQ(derive_owner_parent(OwnerKind::Job, "-28999999", ""), "");
  EXPECT_EQ(derive_owner_parent(OwnerKind::Job, "x-2899999a", ""), "");
  EXPECT_EQ(derive_owner_parent(OwnerKind::StatefulSet, "db-12345678", ""), "");
}

TEST(PodMetadata, AnnotationsOnlyByGlobAndNeverTheLastAppliedUnlessSelected) {
  PodSpec spec;
  spec.last_applied_bytes = 200 << 10;
  spec.annotations = {{"prometheus.io/scrape", "true"},
                      {"prometheus.io/port", "9102"},
                      {"team.example.com/owner", "ops \"core\""}};
  PodExtractOptions options;
  options.annotation_globs = {"prometheus.io/*", "*/owner"};
  const PodMetadata pod = parse(pod_json(spec), options);
  EXPECT_EQ(pod.annotations, (StringPairs{{"prometheus.io/port", "9102"},
                                          {"prometheus.io/scrape", "true"},
                                          {"team.example.com/owner", "ops \"core\""}}));
  EXPECT_LT(pod.memory_bytes(), 4096U);

  options.annotation_globs = {"kubectl.kubernetes.io/*"};
  const PodMetadata selected = parse(pod_json(spec), options);
  ASSERT_EQ(selected.annotations.size(), 1U);
  EXPECT_GT(selected.annotations[0].second.size(), 200U << 10);
  EXPECT_EQ(selected.annotations[0].second.substr(0, 16), R"({"apiVersion":"v)");
}

TEST(PodMetadata, LabelsOffStillNamesTheDeployment) {
  PodExtractOptions options;
  options.labels = false;
  const PodMetadata pod = parse(pod_json(PodSpec{}), options);
  EXPECT_TRUE(pod.labels.empty());
  EXPECT_EQ(pod.owner_parent, "web");
}

TEST(PodMetadata, HintsAreReadParsedAndKeptPerContainer) {
  PodSpec spec;
  spec.annotations = {{"sluice.io/exclude", "true"},
                      {"sluice.io/parser", "logfmt"},
                      {"sluice.io/multiline", "java"},
                      {"sluice.io/parser-envoy", "json"},
                      {"sluice.io/unknown", "x"}};
  const PodMetadata pod = parse(pod_json(spec));
  EXPECT_TRUE(pod.hints.exclude);
  EXPECT_EQ(pod.hints.parser, "logfmt");
  EXPECT_EQ(pod.hints.multiline, "java");
  EXPECT_EQ(pod.hints.parser_for("envoy"), "json");
  EXPECT_EQ(pod.hints.parser_for("web"), "logfmt");
  // Hints are not annotations: none is emitted unless a glob selects it.
  EXPECT_TRUE(pod.annotations.empty());

  spec.annotations = {{"sluice.io/exclude", "false"}};
  EXPECT_FALSE(parse(pod_json(spec)).hints.exclude);

  PodExtractOptions off;
  off.hints = false;
  spec.annotations = {{"sluice.io/exclude", "true"}, {"sluice.io/parser", "json"}};
  const PodMetadata ignored = parse(pod_json(spec), off);
  EXPECT_FALSE(ignored.hints.exclude);
  EXPECT_TRUE(ignored.hints.parser.empty());
}

TEST(PodMetadata, InitAndEphemeralContainersHaveImagesToo) {
  const std::string json = R"({"kind":"Pod","metadata":{"name":"p","namespace":"n","uid":"u"},
    "spec":{"initContainers":[{"name":"init","image":"busybox:1.36"}],
            "containers":[{"name":"app","image":"app:2"}],
            "ephemeralContainers":[{"name":"debugger","image":"nicolaka/netshoot"}]}})";
  const PodMetadata pod = parse(json);
  EXPECT_EQ(pod.image_of("init"), "busybox:1.36");
  EXPECT_EQ(pod.image_of("app"), "app:2");
  EXPECT_EQ(pod.image_of("debugger"), "nicolaka/netshoot");
}

TEST(PodMetadata, StatusObjectsAndBrokenJsonAreRefused) {
  PodMetadata pod;
  std::string error;
  EXPECT_FALSE(parse_pod_json(
      R"({"kind":"Status","apiVersion":"v1","status":"Failure","message":"pods \"x\" not found","reason":"NotFound","code":404})",
      {}, &pod, &error));
  EXPECT_NE(error.find("Status"), std::string::npos) << error;
  error.clear();
  EXPECT_FALSE(parse_pod_json(R"({"kind":"Pod","metadata":{"labels":{"a":1}}})", {}, &pod, &error));
  EXPECT_NE(error.find("labels value is not a string"), std::string::npos) << error;
  error.clear();
  EXPECT_FALSE(parse_pod_json(R"({"kind":"Pod","metadata":)", {}, &pod, &error));
  EXPECT_FALSE(error.empty());
}

TEST(PodMetadata, StatusHeadOfAnErrorEvent) {
  const std::string json =
      R"js({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 1 (5)","reason":"Expired","code":410})js";
  simdjson::ondemand::parser parser;
  const simdjson::padded_string padded(json);
  simdjson::ondemand::document doc;
  simdjson::ondemand::object object;
  ASSERT_FALSE(parser.iterate(padded).get(doc));
  ASSERT_FALSE(doc.get_object().get(object));
  PodMetadata pod;
  ObjectHead head;
  std::string error;
  ASSERT_TRUE(read_pod(object, {}, &pod, &head, &error)) << error;
  EXPECT_EQ(head.kind, "Status");
  EXPECT_EQ(head.code, 410);
  EXPECT_EQ(head.message, "too old resource version: 1 (5)");
}

TEST(PodMetadata, GlobMatchCrossesSlashes) {
  EXPECT_TRUE(glob_match("prometheus.io/*", "prometheus.io/port"));
  EXPECT_TRUE(glob_match("*", "a/b/c"));
  EXPECT_TRUE(glob_match("app.kubernetes.io/[nv]*", "app.kubernetes.io/name"));
  EXPECT_FALSE(glob_match("prometheus.io/*", "kubectl.kubernetes.io/last-applied-configuration"));
}

// fnmatch() reads C strings: a key with a NUL byte (which JSON can carry as \u0000) must not
// match a glob by the part before it.
TEST(PodMetadata, GlobNeverMatchesPastANulByte) {
  EXPECT_FALSE(
      glob_match("app.kubernetes.io/name", std::string_view("app.kubernetes.io/name\0x", 24)));
  EXPECT_FALSE(glob_match(std::string_view("a\0b", 3), "a"));
  const std::string json =
      R"({"kind":"Pod","metadata":{"uid":"u","annotations":)"
      R"({"app.kubernetes.io/name\u0000evil":"1","app.kubernetes.io/name":"2"}}})";
  PodExtractOptions options;
  options.annotation_globs = {"app.kubernetes.io/name"};
  EXPECT_EQ(parse(json, options).annotations, (StringPairs{{"app.kubernetes.io/name", "2"}}));
}

// A hostile or buggy API server may write a key twice: each map keeps it once, with the last
// value (as Go's encoding/json reads it), so an event never carries a label twice.
TEST(PodMetadata, KeyWrittenTwiceKeepsTheLastValueOnce) {
  const std::string json = R"({"kind":"Pod","metadata":{"uid":"u",)"
                           R"("labels":{"app":"a","team":"t","app":"b"},)"
                           R"("annotations":{"x/y":"1","sluice.io/parser-envoy":"json",)"
                           R"("x/y":"2","sluice.io/parser-envoy":"logfmt","x/y":"3"}}})";
  PodExtractOptions options;
  options.annotation_globs = {"*"};
  const PodMetadata pod = parse(json, options);
  EXPECT_EQ(pod.labels, (StringPairs{{"app", "b"}, {"team", "t"}}));
  EXPECT_EQ(pod.annotations, (StringPairs{{"sluice.io/parser-envoy", "logfmt"}, {"x/y", "3"}}));
  EXPECT_EQ(pod.hints.container_parsers, (StringPairs{{"envoy", "logfmt"}}));
  EXPECT_EQ(pod.hints.parser_for("envoy"), "logfmt");
}

}  // namespace
}  // namespace sluice::kube
