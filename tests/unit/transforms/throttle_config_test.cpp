// The throttle transform's options as a config file gives them: defaults, and errors that name
// the file, line and column of the option at fault.
#include <gtest/gtest.h>

#include <fstream>

#include "config/factory.hpp"
#include "config/topology.hpp"
#include "options/config_error.hpp"
#include "support/temp_dir.hpp"
#include "transforms/throttle.hpp"

namespace sluice {
namespace {

class ThrottleConfig : public ::testing::Test {
 protected:
  // The config with `options` (indented lines) under transform `limit`; its path is `file_`.
  std::string yaml(const std::string& options) {
    return "sources:\n  in: { type: stdin }\ntransforms:\n  limit:\n    type: throttle\n"
           "    inputs: [in]\n" +
           options + "sinks:\n  out: { type: stdout, inputs: [limit] }\n";
  }
  BuiltPipeline build(const std::string& options) {
    std::ofstream(file_) << yaml(options);
    TopologyInputs in;
    in.config_path = file_;
    in.env = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
    Topology t = load_topology(in);
    BuildContext ctx;
    ctx.host_name = "h";
    ctx.env = in.env;
    return build_pipeline(t, ctx);
  }
  TokenBuckets::Limits limits(const std::string& options) {
    BuiltPipeline built = build(options);
    auto* throttle = dynamic_cast<const ThrottleTransform*>(built.transforms.at(0).transform.get());
    EXPECT_NE(throttle, nullptr);
    return throttle ? throttle->limits() : TokenBuckets::Limits{};
  }
  // The error message, or "" when the config builds.
  std::string error(const std::string& options) {
    try {
      build(options);
      return "";
    } catch (const ConfigError& e) {
      return e.what();
    }
  }
  testing::TempDir tmp_{"sluice-throttle-config"};
  std::string file_ = tmp_.at("throttle.yaml");
};

TEST_F(ThrottleConfig, DefaultsAndFractionalRates) {
  TokenBuckets::Limits l = limits("    events_per_second: 0.5\n");
  EXPECT_EQ(l.events_per_second, 0.5);
  EXPECT_EQ(l.burst, 1);  // rounded up, at least 1
  EXPECT_EQ(l.max_keys, 10'000u);
  EXPECT_EQ(l.max_metric_keys, 100u);
  l = limits("    events_per_second: 2.5\n");
  EXPECT_EQ(l.burst, 3);
  l = limits(
      "    events_per_second: 1e3\n    burst: 50\n    max_keys: 7\n    max_metric_keys: 0\n"
      "    key: '{{ kubernetes.namespace }}/{{ kubernetes.pod.name }}'\n"
      "    exclude: 'level >= error'\n");
  EXPECT_EQ(l.events_per_second, 1000);
  EXPECT_EQ(l.burst, 50);
  EXPECT_EQ(l.max_keys, 7u);
  EXPECT_EQ(l.max_metric_keys, 0u);
}

TEST_F(ThrottleConfig, ErrorsNameFileLineAndColumn) {
  std::string e = error("    burst: 3\n");
  EXPECT_NE(e.find(file_ + ":5:5: transform `limit`: `events_per_second` is required"),
            std::string::npos)
      << e;
  e = error("    events_per_secnd: 3\n");  // a typo is named as such, not as a missing option
  EXPECT_NE(e.find(":7:5: transform `limit`: unknown key `events_per_secnd`"), std::string::npos)
      << e;
  EXPECT_NE(e.find("did you mean `events_per_second`"), std::string::npos) << e;
  for (const char* bad : {"-1", "0", "0.0", "1e10"}) {
    e = error(std::string("    events_per_second: ") + bad + "\n");
    EXPECT_NE(e.find(":7:24: transform `limit`: `events_per_second` must be greater than 0"),
              std::string::npos)
        << bad << ": " << e;
  }
  for (const char* bad : {"lots", "nan", "inf", "1.5x", "''"}) {
    e = error(std::string("    events_per_second: ") + bad + "\n");
    EXPECT_NE(e.find("`events_per_second` must be a number"), std::string::npos)
        << bad << ": " << e;
  }
  e = error("    events_per_second: 1\n    burst: 0\n");
  EXPECT_NE(e.find(":8:12: transform `limit`: `burst` must be between 1 and"), std::string::npos)
      << e;
  e = error("    events_per_second: 1\n    key: '{{ kubernetes.pod.name'\n");
  EXPECT_NE(e.find(":8:10: transform `limit`: invalid `key`: unclosed `{{`"), std::string::npos)
      << e;
  e = error("    events_per_second: 1\n    exclude: 'level >>= warn'\n");
  EXPECT_NE(e.find(":8:14: transform `limit`: invalid `exclude`"), std::string::npos) << e;
  e = error("    events_per_second: 1\n    max_keys: 0\n");
  EXPECT_NE(e.find("`max_keys` must be between 1 and"), std::string::npos) << e;
}

}  // namespace
}  // namespace sluice
