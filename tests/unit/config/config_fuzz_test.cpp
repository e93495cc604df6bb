// Config inputs found with tests/fuzz/fuzz_config.cpp (the reproducers are kept in
// tests/fuzz/regressions/fuzz_config-*).
#include <gtest/gtest.h>

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string>
#include <vector>

#include "config/topology.hpp"
#include "options/config_error.hpp"
#include "options/map_reader.hpp"

namespace sluice {
namespace {

MapReader reader_for(const std::string& yaml) {
  return MapReader(YAML::Load(yaml), "sink `out`", "test.yaml",
                   [](const std::string&) -> std::optional<std::string> { return std::nullopt; });
}

// fuzz_config-size-and-duration-overflow: a size or duration too large for 64 bits went through
// llround, which gives LLONG_MIN: `health_sink_grace: 99999999999999999999d` became a negative
// duration and `buffer: {max_bytes: 99999999999999999999GiB}` a negative buffer bound.
TEST(ConfigFuzz, TooLargeSizesAndDurationsAreErrors) {
  MapReader r = reader_for(
      "big: 99999999999999999999GiB\nlong: 99999999999999999999d\n"
      "max: 9223372036854774784\nyears: 106751d\n");
  try {
    r.size("big", 0);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("too large"), std::string::npos) << e.what();
  }
  try {
    r.duration_ns("long", 0);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("too long"), std::string::npos) << e.what();
  }
  // 2^63 - 1024 (the largest double below 2^63) still fits; 106751 days is just below 2^63 ns.
  EXPECT_EQ(r.size("max", 0), 9223372036854774784ULL);
  EXPECT_EQ(r.duration_ns("years", 0), int64_t{106751} * 86400 * 1'000'000'000);
}

// A number with two dots was read up to the second one: `1.5.3KiB` passed as 1.5 KiB.
TEST(ConfigFuzz, NumbersWithTwoDotsAreErrors) {
  MapReader r = reader_for("size: 1.5.3KiB\nwait: 1.2.3s\nhalf: .5KiB\nok: 1.5KiB\n");
  EXPECT_THROW(r.size("size", 0), ConfigError);
  EXPECT_THROW(r.duration_ns("wait", 0), ConfigError);
  EXPECT_EQ(r.size("half", 0), 512u);
  EXPECT_EQ(r.size("ok", 0), 1536u);
}

// fuzz_config-sinks-url-auth-scalar-and-map: `auth=u&auth.password=p` in SLUICE_SINKS made
// `auth` a scalar, then indexed it: yaml-cpp threw its BadSubscript, which is no ConfigError, and
// terminated sluice. A key given twice silently lost one of its values.
TEST(ConfigFuzz, SinkUrlKeysSetTwiceAreErrors) {
  std::vector<ComponentDecl> sources(1);
  sources[0].name = "app";
  for (const char* urls : {
           "elasticsearch+http://es:9200/logs?auth=u&auth.password=p",
           "elasticsearch+http://es:9200/logs?auth.user=u&auth=x",
           "elasticsearch+http://es:9200/logs?auth.user=u&auth.user=v",
           "kafka://b:9092/logs?headers=x&headers.app=service",
           "stdout://?encoding=json&encoding=text",
           "file:///var/log/out.jsonl?path=/etc/passwd",
       }) {
    try {
      sinks_from_urls(urls, sources);
      ADD_FAILURE() << "no error for " << urls;
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("set twice"), std::string::npos) << e.what();
      // The URL may carry a password: the message does not repeat it.
      EXPECT_EQ(std::string(e.what()).find("auth.password=p"), std::string::npos) << e.what();
    }
  }
  auto sinks = sinks_from_urls(
      "elasticsearch+http://es:9200/logs?tls.verify=false&auth.user=u&auth.password=p", sources);
  ASSERT_EQ(sinks.size(), 1u);
  EXPECT_EQ(sinks[0].node["auth"]["user"].Scalar(), "u");
  EXPECT_EQ(sinks[0].node["auth"]["password"].Scalar(), "p");
  EXPECT_EQ(sinks[0].node["tls"]["verify"].Scalar(), "false");
}

}  // namespace
}  // namespace sluice
