#pragma once
// Templates such as `/var/log/out/{{ kubernetes.namespace }}/%Y-%m-%d.jsonl`: `{{ field }}`
// placeholders read event fields, strftime-style `%` fields read @timestamp (UTC). Parsed once
// at config load; rendering appends to a reused buffer.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/byte_buffer.hpp"
#include "sluice/field_lookup.hpp"

namespace sluice {

class Template {
 public:
  // Supported `%` fields: %Y %y %m %d %H %M %S %j %F (%Y-%m-%d) %T (%H:%M:%S) %s (epoch s) %%.
  static std::optional<Template> parse(std::string_view text, std::string* error);

  // True when no part depends on the event (the common case: one output file).
  [[nodiscard]] bool is_static() const { return is_static_; }
  [[nodiscard]] const std::string& text() const { return text_; }

  // What a field value may do to the rendering.
  enum class RenderMode {
    Raw,         // values as they are (Kafka keys and headers, Elasticsearch ids)
    Path,        // a file path: each component holding event data is a plain name
                 // (core/safe_names.hpp) and stays below fixed_prefix()
    KafkaTopic,  // the whole name made a legal Kafka topic name (core/safe_names.hpp)
    IndexName,   // control characters in values become `_` (the Elasticsearch sink cleans
                 // the rest), so that a value can never look like a missing-field marker
  };
  struct RenderOptions {
    RenderMode mode = RenderMode::Raw;
    // Written for a missing field (as it is, in every mode but Path).
    std::string_view missing = "unknown";
  };
  // Appends the rendering; returns false when a field was missing (and `missing` was used).
  bool render(const FieldLookup& event, int64_t timestamp_ns, const RenderOptions& options,
              ByteBuffer& out) const;

  // The text before the first placeholder, up to and including its last `/` (the whole text of
  // a static template): the directory a rendered path must stay below.
  [[nodiscard]] const std::string& fixed_prefix() const { return fixed_prefix_; }

  // How the workers render this template for its sink (Sink::templates()). Default: Path,
  // "unknown" for a missing field. A sink that does not write paths sets it at config load
  // (the kafka sink: KafkaTopic for the topic, Raw and a marker for keys and headers).
  void set_sink_rendering(RenderMode mode, std::string missing) {
    sink_mode_ = mode;
    sink_missing_ = std::move(missing);
  }
  [[nodiscard]] RenderOptions sink_render_options() const {
    return RenderOptions{sink_mode_, sink_missing_};
  }

 private:
  // Literal text is split at `/` into Literal and Separator parts, so that a path rendering
  // knows where each component begins and ends without scanning.
  enum class PartKind { Literal, Separator, Field, Time };
  struct Part {
    PartKind kind;
    std::string text;  // literal text, field path, or the time conversion letter
    // A field path without a quoted segment, looked up with FieldLookup::get_plain().
    bool plain_path = false;
  };
  bool render_path(const FieldLookup& event, int64_t timestamp_ns, std::string_view missing,
                   ByteBuffer& out) const;
  std::string text_;
  std::vector<Part> parts_;
  std::string fixed_prefix_;
  bool is_static_ = true;
  RenderMode sink_mode_ = RenderMode::Path;
  std::string sink_missing_ = "unknown";
};

}  // namespace sluice
