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

 private:
  enum class PartKind { Literal, Field, Time };
  struct Part {
    PartKind kind;
    std::string text;  // literal text, field path, or the time conversion letter
  };
  std::string text_;
  std::vector<Part> parts_;
  bool is_static_ = true;
};

}  // namespace sluice
