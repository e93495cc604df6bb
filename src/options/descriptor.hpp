#pragma once
// One descriptor per component type: its kind and name, a one-line summary, the schema of its
// options, its maker and (for sinks) the SLUICE_SINKS URL schemes it answers. Each component
// declares its descriptor next to its code (`<x>_config.cpp`); config/component_list.cpp names
// them all. The schema is the one place options are written down: MapReader validates against it
// (unknown keys, "did you mean", secrets), `sluice list` / `sluice describe` print it, and the
// README's option tables are generated from it.
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace sluice {

class MapReader;
class Source;
class Transform;
class Sink;
struct BuildContext;
struct SourceBuildContext;

enum class OptionType {
  String,
  Bool,
  Integer,
  Number,    // a decimal number: 0.5, 20, 1e3
  Size,      // 1048576, 512KiB, 64MiB, 1GiB, 10MB
  Duration,  // 500ms, 10s, 5m, 1h, 1d
  Enum,      // one of `choices`
  List,      // a list of values (a single value is a list of one)
  Map,       // free-form `name: value` pairs
  Template,  // text with `{{ field }}` and strftime `%` fields
  Regex,     // an RE2 pattern
  Mapping,   // a nested mapping with its own options (`nested`)
};

std::string_view option_type_name(OptionType type);

// Every member has a default initializer, so that designated initializers may leave any out
// (GCC warns about those without one).
struct OptionSpec {
  std::string key{};
  OptionType type = OptionType::String;
  // The default as users see it ("1MiB", "80% of the shutdown timeout"); empty: no default.
  std::string default_shown{};
  std::string description{};  // one line
  bool required = false;
  std::vector<std::string> choices{};  // Enum: every accepted value
  std::vector<std::string> aliases{};  // other names of the key
  bool secret = false;                 // a credential: remembered for redaction, never quoted
  // May change on a live reload without restarting the component. Marked only for options whose
  // component keeps no state that depends on them (transforms, the per-line parser settings).
  bool reloadable = false;
  std::vector<OptionSpec> nested{};  // Mapping: its options; Enum `multiline`: the long form
};

// The options one YAML mapping may hold: several lists (a component's shared options and its
// own), searched by key or alias. `owner` names the component in internal errors (`sink/kafka`).
class OptionSchema {
 public:
  OptionSchema(std::string owner, std::vector<std::span<const OptionSpec>> lists);

  [[nodiscard]] const OptionSpec* find(std::string_view key) const;  // key or alias
  [[nodiscard]] std::vector<std::string> keys_and_aliases() const;
  [[nodiscard]] const std::string& owner() const { return owner_; }

 private:
  std::string owner_;
  std::vector<std::span<const OptionSpec>> lists_;
};

enum class ComponentKind { Source, Transform, Sink };

std::string_view component_kind_name(ComponentKind kind);  // "source", "transform", "sink"

using SourceMaker = std::unique_ptr<Source> (*)(MapReader&, const SourceBuildContext&);
// Transforms and sinks also get their component's name (for their log lines).
using TransformMaker = std::unique_ptr<Transform> (*)(MapReader&, const std::string&);
using SinkMaker = std::unique_ptr<Sink> (*)(MapReader&, const std::string&, const BuildContext&);

// One SLUICE_SINKS URL, split: `scheme://rest?query`.
struct SinkUrl {
  std::string scheme{};
  std::string rest{};  // between `://` and `?`, not yet percent-decoded
};

// How a sink answers SLUICE_SINKS URLs.
struct UrlSupport {
  std::vector<std::string> schemes{};
  // Fills the sink's options (`type` is set by the caller) from the URL; query parameters are
  // applied afterwards. Throws ConfigError.
  void (*to_options)(const SinkUrl& url, YAML::Node& options) = nullptr;
  // A `@` before the path is user-info (credentials, refused) unless the scheme's text is a path.
  bool at_sign_is_path = false;
  std::string credentials_example{};  // how to pass credentials instead, shown in the refusal
};

struct ComponentDescriptor {
  ComponentKind kind = ComponentKind::Source;
  std::string type{};
  std::string summary{};  // one line
  std::vector<OptionSpec> options{};
  SourceMaker make_source = nullptr;
  TransformMaker make_transform = nullptr;
  SinkMaker make_sink = nullptr;
  std::optional<UrlSupport> url{};  // sinks only

  // `sink/kafka`
  [[nodiscard]] std::string qualified_name() const;
  // The schema of the component's mapping: `type`, the options of its kind, its own.
  [[nodiscard]] OptionSchema schema() const;
};

// Options every component of a kind has (read by config/factory.cpp, not by the component).
const std::vector<OptionSpec>& shared_options(ComponentKind kind);

// SLUICE_SINKS, for messages.
inline constexpr const char* kSinkUrlVariable = "SLUICE_SINKS";

// `%41` → `A`; `%00` is a config error (a NUL byte cuts every C string it reaches).
std::string percent_decode(const std::string& text);

}  // namespace sluice
