#pragma once
// Templates such as `/var/log/out/{{ kubernetes.namespace }}/%Y-%m-%d.jsonl`: `{{ field }}`
// placeholders read event fields, strftime-style `%` fields read @timestamp (UTC). Parsed once
// at config load; rendering appends to a reused buffer.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/byte_buffer.hpp"
#include "transforms/condition.hpp"

namespace sluice {

class Template {
 public:
  // Supported `%` fields: %Y %y %m %d %H %M %S %j %F (%Y-%m-%d) %T (%H:%M:%S) %s (epoch s) %%.
  static std::optional<Template> parse(std::string_view text, std::string* error);

  // True when no part depends on the event (the common case: one output file).
  [[nodiscard]] bool is_static() const { return is_static_; }
  [[nodiscard]] const std::string& text() const { return text_; }

  struct RenderOptions {
    // Field values may not steer a path: `/` becomes `_`, `..` becomes `__`, NUL and control
    // characters become `_`, and an empty value becomes `_`.
    bool sanitize_path = false;
    // Written for a missing field.
    std::string_view missing = "unknown";
  };
  // Appends the rendering; returns false when a field was missing (and `missing` was used).
  bool render(const FieldLookup& event, int64_t timestamp_ns, const RenderOptions& options,
              ByteBuffer& out) const;

  // How the workers render this template for its sink (Sink::templates()). Default: path-safe,
  // "unknown" for a missing field. A sink that does not write paths sets it at config load
  // (the kafka sink: values as they are, and a marker for a missing field).
  void set_sink_rendering(bool sanitize_path, std::string missing) {
    sink_sanitize_ = sanitize_path;
    sink_missing_ = std::move(missing);
  }
  [[nodiscard]] RenderOptions sink_render_options() const {
    return RenderOptions{sink_sanitize_, sink_missing_};
  }

 private:
  enum class PartKind { Literal, Field, Time };
  struct Part {
    PartKind kind;
    std::string text;  // literal text, field path, or the time conversion letter
  };
  std::string text_;
  std::vector<Part> parts_;
  bool is_static_ = true;
  bool sink_sanitize_ = true;
  std::string sink_missing_ = "unknown";
};

}  // namespace sluice
