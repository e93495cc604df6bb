#pragma once
// Reads one YAML mapping of the config with type checks, env interpolation of every scalar,
// and errors that name file, line and column. finish() rejects keys nobody read, suggesting the
// closest known key: a typo never passes silently. Secret options (declared with secret(), or
// named like one: secrets::is_secret_name) are remembered for redaction and never quoted in an
// error; a value with a NUL byte is an error (C APIs would cut it short).
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "options/config_error.hpp"
#include "options/interpolate.hpp"

namespace sluice {

class MapReader {
 public:
  // `what` names the mapping in messages, e.g. "sink `out`".
  MapReader(const YAML::Node& node, std::string what, std::string file, EnvLookup env);

  [[nodiscard]] bool has(const std::string& key) const;
  std::optional<std::string> string(const std::string& key);
  std::string string(const std::string& key, const std::string& fallback);
  std::string required_string(const std::string& key);
  // An option that holds a credential: read like string(), its value remembered so that logs and
  // messages mask it (base/secrets.hpp). Declare every credential option with this.
  std::optional<std::string> secret(const std::string& key);
  bool boolean(const std::string& key, bool fallback);
  int64_t integer(const std::string& key, int64_t fallback, int64_t min, int64_t max);
  // Sizes: 1048576, 512KiB, 64MiB, 1GiB, 10MB, 1kB.
  uint64_t size(const std::string& key, uint64_t fallback);
  // Durations: 500ms, 10s, 5m, 1h, 1d, or a plain number of seconds.
  int64_t duration_ns(const std::string& key, int64_t fallback);
  std::vector<std::string> string_list(const std::string& key);
  // Scalar plus whether it was quoted in YAML (remap `add` types unquoted scalars).
  std::vector<std::pair<std::string, std::pair<std::string, bool>>> string_map(
      const std::string& key);
  template <typename E>
  E choice(const std::string& key, E fallback,
           std::initializer_list<std::pair<const char*, E>> options);
  // A nested mapping (marked as read); an empty reader when absent.
  MapReader sub(const std::string& key);

  // Throws for any key that was not read.
  void finish();

  [[noreturn]] void fail(const std::string& key, const std::string& message) const;
  [[noreturn]] void fail_here(const std::string& message) const;
  [[nodiscard]] const std::string& file() const { return file_; }
  [[nodiscard]] const EnvLookup& env() const { return env_; }
  [[nodiscard]] const YAML::Node& node() const { return node_; }
  // The scalar with `${VAR}` references replaced. `secret`, or a key named like a secret, makes
  // the value a remembered secret.
  std::string interpolated(const YAML::Node& scalar, const std::string& key,
                           bool secret = false) const;

 private:
  YAML::Node value(const std::string& key);

  YAML::Node node_;
  std::string what_;
  std::string file_;
  EnvLookup env_;
  std::set<std::string> read_;
};

// "did you mean `x`?" when a known name is within edit distance 2.
std::string suggestion(const std::string& word, const std::vector<std::string>& known);

[[noreturn]] void throw_at(const std::string& file, const YAML::Mark& mark,
                           const std::string& message);

template <typename E>
E MapReader::choice(const std::string& key, E fallback,
                    std::initializer_list<std::pair<const char*, E>> options) {
  std::optional<std::string> v = string(key);
  if (!v) return fallback;
  std::string names;
  for (const auto& [name, e] : options) {
    if (*v == name) return e;
    names += names.empty() ? "" : ", ";
    names += name;
  }
  fail(key, "`" + key + "` must be one of " + names + ", not `" + *v + "`");
}

}  // namespace sluice
