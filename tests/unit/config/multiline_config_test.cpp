#include "config/multiline_config.hpp"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <memory>
#include <optional>
#include <string>

#include "options/config_error.hpp"
#include "options/map_reader.hpp"

// A source's `multiline` option: the short form, the mapping, and the errors.

namespace sluice {
namespace {

using Mode = MultilineOptions::Mode;
constexpr int64_t kMs = 1'000'000;

std::shared_ptr<const MultilineOptions> read(const std::string& yaml) {
  YAML::Node node = YAML::Load(yaml);
  MapReader reader(node, "source `in`", "test.yaml",
                   [](const std::string&) -> std::optional<std::string> { return std::nullopt; });
  auto options = read_multiline_options(reader);
  reader.finish();
  return options;
}

std::string config_error(const std::string& yaml) {
  try {
    read(yaml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(MultilineConfig, Reads) {
  EXPECT_EQ(read("{}"), nullptr);
  EXPECT_EQ(read("multiline: ~"), nullptr);
  auto java = read("multiline: java");
  ASSERT_TRUE(java);
  EXPECT_EQ(java->mode, Mode::Java);
  auto custom = read(
      "multiline: {start_pattern: '^\\d', flush_after: 250ms, max_lines: 20, max_bytes: 64KiB}");
  ASSERT_TRUE(custom);
  EXPECT_EQ(custom->mode, Mode::Custom);
  EXPECT_EQ(custom->start_pattern, "^\\d");
  EXPECT_EQ(custom->flush_after_ns, 250 * kMs);
  EXPECT_EQ(custom->max_lines, 20u);
  EXPECT_EQ(custom->max_bytes, 64u * 1024);
  auto go = read("multiline: {mode: go, flush_after: 2}");
  EXPECT_EQ(go->mode, Mode::Go);
  EXPECT_EQ(go->flush_after_ns, 2'000'000'000);
}

TEST(MultilineConfig, Errors) {
  auto has = [](const std::string& error, const std::string& part) {
    return error.find(part) != std::string::npos;
  };
  std::string e = config_error("multiline: {mode: ruby}");
  EXPECT_TRUE(has(e, "test.yaml:1:") && has(e, "java, python, go, custom")) << e;
  e = config_error("multiline: {mode: java, start_pattern: x}");
  EXPECT_TRUE(has(e, "only used with `mode: custom`")) << e;
  e = config_error("multiline:\n  mode: custom\n  start_pattern: '(oops'\n");
  EXPECT_TRUE(has(e, "test.yaml:3:") && has(e, "start_pattern")) << e;
  e = config_error("multiline: {mode: custom}");
  EXPECT_TRUE(has(e, "start_pattern")) << e;
  e = config_error("multiline: custom");
  EXPECT_TRUE(has(e, "patterns")) << e;
  e = config_error("multiline: {flush_after: 1s}");
  EXPECT_TRUE(has(e, "`mode` is required")) << e;
  e = config_error("multiline: {mode: java, max_line: 3}");
  EXPECT_TRUE(has(e, "unknown key `max_line`") && has(e, "max_lines")) << e;
  e = config_error("multiline: {mode: java, max_lines: 0}");
  EXPECT_TRUE(has(e, "max_lines")) << e;
  e = config_error("multiline: {mode: java, flush_after: soon}");
  EXPECT_TRUE(has(e, "flush_after")) << e;
}

}  // namespace
}  // namespace sluice
