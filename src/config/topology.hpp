#pragma once
// The declared topology: named sources, transforms and sinks wired by `inputs`, from the YAML
// file, the command line (`-- cmd args` becomes source `app`) and SLUICE_SINKS. Validated as a
// DAG: unknown inputs, cycles, duplicate names and components that reach no sink are errors.
#include <optional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "options/descriptor.hpp"
#include "options/interpolate.hpp"

namespace sluice {

struct ComponentDecl {
  std::string name;
  std::string type;
  std::vector<std::string> inputs;  // transforms and sinks
  YAML::Node node;
  std::string file;  // for error messages: the config path or "SLUICE_SINKS"
};

struct Topology {
  std::string file;
  YAML::Node root;  // top-level mapping (global options are read from it)
  std::vector<ComponentDecl> sources;
  std::vector<ComponentDecl> transforms;
  std::vector<ComponentDecl> sinks;
};

struct TopologyInputs {
  std::optional<std::string> config_path;  // none: no file
  std::vector<std::string> exec_command;   // from `sluice run -- cmd args`
  std::optional<std::string> sinks_env;    // SLUICE_SINKS
  EnvLookup env;
};

// Throws ConfigError.
Topology load_topology(const TopologyInputs& inputs);

// The options of the config file's top level (`workers`, `data_dir`, ..., and the three
// sections), read by build_pipeline; `sluice describe config` prints them.
const std::vector<OptionSpec>& top_level_options();

// Sinks described by URLs: `file:///var/log/out.jsonl`, `stdout://`, `stdout://?encoding=text`.
// Query parameters become sink options. Every source is an input.
std::vector<ComponentDecl> sinks_from_urls(const std::string& urls,
                                           const std::vector<ComponentDecl>& sources);

// Human-readable wiring, printed by `sluice validate`.
std::string describe(const Topology& topology);

}  // namespace sluice
