// config/yaml_prescan and config/config_file: the limits refuse what they must, with line and
// column, and let ordinary YAML through (brackets in quotes, regexes and block scalars are text).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "config/config_file.hpp"
#include "config/yaml_prescan.hpp"
#include "options/config_error.hpp"
#include "support/temp_dir.hpp"

namespace sluice {

using testing::TempDir;
namespace {

std::string prescan_error(const std::string& text, ConfigLimits limits = {}) {
  try {
    check_yaml_limits(text, "c.yaml", limits);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

std::string repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

TEST(YamlPrescan, OrdinaryConfigsPass) {
  const char* configs[] = {
      "sources:\n  in: {type: stdin, pattern: '^\\[(?P<ts>[^]]+)\\] [[[[[[[[ \"'}\n",
      "a:\n  pattern: ^\\[\\[\\[\\[(x)\n  condition: level >= warn and msg =~ \"[[[[{{{{\"\n",
      "a: \"multi [[[[\n   line [[[[ \"\nb: 'it''s [[[['\n",
      "script: |\n  [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n"
      "      {{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{\n"
      "  end\nnext: 1\n",
      "# [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\nx: 1 # {{{{\n",
      "--- \n- a\n- [b, {c: d}, \"e,]\"]\n...\n",
      "url: http://h:1/a[b]c{d}\n",
  };
  for (const char* text : configs) EXPECT_EQ(prescan_error(text), "") << text;
}

TEST(YamlPrescan, DepthLimitNamesTheLimitAndWhere) {
  ConfigLimits limits;
  limits.max_depth = 8;
  EXPECT_EQ(prescan_error("a: " + repeat("[", 7) + repeat("]", 7), limits), "");
  std::string flow = prescan_error("a: " + repeat("[", 8) + repeat("]", 8), limits);
  EXPECT_NE(flow.find("c.yaml:1:11: nesting deeper than 8 levels"), std::string::npos) << flow;
  std::string maps = prescan_error("a: " + repeat("{a: ", 8) + "1" + repeat("}", 8), limits);
  EXPECT_NE(maps.find("deeper than 8 levels"), std::string::npos) << maps;
  std::string block;
  for (int i = 0; i < 10; ++i) block += std::string(static_cast<size_t>(i), ' ') + "a:\n";
  EXPECT_NE(prescan_error(block, limits).find("c.yaml:9:9: nesting deeper"), std::string::npos)
      << prescan_error(block, limits);
  EXPECT_NE(prescan_error(repeat("- ", 9) + "x\n", limits).find("deeper than 8"),
            std::string::npos);
  // Quoted and commented brackets do not count; a flow collection inside a block one does.
  EXPECT_EQ(prescan_error("a:\n  b: \"" + repeat("[", 50) + "\" # " + repeat("{", 50), limits), "");
}

TEST(YamlPrescan, ValueLimit) {
  ConfigLimits limits;
  limits.max_values = 100;
  std::string list = "x: [";
  for (int i = 0; i < 97; ++i) list += "1,";
  EXPECT_EQ(prescan_error(list + "1]", limits), "");  // x, the list and 97 + 1 items
  std::string error = prescan_error(list + "1, 2]", limits);
  EXPECT_NE(error.find("more than 100 values"), std::string::npos) << error;
}

TEST(YamlPrescan, NulByteWithLineAndColumn) {
  std::string text = "a: 1\nb: x";
  text += '\0';
  EXPECT_NE(prescan_error(text).find("c.yaml:2:5: a NUL byte"), std::string::npos);
}

TEST(YamlPrescan, NulEscapesAfterParsing) {
  for (const char* text : {"a: \"x\\0y\"", "a: [\"\\x00\"]", "{\"k\\u0000\": 1}"}) {
    EXPECT_THROW(reject_nul_scalars(YAML::Load(text), "c.yaml"), ConfigError) << text;
  }
  // Aliases are visited once: a "billion laughs" document is checked in linear time.
  std::string laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (char c = 'b'; c <= 'z'; ++c) {
    laughs += std::string(1, c) + ": &" + c + " [" +
              repeat(std::string("*") + static_cast<char>(c - 1) + ", ", 9) + "*" +
              static_cast<char>(c - 1) + "]\n";
  }
  EXPECT_NO_THROW(reject_nul_scalars(YAML::Load(laughs), "c.yaml"));
}

class ConfigFileTest : public ::testing::Test {
 protected:
  std::string error(const std::string& path, ConfigLimits limits = {}) {
    try {
      load_config_file(path, limits);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  }
  TempDir tmp_{"sluice-config-file"};
  std::string dir_ = tmp_.path();
};

TEST_F(ConfigFileTest, UnreadableFilesSayWhy) {
  EXPECT_NE(error(dir_).find("Is a directory"), std::string::npos);
  EXPECT_NE(error(dir_ + "/missing.yaml").find("No such file or directory"), std::string::npos);
  ASSERT_EQ(mkfifo((dir_ + "/fifo").c_str(), 0600), 0);
  EXPECT_NE(error(dir_ + "/fifo").find("not a regular file (a FIFO)"), std::string::npos);
  ASSERT_EQ(symlink((dir_ + "/gone").c_str(), (dir_ + "/link").c_str()), 0);
  EXPECT_NE(error(dir_ + "/link").find("a symbolic link to a missing file"), std::string::npos);
  EXPECT_NE(error("/dev/zero").find("a character device"), std::string::npos);
}

TEST_F(ConfigFileTest, SizeLimit) {
  std::string path = dir_ + "/big.yaml";
  std::ofstream(path) << "a: " << std::string(2000, 'x') << "\n";
  ConfigLimits limits;
  limits.max_bytes = 1024;
  EXPECT_NE(error(path, limits).find("at most 1024 bytes"), std::string::npos)
      << error(path, limits);
  limits.max_bytes = 4096;
  EXPECT_EQ(error(path, limits), "");
}

TEST(GuardConfigErrors, OtherExceptionsBecomeConfigErrors) {
  EXPECT_THROW(guard_config_errors([]() -> int { throw std::bad_alloc(); }), ConfigError);
  EXPECT_THROW(guard_config_errors([]() -> int { throw std::runtime_error("x"); }), ConfigError);
  try {
    guard_config_errors([]() -> int { throw ConfigError("f.yaml", 1, 2, "kept"); });
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "f.yaml:2:3: kept");
  }
}

}  // namespace
}  // namespace sluice
