#include "options/map_reader.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <string_view>

#include "base/duration.hpp"
#include "base/edit_distance.hpp"
#include "base/secrets.hpp"

namespace sluice {

void throw_at(const std::string& file, const YAML::Mark& mark, const std::string& message) {
  throw ConfigError(file, mark.line, mark.column, message);
}

namespace {

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  size_t e = s.find_last_not_of(" \t");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

// The number made of the first `length` characters of `s` (digits and dots), or -1 when they
// are not one number: "1.2.3" is a typo, not 1.2.
double leading_number(const std::string& s, size_t length) {
  if (length == 0) return -1;
  size_t used = 0;
  double number = -1;
  try {
    number = std::stod(s.substr(0, length), &used);
  } catch (const std::exception&) {
    return -1;
  }
  return used == length ? number : -1;
}

constexpr double kTwoTo63 = 9223372036854775808.0;

}  // namespace

std::string suggestion(const std::string& word, const std::vector<std::string>& known) {
  std::string best;
  size_t best_distance = 3;
  for (const auto& k : known) {
    size_t d = edit_distance(word, k);
    if (d < best_distance) {
      best_distance = d;
      best = k;
    }
  }
  return best.empty() ? std::string() : " (did you mean `" + best + "`?)";
}

MapReader::MapReader(const YAML::Node& node, std::string what, std::string file, EnvLookup env,
                     std::shared_ptr<const OptionSchema> schema)
    : node_(node),
      what_(std::move(what)),
      file_(std::move(file)),
      env_(std::move(env)),
      schema_(std::move(schema)) {
  if (node_ && !node_.IsNull() && !node_.IsMap()) {
    throw_at(file_, node_.Mark(), what_ + " must be a mapping of `key: value`");
  }
}

const OptionSpec* MapReader::expect(const std::string& key,
                                    std::initializer_list<OptionType> types) const {
  if (!schema_) return nullptr;
  const OptionSpec* spec = schema_->find(key);
  if (spec == nullptr || spec->key != key) {
    throw std::logic_error(schema_->owner() + " reads option `" + key +
                           "`, which its schema does not declare");
  }
  for (OptionType type : types) {
    if (spec->type == type) return spec;
  }
  throw std::logic_error(schema_->owner() + " reads option `" + key + "` as another type than " +
                         "its schema's `" + std::string(option_type_name(spec->type)) + "`");
}

void MapReader::check_choices(const OptionSpec* spec, const std::vector<std::string>& names,
                              const std::string& owner) {
  std::set<std::string> read(names.begin(), names.end());
  std::set<std::string> declared(spec->choices.begin(), spec->choices.end());
  if (read != declared) {
    throw std::logic_error(owner + " reads option `" + spec->key +
                           "` with other choices than its schema declares");
  }
}

std::string MapReader::written_key(const std::string& key) const {
  if (!node_ || !node_.IsMap() || node_[key]) return key;
  const OptionSpec* spec = schema_ ? schema_->find(key) : nullptr;
  if (spec == nullptr) return key;
  for (const std::string& alias : spec->aliases) {
    if (node_[alias]) return alias;
  }
  return key;
}

bool MapReader::has(const std::string& key) const {
  if (!node_ || !node_.IsMap()) return false;
  YAML::Node v = node_[written_key(key)];
  return v && !v.IsNull();
}

YAML::Node MapReader::value(const std::string& key) {
  read_.insert(key);
  // A Null node stands for "absent" (callers test IsNull()).
  if (!node_ || !node_.IsMap()) return YAML::Node(YAML::NodeType::Null);
  // Looked up through a const node: a non-const operator[] would add the key.
  const YAML::Node& node = node_;
  std::string written = written_key(key);
  if (const OptionSpec* spec = schema_ ? schema_->find(key) : nullptr) {
    // Every spelling of the option counts as read; two of them at once is a conflict.
    for (const std::string& alias : spec->aliases) {
      read_.insert(alias);
      if (alias != written && node[alias]) {
        fail(alias, "use `" + written + "` or `" + alias + "`, not both");
      }
    }
  }
  YAML::Node v = node[written];
  if (!v || v.IsNull()) return YAML::Node(YAML::NodeType::Null);
  return v;
}

void MapReader::fail(const std::string& key, const std::string& message) const {
  YAML::Mark mark = node_.Mark();
  if (node_ && node_.IsMap()) {
    std::string written = written_key(key);
    for (auto it = node_.begin(); it != node_.end(); ++it) {
      if (it->first.Scalar() == written) {
        mark = it->second ? it->second.Mark() : it->first.Mark();
        break;
      }
    }
  }
  throw_at(file_, mark, what_ + ": " + message);
}

void MapReader::fail_here(const std::string& message) const {
  throw_at(file_, node_.Mark(), what_ + ": " + message);
}

std::string MapReader::interpolated(const YAML::Node& scalar, const std::string& key,
                                    bool secret) const {
  secret = secret || secrets::is_secret_name(key);
  std::string value;
  try {
    value = interpolate(scalar.Scalar(), env_);
  } catch (const std::invalid_argument& e) {
    // A malformed reference is quoted, which shows the secret when it is written literally; a
    // required variable that is unset is named with the user's message only.
    if (secret && std::string_view(e.what()).rfind("environment variable ", 0) != 0) {
      throw_at(file_, scalar.Mark(),
               what_ + ": `" + key +
                   "`: invalid `${...}` reference (use ${VAR}, ${VAR:-default} or "
                   "${VAR:?message}; the value is a secret and not shown)");
    }
    throw_at(file_, scalar.Mark(), what_ + ": `" + key + "`: " + e.what());
  }
  if (secret) secrets::remember(value);
  // From a `\0` escape, `%00` in a URL or a variable: the value would be cut at the NUL by every
  // C API it reaches (paths, librdkafka), silently.
  if (value.find('\0') != std::string::npos) {
    throw_at(file_, scalar.Mark(), what_ + ": `" + key + "` contains a NUL byte");
  }
  return value;
}

std::optional<std::string> MapReader::scalar(const std::string& key, const OptionSpec* spec) {
  YAML::Node v = value(key);
  if (v.IsNull()) return std::nullopt;
  if (!v.IsScalar()) fail(key, "`" + key + "` must be a single value");
  return interpolated(v, key, spec != nullptr && spec->secret);
}

std::optional<std::string> MapReader::string(const std::string& key) {
  const OptionSpec* spec =
      expect(key, {OptionType::String, OptionType::Template, OptionType::Regex, OptionType::Enum});
  return scalar(key, spec);
}

std::string MapReader::string(const std::string& key, const std::string& fallback) {
  return string(key).value_or(fallback);
}

std::string MapReader::required_string(const std::string& key) {
  std::optional<std::string> v = string(key);
  if (!v || v->empty()) fail_missing(key);
  return *v;
}

void MapReader::fail_missing(const std::string& key) const {
  // A misspelt required key is the likely cause: point at the typo, not at its absence.
  if (node_ && node_.IsMap()) {
    for (auto it = node_.begin(); it != node_.end(); ++it) {
      const std::string& present = it->first.Scalar();
      if (present != key && !suggestion(present, {key}).empty()) {
        throw_at(file_, it->first.Mark(),
                 what_ + ": unknown key `" + present + "`" + suggestion(present, {key}));
      }
    }
  }
  fail_here("`" + key + "` is required");
}

double MapReader::required_number(const std::string& key) {
  std::optional<double> v = number(key);
  if (!v) fail_missing(key);
  return *v;
}

bool MapReader::boolean(const std::string& key, bool fallback) {
  std::optional<std::string> v = scalar(key, expect(key, {OptionType::Bool}));
  if (!v) return fallback;
  if (*v == "true" || *v == "yes" || *v == "on") return true;
  if (*v == "false" || *v == "no" || *v == "off") return false;
  fail(key, "`" + key + "` must be true or false, not `" + *v + "`");
}

std::optional<double> MapReader::number(const std::string& key) {
  std::optional<std::string> v = scalar(key, expect(key, {OptionType::Number}));
  if (!v) return std::nullopt;
  double n = 0;
  const char* end = v->data() + v->size();
  auto [ptr, ec] = std::from_chars(v->data(), end, n);
  if (ec != std::errc() || ptr != end || !std::isfinite(n)) {
    fail(key, "`" + key + "` must be a number, not `" + *v + "`");
  }
  return n;
}

int64_t MapReader::integer(const std::string& key, int64_t fallback, int64_t min, int64_t max) {
  std::optional<std::string> v = scalar(key, expect(key, {OptionType::Integer}));
  if (!v) return fallback;
  size_t used = 0;
  int64_t n = 0;
  try {
    n = std::stoll(*v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != v->size())
    fail(key, "`" + key + "` must be a whole number, not `" + *v + "`");
  if (n < min || n > max) {
    fail(key,
         "`" + key + "` must be between " + std::to_string(min) + " and " + std::to_string(max));
  }
  return n;
}

uint64_t MapReader::size(const std::string& key, uint64_t fallback) {
  std::optional<std::string> v = scalar(key, expect(key, {OptionType::Size}));
  if (!v) return fallback;
  std::string s = trim(*v);
  size_t i = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
  std::string unit = trim(s.substr(i));
  double number = leading_number(s, i);
  static const std::pair<const char*, double> kUnits[] = {{"", 1},
                                                          {"B", 1},
                                                          {"KiB", 1024.0},
                                                          {"MiB", 1048576.0},
                                                          {"GiB", 1073741824.0},
                                                          {"kB", 1e3},
                                                          {"KB", 1e3},
                                                          {"MB", 1e6},
                                                          {"GB", 1e9},
                                                          {"Ki", 1024.0},
                                                          {"Mi", 1048576.0},
                                                          {"Gi", 1073741824.0}};
  for (const auto& [name, factor] : kUnits) {
    if (unit != name || number < 0) continue;
    // Sizes end up in int64 counters too; llround of what does not fit is no number at all.
    if (number * factor >= kTwoTo63) fail(key, "`" + key + "` is too large: `" + *v + "`");
    return static_cast<uint64_t>(std::llround(number * factor));
  }
  fail(key,
       "`" + key + "` must be a size such as 1048576, 512KiB, 64MiB or 1GiB, not `" + *v + "`");
}

int64_t MapReader::duration_ns(const std::string& key, int64_t fallback) {
  std::optional<std::string> v = scalar(key, expect(key, {OptionType::Duration}));
  if (!v) return fallback;
  DurationParse parsed = parse_duration(*v);
  if (parsed.status == DurationParse::Status::TooLong) {
    fail(key, "`" + key + "` is too long: `" + *v + "`");
  }
  if (parsed.status != DurationParse::Status::Ok) {
    fail(key,
         "`" + key + "` must be a duration such as 500ms, 10s, 5m, 1h or 1h30m, not `" + *v + "`");
  }
  return parsed.ns;
}

std::vector<std::string> MapReader::string_list(const std::string& key) {
  const OptionSpec* spec = expect(key, {OptionType::List});
  bool secret = spec != nullptr && spec->secret;
  YAML::Node v = value(key);
  std::vector<std::string> out;
  if (v.IsNull()) return out;
  if (v.IsScalar()) {
    out.push_back(interpolated(v, key, secret));
    return out;
  }
  if (!v.IsSequence()) fail(key, "`" + key + "` must be a list");
  for (const auto& item : v) {
    if (!item.IsScalar())
      throw_at(file_, item.Mark(), what_ + ": `" + key + "` items must be single values");
    out.push_back(interpolated(item, key, secret));
  }
  return out;
}

std::vector<std::pair<std::string, std::pair<std::string, bool>>> MapReader::string_map(
    const std::string& key) {
  const OptionSpec* spec = expect(key, {OptionType::Map});
  bool secret = spec != nullptr && spec->secret;
  YAML::Node v = value(key);
  std::vector<std::pair<std::string, std::pair<std::string, bool>>> out;
  if (v.IsNull()) return out;
  if (!v.IsMap()) fail(key, "`" + key + "` must be a mapping of `name: value`");
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (!it->second.IsScalar() && !it->second.IsNull()) {
      throw_at(file_, it->second.Mark(),
               what_ + ": `" + key + "." + it->first.Scalar() + "` must be a single value");
    }
    bool quoted = it->second.Tag() == "!";
    std::string text = it->second.IsNull() ? std::string() : interpolated(it->second, key, secret);
    out.emplace_back(it->first.Scalar(), std::make_pair(text, quoted));
  }
  return out;
}

MapReader MapReader::sub(const std::string& key) {
  const OptionSpec* spec = expect(key, {OptionType::Mapping, OptionType::Map, OptionType::Enum});
  YAML::Node v = value(key);
  std::shared_ptr<const OptionSchema> nested;
  if (spec != nullptr && spec->type != OptionType::Map) {
    if (spec->nested.empty()) {
      throw std::logic_error(schema_->owner() + " reads option `" + key +
                             "` as a mapping, which its schema does not declare");
    }
    nested = std::make_shared<OptionSchema>(schema_->owner() + "." + key,
                                            std::vector<std::span<const OptionSpec>>{spec->nested});
  }
  return MapReader(v, what_ + " `" + key + "`", file_, env_, std::move(nested));
}

void MapReader::finish() {
  if (!node_ || !node_.IsMap()) return;
  std::vector<std::string> known =
      schema_ ? schema_->keys_and_aliases() : std::vector<std::string>(read_.begin(), read_.end());
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    const std::string& key = it->first.Scalar();
    if (read_.count(key) == 0) {
      throw_at(file_, it->first.Mark(),
               what_ + ": unknown key `" + key + "`" + suggestion(key, known));
    }
  }
}

}  // namespace sluice
