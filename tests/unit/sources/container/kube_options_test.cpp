// The container source's `kubernetes:` block as a config file gives it: defaults from the
// environment a DaemonSet's pod has, the `auto` decision, and errors naming file:line:col.
#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "config/factory.hpp"
#include "config/topology.hpp"
#include "options/config_error.hpp"
#include "sources/container/kube_options.hpp"
#include "sources/file/file_source.hpp"
#include "support/temp_dir.hpp"

namespace sluice {
namespace {

class KubeOptionsConfig : public ::testing::Test {
 protected:
  // The config with `options` (lines indented by 4) under a source `pods` of `type`.
  std::string yaml(const std::string& options, const std::string& type) {
    return "sources:\n  pods:\n    type: " + type + "\n    include: ['" + tmp_.at("*.log") +
           "']\n" + options + "sinks:\n  out: { type: stdout, inputs: [pods] }\n";
  }
  BuiltPipeline build(const std::string& options, const std::string& type = "container") {
    std::ofstream(file_) << yaml(options, type);
    TopologyInputs in;
    in.config_path = file_;
    std::map<std::string, std::string> env = env_;
    in.env = [env](const std::string& name) -> std::optional<std::string> {
      auto it = env.find(name);
      if (it == env.end()) return std::nullopt;
      return it->second;
    };
    Topology t = load_topology(in);
    BuildContext ctx;
    ctx.host_name = "h";
    ctx.env = in.env;
    ctx.data_dir = tmp_.path();
    return build_pipeline(t, ctx);
  }
  kube::KubeOptions kube(const std::string& options) {
    BuiltPipeline built = build(options);
    auto* source = dynamic_cast<const FileSource*>(built.sources.at(0).source.get());
    EXPECT_NE(source, nullptr);
    if (source == nullptr || !source->options().kube) return {};
    return *source->options().kube;
  }
  // The error message, or "" when the config builds.
  std::string error(const std::string& options, const std::string& type = "container") {
    try {
      build(options, type);
      return "";
    } catch (const ConfigError& e) {
      return e.what();
    }
  }
  // What a pod of a DaemonSet has in its environment, with its token at `token_`.
  void in_cluster() {
    std::ofstream(token_) << "t0ken";
    env_["KUBERNETES_SERVICE_HOST"] = "10.96.0.1";
    env_["KUBERNETES_SERVICE_PORT"] = "6443";
    env_["NODE_NAME"] = "node-7";
  }
  testing::TempDir tmp_{"sluice-kube-options"};
  std::string file_ = tmp_.at("sluice.yaml");
  std::string token_ = tmp_.at("token");
  std::map<std::string, std::string> env_;
};

TEST_F(KubeOptionsConfig, DefaultsOutsideAClusterAreAutoAndOff) {
  kube::KubeOptions k = kube("");
  EXPECT_EQ(k.enabled, kube::Enabled::Auto);
  EXPECT_FALSE(k.active);
  EXPECT_NE(k.decision.find("KUBERNETES_SERVICE_HOST is not set"), std::string::npos) << k.decision;
  EXPECT_EQ(k.api_url, "");
  EXPECT_EQ(k.token_file, "/var/run/secrets/kubernetes.io/serviceaccount/token");
  EXPECT_EQ(k.ca_file, "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt");
  EXPECT_TRUE(k.labels);
  EXPECT_TRUE(k.annotations.empty());
  EXPECT_FALSE(k.namespace_labels);
  EXPECT_TRUE(k.hints);
  EXPECT_TRUE(k.namespaces.empty());
  EXPECT_TRUE(k.exclude_self);
  EXPECT_EQ(k.self.name, "");  // not in a pod: nothing to exclude
  EXPECT_EQ(k.watch_timeout_ns, 120'000'000'000);
  EXPECT_EQ(k.retry_backoff_min_ns, 500'000'000);
  EXPECT_EQ(k.retry_backoff_max_ns, 30'000'000'000);
}

TEST_F(KubeOptionsConfig, AutoIsOnInAClusterWithAReadableToken) {
  in_cluster();
  kube::KubeOptions k = kube("    kubernetes: { token_file: '" + token_ + "' }\n");
  EXPECT_TRUE(k.active) << k.decision;
  EXPECT_EQ(k.api_url, "https://10.96.0.1:6443");
  EXPECT_EQ(k.node_name, "node-7");
  EXPECT_EQ(k.token_file, token_);

  // The token unreadable (here: missing): off, saying which file.
  k = kube("    kubernetes: { token_file: '" + tmp_.at("missing") + "' }\n");
  EXPECT_FALSE(k.active);
  EXPECT_NE(k.decision.find("missing is not readable"), std::string::npos) << k.decision;

  // No node name: off rather than a watch of every pod of the cluster.
  env_.erase("NODE_NAME");
  k = kube("    kubernetes: { token_file: '" + token_ + "' }\n");
  EXPECT_FALSE(k.active);
  EXPECT_NE(k.decision.find("no node name"), std::string::npos) << k.decision;
}

TEST_F(KubeOptionsConfig, IPv6ServiceHostIsBracketed) {
  in_cluster();
  env_["KUBERNETES_SERVICE_HOST"] = "fd00::1";
  EXPECT_EQ(kube("").api_url, "https://[fd00::1]:6443");
}

TEST_F(KubeOptionsConfig, EveryOptionAsWritten) {
  kube::KubeOptions k = kube(
      "    kubernetes:\n"
      "      enabled: true\n"
      "      api_url: http://127.0.0.1:8001/\n"
      "      token_file: ''\n"
      "      ca_file: /etc/ca.pem\n"
      "      node_name: n1\n"
      "      labels: false\n"
      "      annotations: ['prometheus.io/*', team]\n"
      "      namespace_labels: true\n"
      "      hints: false\n"
      "      namespaces: { include: ['prod-*', default], exclude: [prod-secret] }\n"
      "      label_selector: app!=noisy\n"
      "      field_selector: status.phase=Running\n"
      "      exclude_self: false\n"
      "      watch_timeout: 5m\n"
      "      retry_backoff_min: 1s\n"
      "      retry_backoff_max: 4s\n");
  EXPECT_TRUE(k.active);
  EXPECT_EQ(k.enabled, kube::Enabled::On);
  EXPECT_EQ(k.api_url, "http://127.0.0.1:8001");  // trailing `/` dropped: paths are appended
  EXPECT_EQ(k.token_file, "");
  EXPECT_EQ(k.ca_file, "/etc/ca.pem");
  EXPECT_EQ(k.node_name, "n1");
  EXPECT_FALSE(k.labels);
  EXPECT_EQ(k.annotations, (std::vector<std::string>{"prometheus.io/*", "team"}));
  EXPECT_TRUE(k.namespace_labels);
  EXPECT_FALSE(k.hints);
  EXPECT_EQ(k.label_selector, "app!=noisy");
  EXPECT_EQ(k.field_selector, "status.phase=Running");
  EXPECT_FALSE(k.exclude_self);
  EXPECT_EQ(k.watch_timeout_ns, 300'000'000'000);
  EXPECT_EQ(k.retry_backoff_min_ns, 1'000'000'000);
  EXPECT_EQ(k.retry_backoff_max_ns, 4'000'000'000);
  EXPECT_TRUE(k.namespaces.admits("prod-web"));
  EXPECT_TRUE(k.namespaces.admits("default"));
  EXPECT_FALSE(k.namespaces.admits("prod-secret"));
  EXPECT_FALSE(k.namespaces.admits("kube-system"));
  kube::PodExtractOptions extract = k.extract_options();
  EXPECT_FALSE(extract.labels);
  EXPECT_FALSE(extract.hints);
  EXPECT_EQ(extract.annotation_globs, k.annotations);
}

TEST_F(KubeOptionsConfig, FalseIsOffEvenInACluster) {
  in_cluster();
  kube::KubeOptions k = kube("    kubernetes: { enabled: false, token_file: '" + token_ + "' }\n");
  EXPECT_FALSE(k.active);
  EXPECT_EQ(k.decision, "`enabled: false`");
}

TEST_F(KubeOptionsConfig, SelfIsThePodNameElseTheHostnameInACluster) {
  env_["POD_NAME"] = "sluice-x2x";
  env_["POD_NAMESPACE"] = "logging";
  kube::KubeOptions k = kube("");
  EXPECT_EQ(k.self.how, "POD_NAME");
  EXPECT_TRUE(k.self.is("logging", "sluice-x2x"));
  EXPECT_FALSE(k.self.is("other", "sluice-x2x"));
  EXPECT_FALSE(k.self.is("logging", "web-1"));

  env_.clear();
  in_cluster();
  env_["HOSTNAME"] = "sluice-abcde";
  k = kube("");
  EXPECT_EQ(k.self.how, "hostname");
  EXPECT_TRUE(k.self.is("any-namespace", "sluice-abcde"));
  EXPECT_FALSE(kube("    kubernetes: { exclude_self: false }\n").self.is("x", "sluice-abcde"));
}

TEST_F(KubeOptionsConfig, ErrorsNameTheLineAndColumn) {
  const std::string at = file_ + ":5:";
  std::string e = error("    kubernetes: { enabled: maybe }\n");
  EXPECT_NE(e.find(at), std::string::npos) << e;
  EXPECT_NE(e.find("`enabled` must be one of auto, true, false, not `maybe`"), std::string::npos)
      << e;

  e = error("    kubernetes: { enabled: true, node_name: n }\n");
  EXPECT_NE(e.find(at), std::string::npos) << e;
  EXPECT_NE(e.find("needs `api_url`"), std::string::npos) << e;
  e = error("    kubernetes: { enabled: true, api_url: 'https://k:6443' }\n");
  EXPECT_NE(e.find("needs `node_name`"), std::string::npos) << e;

  e = error("    kubernetes: { api_url: 'k8s:6443' }\n");
  EXPECT_NE(e.find(at), std::string::npos) << e;
  EXPECT_NE(e.find("`api_url` must start with https://"), std::string::npos) << e;

  e = error("    kubernetes: { lables: false }\n");
  EXPECT_NE(e.find("unknown key `lables`"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean `labels`"), std::string::npos) << e;

  e = error("    kubernetes: { labels: sometimes }\n");
  EXPECT_NE(e.find(at), std::string::npos) << e;

  e = error("    kubernetes: { namespaces: { include: [a], exlude: [b] } }\n");
  EXPECT_NE(e.find("unknown key `exlude`"), std::string::npos) << e;
  e = error("    kubernetes: { namespaces: [a] }\n");
  EXPECT_NE(e.find("`namespaces` must be a mapping"), std::string::npos) << e;
  e = error("    kubernetes: { watch_timeout: 1s }\n");
  EXPECT_NE(e.find("`watch_timeout` must be from 2s to 1h"), std::string::npos) << e;
  e = error("    kubernetes: { retry_backoff_min: 2s, retry_backoff_max: 1s }\n");
  EXPECT_NE(e.find("`retry_backoff_max` must be at least `retry_backoff_min`"), std::string::npos)
      << e;
  e = error("    kubernetes: { annotations: [''] }\n");
  EXPECT_NE(e.find("empty pattern"), std::string::npos) << e;
  e = error("    kubernetes: true\n");
  EXPECT_NE(e.find(at), std::string::npos) << e;
  EXPECT_NE(e.find("`kubernetes` must be a mapping"), std::string::npos) << e;
}

TEST_F(KubeOptionsConfig, OnlyContainerSourcesHaveIt) {
  std::string e = error("    kubernetes: { enabled: false }\n", "file");
  EXPECT_NE(e.find(file_ + ":5:"), std::string::npos) << e;
  EXPECT_NE(e.find("`kubernetes` is an option of `type: container` sources"), std::string::npos)
      << e;
  BuiltPipeline built = build("", "file");
  auto* source = dynamic_cast<const FileSource*>(built.sources.at(0).source.get());
  ASSERT_NE(source, nullptr);
  EXPECT_EQ(source->options().kube, nullptr);
}

}  // namespace
}  // namespace sluice
