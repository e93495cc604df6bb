#pragma once
// Reads one YAML mapping of the config with type checks, env interpolation of every scalar,
// and errors that name file, line and column. finish() rejects keys nobody read, suggesting the
// closest key of the mapping's schema: a typo never passes silently. Secret options (`secret` in
// the schema, or named like one: secrets::is_secret_name) are remembered for redaction and never
// quoted in an error; a value with a NUL byte is an error (C APIs would cut it short).
//
// With a schema (options/descriptor.hpp), reading a key the schema does not declare, or reading
// it as another type, throws std::logic_error: every test that builds a component checks that its
// code and its schema agree. A key may also be written under one of its aliases. Without a
// schema (free-form mappings such as `librdkafka:`), any key may be read.
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "options/config_error.hpp"
#include "options/descriptor.hpp"
#include "options/interpolate.hpp"

namespace sluice {

class MapReader {
 public:
  // `what` names the mapping in messages, e.g. "sink `out`".
  MapReader(const YAML::Node& node, std::string what, std::string file, EnvLookup env,
            std::shared_ptr<const OptionSchema> schema = nullptr);

  [[nodiscard]] bool has(const std::string& key) const;
  std::optional<std::string> string(const std::string& key);
  std::string string(const std::string& key, const std::string& fallback);
  std::string required_string(const std::string& key);
  bool boolean(const std::string& key, bool fallback);
  int64_t integer(const std::string& key, int64_t fallback, int64_t min, int64_t max);
  // A finite decimal number (`0.5`, `20`, `1e3`); the caller checks its range.
  std::optional<double> number(const std::string& key);
  double required_number(const std::string& key);
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
  // A nested mapping (marked as read); an empty reader when absent. Its schema is the option's
  // nested options (none for a free-form `map`).
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
  // The schema's entry for `key` (null without a schema); std::logic_error when the schema does
  // not declare it as one of `types`.
  const OptionSpec* expect(const std::string& key, std::initializer_list<OptionType> types) const;
  static void check_choices(const OptionSpec* spec, const std::vector<std::string>& names,
                            const std::string& owner);
  std::optional<std::string> scalar(const std::string& key, const OptionSpec* spec);
  // `key` is required and absent (or empty): names a misspelt key when there is one.
  [[noreturn]] void fail_missing(const std::string& key) const;
  // The key as written in the mapping: `key` itself or one of its aliases.
  [[nodiscard]] std::string written_key(const std::string& key) const;
  YAML::Node value(const std::string& key);

  YAML::Node node_;
  std::string what_;
  std::string file_;
  EnvLookup env_;
  std::shared_ptr<const OptionSchema> schema_;
  std::set<std::string> read_;
};

// "did you mean `x`?" when a known name is within edit distance 2.
std::string suggestion(const std::string& word, const std::vector<std::string>& known);

[[noreturn]] void throw_at(const std::string& file, const YAML::Mark& mark,
                           const std::string& message);

template <typename E>
E MapReader::choice(const std::string& key, E fallback,
                    std::initializer_list<std::pair<const char*, E>> options) {
  const OptionSpec* spec = expect(key, {OptionType::Enum});
  if (spec != nullptr) {
    std::vector<std::string> declared;
    for (const auto& option : options) declared.emplace_back(option.first);
    check_choices(spec, declared, schema_->owner());
  }
  std::optional<std::string> v = scalar(key, spec);
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
