#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>

#include "config/factory.hpp"
#include "config/topology.hpp"
#include "options/config_error.hpp"
#include "options/interpolate.hpp"
#include "support/temp_dir.hpp"

namespace sluice {
namespace {

EnvLookup fake_env(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(Interpolate, Forms) {
  EnvLookup env = fake_env({{"A", "alpha"}, {"EMPTY", ""}});
  EXPECT_EQ(interpolate("x-${A}-y", env), "x-alpha-y");
  EXPECT_EQ(interpolate("${B:-fallback}", env), "fallback");
  EXPECT_EQ(interpolate("${EMPTY:-fallback}", env), "fallback");
  EXPECT_EQ(interpolate("${A:-fallback}", env), "alpha");
  EXPECT_EQ(interpolate("${B:-}", env), "");
  EXPECT_EQ(interpolate("${EMPTY}", env), "");  // set and empty is a value
  EXPECT_EQ(interpolate("cost $$5 and $HOME", env), "cost $5 and $HOME");
  EXPECT_EQ(interpolate("${A:?needed}", env), "alpha");
}

TEST(Interpolate, Errors) {
  EnvLookup env = fake_env({});
  try {
    interpolate("${TOKEN:?set the API token}", env);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("TOKEN"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("set the API token"), std::string::npos);
  }
  try {
    interpolate("${OUT_DIR}/o.jsonl", env);
    FAIL() << "an unset ${VAR} without a default must be an error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("OUT_DIR is not set"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("${OUT_DIR:-}"), std::string::npos) << e.what();
  }
  EXPECT_THROW(interpolate("${UNCLOSED", env), std::invalid_argument);
  EXPECT_THROW(interpolate("${1BAD}", env), std::invalid_argument);
  EXPECT_THROW(interpolate("${A:+x}", env), std::invalid_argument);
}

class ConfigTest : public ::testing::Test {
 protected:
  std::string write(const std::string& yaml) {
    const std::string name = tmp_.at("config-" + std::to_string(++files_) + ".yaml");
    std::ofstream(name) << yaml;
    return name;
  }
  // Loads and builds; returns the error message or "" when valid.
  std::string check(const std::string& yaml, std::map<std::string, std::string> env = {},
                    std::vector<std::string> command = {}) {
    TopologyInputs in;
    in.config_path = write(yaml);
    in.exec_command = std::move(command);
    in.env = fake_env(std::move(env));
    try {
      Topology t = load_topology(in);
      BuildContext ctx;
      ctx.host_name = "h";
      ctx.env = in.env;
      build_pipeline(t, ctx);
      return "";
    } catch (const ConfigError& e) {
      return e.what();
    }
  }
  testing::TempDir tmp_{"sluice-config"};
  int files_ = 0;
};

TEST_F(ConfigTest, MinimalConfigIsValid) {
  EXPECT_EQ(check("sources:\n  in: { type: stdin }\nsinks:\n  out: { type: file, inputs: [in], "
                  "path: /tmp/out.jsonl }\n"),
            "");
}

TEST_F(ConfigTest, UnknownKeyNamesLineColumnAndSuggestion) {
  std::string e = check(
      "sources:\n  in: { type: stdin }\nsinks:\n  out:\n    type: file\n    inputs: [in]\n"
      "    pth: /tmp/x\n");
  EXPECT_NE(e.find(":7:5: "), std::string::npos) << e;
  EXPECT_NE(e.find("unknown key `pth`"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean `path`"), std::string::npos) << e;
}

TEST_F(ConfigTest, UnknownTopLevelKey) {
  std::string e = check("sorces: {}\n");
  EXPECT_NE(e.find(":1:1: unknown top-level key `sorces`"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean `sources`"), std::string::npos) << e;
}

TEST_F(ConfigTest, YamlSyntaxErrorIsLocated) {
  std::string e = check("sources:\n  in: { type: stdin\n");
  EXPECT_EQ(e.rfind(tmp_.path() + "/config-", 0), 0u) << e;
  EXPECT_NE(e.find(".yaml"), 0u);
  EXPECT_TRUE(e.find(":2:") != std::string::npos || e.find(":3:") != std::string::npos) << e;
}

TEST_F(ConfigTest, TopologyErrors) {
  const std::string src = "sources:\n  in: { type: stdin }\n";
  EXPECT_NE(check(src + "sinks:\n  out: { type: file, inputs: [nope], path: /tmp/x }\n")
                .find("unknown input `nope`"),
            std::string::npos);
  EXPECT_NE(check(src + "  other: { type: stdin }\nsinks:\n  out: { type: stdout, inputs: [in] }\n")
                .find("`other` is not used"),
            std::string::npos);
  EXPECT_NE(check(src + "transforms:\n  a: { type: filter, inputs: [b], condition: 'x exists' }\n"
                        "  b: { type: filter, inputs: [a], condition: 'x exists' }\n"
                        "sinks:\n  out: { type: stdout, inputs: [a, in] }\n")
                .find("cycle"),
            std::string::npos);
  EXPECT_NE(check(src + "sinks:\n  in: { type: stdout, inputs: [in] }\n").find("more than one"),
            std::string::npos);
  EXPECT_NE(
      check(src + "sinks:\n  out: { type: fiel, inputs: [in] }\n").find("did you mean `file`"),
      std::string::npos);
  EXPECT_NE(check(src).find("no sinks"), std::string::npos);
}

TEST_F(ConfigTest, OptionValuesAreChecked) {
  const std::string src =
      "sources:\n  in: { type: stdin, parser: jsn }\nsinks:\n  out: { type: stdout, inputs: [in] "
      "}\n";
  EXPECT_NE(check(src).find("`parser` must be one of"), std::string::npos);
  EXPECT_NE(check("sources:\n  in: { type: stdin, timezone: Mars/Olympus }\nsinks:\n  out: { "
                  "type: stdout, inputs: [in] }\n")
                .find("unknown time zone"),
            std::string::npos);
  EXPECT_NE(
      check("sources:\n  in: { type: stdin }\ntransforms:\n  f: { type: filter, inputs: [in], "
            "condition: 'level >>= warn' }\nsinks:\n  out: { type: stdout, inputs: [f] }\n")
          .find("invalid `condition`"),
      std::string::npos);
  EXPECT_NE(check("sources:\n  in: { type: stdin }\nsinks:\n  out: { type: file, inputs: [in], "
                  "path: /tmp/x, buffer: { max_bytes: lots } }\n")
                .find("must be a size"),
            std::string::npos);
}

TEST_F(ConfigTest, SinkBuffersAreMemoryOrDisk) {
  auto with_buffer = [](const std::string& buffer) {
    return "sources:\n  in: { type: stdin }\nsinks:\n  out: { type: file, inputs: [in], "
           "path: /tmp/x, buffer: " +
           buffer + " }\n";
  };
  EXPECT_EQ(check(with_buffer("{ type: memory, max_bytes: 1MiB, when_full: drop_newest }")), "");
  EXPECT_EQ(check(with_buffer("{ type: disk, max_bytes: 1GiB, fsync: always, "
                              "fsync_interval: 200ms, segment_bytes: 64MiB }")),
            "");
  EXPECT_EQ(check(with_buffer("{ type: disk }")), "");
  EXPECT_NE(check(with_buffer("{ type: tape }")).find("`type` must be one of"), std::string::npos);
  EXPECT_NE(check(with_buffer("{ type: memory, fsync: always }")).find("needs `type: disk`"),
            std::string::npos);
  EXPECT_NE(check(with_buffer("{ type: disk, fsync: sometimes }")).find("`fsync` must be one of"),
            std::string::npos);
  EXPECT_NE(check(with_buffer("{ type: disk, max_bytes: 1MiB, segment_bytes: 1MiB }"))
                .find("at least twice its `segment_bytes`"),
            std::string::npos);
  EXPECT_NE(check(with_buffer("{ type: disk, segment_bytes: 1KiB }")).find("at least 64KiB"),
            std::string::npos);
  EXPECT_NE(check(with_buffer("{ type: disk, fsync_interval: 0s }")).find("must be > 0"),
            std::string::npos);
}

TEST_F(ConfigTest, EnvInterpolationInValues) {
  const std::string yaml =
      "sources:\n  in: { type: stdin }\nsinks:\n  out: { type: file, inputs: [in], path: "
      "\"${OUT_DIR:?set OUT_DIR}/x.jsonl\" }\n";
  EXPECT_EQ(check(yaml, {{"OUT_DIR", "/tmp"}}), "");
  std::string e = check(yaml);
  EXPECT_NE(e.find("set OUT_DIR"), std::string::npos) << e;
  EXPECT_NE(e.find(":4:"), std::string::npos) << e;
}

TEST_F(ConfigTest, CommandLineDefinesOrCompletesAppSource) {
  EXPECT_EQ(check("sinks:\n  out: { type: stdout, inputs: [app] }\n", {}, {"echo", "hi"}), "");
  EXPECT_EQ(check("sources:\n  app: { type: exec, passthrough: false }\nsinks:\n  out: { type: "
                  "stdout, inputs: [app] }\n",
                  {}, {"echo", "hi"}),
            "");
  EXPECT_NE(check("sources:\n  app: { type: exec, command: [ls] }\nsinks:\n  out: { type: "
                  "stdout, inputs: [app] }\n",
                  {}, {"echo"})
                .find("defined by `sluice run -- COMMAND`"),
            std::string::npos);
}

TEST(SinkUrls, ParsesFileAndStdout) {
  std::vector<ComponentDecl> sources{{"in", "stdin", {}, YAML::Node(), "x"}};
  auto sinks =
      sinks_from_urls("file:///var/log/out%20x.jsonl?encoding=raw, stdout://,stdout://", sources);
  ASSERT_EQ(sinks.size(), 3u);
  EXPECT_EQ(sinks[0].name, "file");
  EXPECT_EQ(sinks[0].node["path"].Scalar(), "/var/log/out x.jsonl");
  EXPECT_EQ(sinks[0].node["encoding"].Scalar(), "raw");
  EXPECT_EQ(sinks[0].inputs, std::vector<std::string>{"in"});
  EXPECT_EQ(sinks[1].name, "stdout");
  EXPECT_EQ(sinks[2].name, "stdout_2");
  EXPECT_THROW(sinks_from_urls("nonsense", sources), ConfigError);
  EXPECT_THROW(sinks_from_urls("file://relative/path", sources), ConfigError);
  EXPECT_THROW(sinks_from_urls("gopher://x", sources), ConfigError);
}

TEST(SinkUrls, SchemesComeFromTheComponentList) {
  std::vector<ComponentDecl> sources{{"in", "stdin", {}, YAML::Node(), "x"}};
  try {
    sinks_from_urls("gopher://x", sources);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "(this build supports file://, stdout://, kafka://, elasticsearch+http:// and "
                  "elasticsearch+https://)"),
              std::string::npos)
        << e.what();
  }
}

TEST(SinkUrls, DottedParametersFillTheMappingsTheSchemaDeclares) {
  std::vector<ComponentDecl> sources{{"in", "stdin", {}, YAML::Node(), "x"}};
  // `rotate` (file) and `buffer` (every sink) are mappings in their schemas.
  auto sinks = sinks_from_urls(
      "file:///tmp/x.jsonl?rotate.max_bytes=1MiB&buffer.type=disk&buffer.max_bytes=64MiB", sources);
  ASSERT_EQ(sinks.size(), 1u);
  EXPECT_EQ(sinks[0].node["rotate"]["max_bytes"].Scalar(), "1MiB");
  EXPECT_EQ(sinks[0].node["buffer"]["type"].Scalar(), "disk");
  EXPECT_EQ(sinks[0].node["buffer"]["max_bytes"].Scalar(), "64MiB");
  // `encoding` is not a mapping: the dotted key stays one (unknown) key.
  sinks = sinks_from_urls("stdout://?encoding.x=1", sources);
  EXPECT_TRUE(sinks[0].node["encoding.x"]);
}

}  // namespace
}  // namespace sluice
