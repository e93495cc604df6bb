#pragma once
// Environment interpolation in config values: `${VAR}`, `${VAR:-default}` (default when unset
// or empty), `${VAR:?message}` (error when unset or empty), and `$$` for a literal `$`.
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace sluice {

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

EnvLookup process_environment();

// Throws std::invalid_argument with a readable message on a malformed reference or `:?`.
std::string interpolate(std::string_view text, const EnvLookup& env);

}  // namespace sluice
