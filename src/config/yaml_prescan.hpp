#pragma once
// Limits a config's YAML text must meet before yaml-cpp parses it. yaml-cpp builds the whole
// node tree in memory (about 400 bytes per value) and recurses once per nesting level: 1 MB of
// `[1,1,...]` takes 230 MB, 5 MB of `[` more than a GB, and deep nesting exhausts the stack. One
// cheap pass over the text refuses what would, with the line and column where a limit is passed.
#include <cstddef>
#include <string>
#include <string_view>

#include <yaml-cpp/yaml.h>

namespace sluice {

struct ConfigLimits {
  size_t max_bytes = size_t{16} << 20;  // 16 MiB
  int max_depth = 64;                   // nested mappings, sequences and flow collections
  size_t max_values = 100'000;          // scalars, collections and aliases
};

// Throws ConfigError (file:line:col) for a NUL byte, nesting deeper than max_depth or more than
// max_values values. The depth and value counts follow YAML's structure closely enough to err
// on the side of counting more: quoted and block scalars and comments are skipped; a plain
// scalar's brackets only count where a flow collection may start.
void check_yaml_limits(std::string_view text, const std::string& file, const ConfigLimits& limits);

// Every scalar of a parsed config, keys included: a NUL byte (written as an escape such as "\0")
// is an error at its line and column. Each collection is visited once, however many aliases
// refer to it.
void reject_nul_scalars(const YAML::Node& root, const std::string& file);

}  // namespace sluice
