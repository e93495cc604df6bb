#include "sources/container/kubernetes_path.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace sluice {
namespace {

const std::string kId = "8a9f3b6c2d1e0f4a5b6c7d8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f9012345";

using Fields = std::vector<std::pair<std::string, std::string>>;

TEST(KubernetesPath, ContainerSymlinkIsReadFromTheRight) {
  // Pod names hold '-' and '.', container names '-': only the id and '_' delimit.
  auto meta = kubernetes_from_path(
      "/var/log/containers/session-db-fdd649d68-cq5sp.v2_socks_"
      "istio-proxy-" +
      kId + ".log");
  ASSERT_TRUE(meta);
  EXPECT_EQ(meta->pod_name, "session-db-fdd649d68-cq5sp.v2");
  EXPECT_EQ(meta->namespace_name, "socks");
  EXPECT_EQ(meta->container_name, "istio-proxy");
  EXPECT_EQ(meta->container_id, kId);
  EXPECT_EQ(meta->pod_uid, "");
  EXPECT_EQ(kubernetes_fields(*meta),
            (Fields{{"kubernetes.pod.name", "session-db-fdd649d68-cq5sp.v2"},
                    {"kubernetes.namespace", "socks"},
                    {"kubernetes.container.name", "istio-proxy"},
                    {"container.id", kId}}));
  // Only the name matters, wherever the file is (a copy, a mounted volume, a relative path).
  EXPECT_TRUE(kubernetes_from_path("/mnt/node1/logs/a_b_c-" + kId + ".log"));
  EXPECT_TRUE(kubernetes_from_path("a_b_c-" + kId + ".log"));
}

TEST(KubernetesPath, PodDirectoryWithUid) {
  const std::string dir =
      "/var/log/pods/kube-system_coredns-5d78c9869d-x7k2p_0b3c1f9e-2a4d-4c5e-9f1a-7e6d5c4b3a21/"
      "coredns/";
  for (const char* name :
       {"0.log", "12.log", "0.log.20240102-150405", "0.log.20240102-150405.gz"}) {
    SCOPED_TRACE(name);
    auto meta = kubernetes_from_path(dir + name);
    ASSERT_TRUE(meta);
    EXPECT_EQ(meta->namespace_name, "kube-system");
    EXPECT_EQ(meta->pod_name, "coredns-5d78c9869d-x7k2p");
    EXPECT_EQ(meta->pod_uid, "0b3c1f9e-2a4d-4c5e-9f1a-7e6d5c4b3a21");
    EXPECT_EQ(meta->container_name, "coredns");
    EXPECT_EQ(meta->container_id, "");
    EXPECT_EQ(kubernetes_fields(*meta),
              (Fields{{"kubernetes.pod.name", "coredns-5d78c9869d-x7k2p"},
                      {"kubernetes.pod.uid", "0b3c1f9e-2a4d-4c5e-9f1a-7e6d5c4b3a21"},
                      {"kubernetes.namespace", "kube-system"},
                      {"kubernetes.container.name", "coredns"}}));
  }
  // Static pods carry a config hash instead of a UUID.
  auto mirror = kubernetes_from_path(
      "/var/log/pods/kube-system_etcd-node1_2c5b8a7e3f1d4c6b9a0e8d7f6c5b4a39/etcd/3.log");
  ASSERT_TRUE(mirror);
  EXPECT_EQ(mirror->pod_uid, "2c5b8a7e3f1d4c6b9a0e8d7f6c5b4a39");
}

TEST(KubernetesPath, DockerContainerDirectoryGivesTheIdOnly) {
  for (const std::string& name : {kId + "-json.log", kId + "-json.log.1"}) {
    std::string path = "/var/lib/docker/containers/";
    path += kId;
    path += '/';
    path += name;
    auto meta = kubernetes_from_path(path);
    ASSERT_TRUE(meta) << name;
    EXPECT_EQ(kubernetes_fields(*meta), (Fields{{"container.id", kId}}));
  }
}

TEST(KubernetesPath, AnythingElseIsNotRecognised) {
  const std::string short_id = kId.substr(1);
  const std::string bad_hex = "g" + kId.substr(1);
  const std::vector<std::string> paths = {
      "",
      "/",
      "/var/log/syslog",
      "/var/log/containers/",
      "/var/log/containers/a_b_c-" + short_id + ".log",  // 63 hex digits
      "/var/log/containers/a_b_c-" + bad_hex + ".log",
      "/var/log/containers/a_b_c_" + kId + ".log",    // '_' before the id
      "/var/log/containers/a_b-" + kId + ".log",      // two parts
      "/var/log/containers/a_b_c_d-" + kId + ".log",  // four parts
      "/var/log/containers/_b_c-" + kId + ".log",     // an empty part
      "/var/log/containers/a_b_c-" + kId + ".txt",
      "/var/log/containers/a_b_c-" + kId + ".log.1",
      "/var/log/pods/ns_pod_0b3c1f9e-2a4d/c/x.log",  // not a number
      "/var/log/pods/ns_pod_0b3c1f9e-2a4d/c/0.logx",
      "/var/log/pods/ns_pod_0b3c1f9e-2a4d/c/0.log.",
      "/var/log/pods/ns_pod_not-a-uid!/c/0.log",
      "/var/log/pods/ns_pod/c/0.log",               // no uid
      "/var/log/pods/ns_pod_0b3c1f9e-2a4d//0.log",  // no container
      "0.log",
      "/var/lib/docker/containers/" + kId + "/" + short_id + "-json.log",
      "/var/lib/docker/containers/" + short_id + "/" + short_id + "-json.log",
      "/var/lib/docker/containers/" + kId + "/" + kId + ".log",
      // The corpus names its fluent-bit samples <namespace>_<pod>_<container>.log, which is not
      // a name kubelet writes (no container id).
      "containers/fluent-bit_socks_session-db-fdd649d68-cq5sp_istio-proxy.log",
  };
  for (const std::string& path : paths) EXPECT_FALSE(kubernetes_from_path(path)) << path;
}

}  // namespace
}  // namespace sluice
