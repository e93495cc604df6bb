#pragma once
// Environment interpolation in config values: `${VAR}` (an error when unset; empty is fine),
// `${VAR:-default}` (default when unset or empty; `${VAR:-}` allows unset), `${VAR:?message}`
// (error when unset or empty), and `$$` for a literal `$`.
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace sluice {

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// The process environment. A config can refer to one variable many times, and each variable may
// hold up to 128 KiB: 800 KB of `${V}` stood for 20 GB (and took it). So one lookup function (and
// its copies) returns at most `max_total_bytes` of values in all, the config file's own limit;
// past that a lookup throws std::invalid_argument, reported at the value that went over.
EnvLookup process_environment(size_t max_total_bytes = size_t{16} << 20);

// Throws std::invalid_argument with a readable message on a malformed reference or `:?`.
std::string interpolate(std::string_view text, const EnvLookup& env);

}  // namespace sluice
