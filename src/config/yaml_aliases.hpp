#pragma once
// Aliases (`*name`) make yaml-cpp share one node, so a small file can stand for a huge config: a
// 1 MB file with one 1 MB string and 200 aliases of it took 420 MB of RSS once sluice read the
// values, and "billion laughs" (ten aliases of ten aliases of ...) stands for gigabytes. The
// limits of ConfigLimits therefore apply to the config as its aliases expand it.
#include <cstddef>
#include <string>

#include <yaml-cpp/yaml.h>

#include "config/yaml_prescan.hpp"

namespace sluice {

// Throws ConfigError at the anchored node whose aliases take the config, written out in full,
// over limits.max_bytes (starting from `text_bytes`, the file's own size) or limits.max_values,
// or whose alias lies inside itself. Each node is measured once (aliases reuse its figure), so
// this costs one walk over the parsed tree.
void check_alias_expansion(const YAML::Node& root, const std::string& file, size_t text_bytes,
                           const ConfigLimits& limits);

}  // namespace sluice
