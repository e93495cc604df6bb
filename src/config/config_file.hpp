#pragma once
// Reads and parses the config file within fixed limits (config/yaml_prescan.hpp): whatever the
// file is — missing, a directory, a FIFO with no writer, a device, 50 MB, 5 MB of `[`, a NUL
// byte — the result is a ConfigError (exit 78) that names the file and the reason, found before
// yaml-cpp gets to allocate or recurse. Nothing here blocks.
#include <string>

#include <yaml-cpp/yaml.h>

#include "config/yaml_prescan.hpp"

namespace sluice {

// The contents of a regular file (or a symlink to one) of at most limits.max_bytes. Anything
// else fails with the reason: strerror's (`No such file or directory`, `Is a directory`,
// `Permission denied`), "not a regular file (a FIFO)", or the size.
std::string read_config_file(const std::string& path, const ConfigLimits& limits = {});

// read_config_file, check_yaml_limits, YAML::Load and reject_nul_scalars. Every failure,
// yaml-cpp's own exceptions included, is a ConfigError.
YAML::Node load_config_file(const std::string& path, const ConfigLimits& limits = {});

}  // namespace sluice
