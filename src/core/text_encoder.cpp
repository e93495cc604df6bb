// The `text` encoding, for people: time, level (coloured), message and `key=value` fields; with
// `prefix`, where the event came from; a multi-line message's further lines indented below it.
#include "core/text_encoder.hpp"

#include <iterator>
#include <optional>
#include <string_view>

#include "base/civil_time.hpp"
#include "base/json_writer.hpp"
#include "base/level.hpp"

namespace sluice {

namespace {

constexpr const char* kReset = "\x1b[0m";
constexpr const char* kDim = "\x1b[2m";
constexpr const char* kKey = "\x1b[36m";

const char* level_color(Level level) {
  switch (level) {
    case Level::Trace:
      return "\x1b[90m";
    case Level::Debug:
      return "\x1b[34m";
    case Level::Info:
      return "\x1b[32m";
    case Level::Notice:
      return "\x1b[36m";
    case Level::Warn:
      return "\x1b[33m";
    case Level::Error:
      return "\x1b[31m";
    case Level::Fatal:
      return "\x1b[1;31m";
  }
  return "";
}

bool is_message_key(std::string_view k) { return k == "message" || k == "msg"; }

// Text output keeps control characters visible but harmless (no terminal escapes from logs).
void append_text_safe(ByteBuffer& out, std::string_view s) {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      if (c == '\t') {
        out.push_back('\t');
      } else {
        out.append("\\x");
        out.push_back("0123456789abcdef"[u >> 4]);
        out.push_back("0123456789abcdef"[u & 0xF]);
      }
    } else {
      out.push_back(c);
    }
  }
}

void append_text_value(ByteBuffer& out, const Value& value) {
  bool quote = value.kind == ValueKind::String &&
               (value.text.empty() || value.text.find_first_of(" =\"") != std::string_view::npos);
  if (quote) {
    append_json_string(out, value.text, value.utf8_valid);
  } else {
    append_text_safe(out, value.text);
  }
}

// The label of an event's origin: `namespace/pod/container` for a Kubernetes container's log,
// else the base name of its file, else its source's name. Views into `origin` and `meta`.
struct OriginLabel {
  std::string_view parts[3];
  size_t count = 0;
};

OriginLabel origin_label(const Origin* origin, const SourceMeta& meta) {
  OriginLabel label;
  if (origin) {
    std::string_view pod_parts[3];  // namespace, pod, container
    for (const auto& [key, value] : origin->fields) {
      if (key == "kubernetes.namespace") pod_parts[0] = value;
      if (key == "kubernetes.pod.name") pod_parts[1] = value;
      if (key == "kubernetes.container.name") pod_parts[2] = value;
    }
    if (!pod_parts[1].empty()) {
      for (std::string_view part : pod_parts) {
        if (!part.empty()) label.parts[label.count++] = part;
      }
      return label;
    }
    if (!origin->file_path.empty()) {
      std::string_view path = origin->file_path;
      label.parts[label.count++] = path.substr(path.rfind('/') + 1);
      return label;
    }
  }
  label.parts[label.count++] = meta.name;
  return label;
}

// One colour per origin, the same for every line of it, as `stern` does.
const char* origin_color(const OriginLabel& label) {
  static constexpr const char* kColors[] = {"\x1b[35m", "\x1b[36m", "\x1b[33m",
                                            "\x1b[32m", "\x1b[34m", "\x1b[95m"};
  uint32_t hash = 2166136261u;  // FNV-1a
  for (size_t i = 0; i < label.count; ++i) {
    for (char c : label.parts[i]) hash = (hash ^ static_cast<unsigned char>(c)) * 16777619u;
  }
  return kColors[hash % std::size(kColors)];
}

void append_origin_prefix(const Batch& batch, const SourceMeta& meta, bool color, ByteBuffer& out) {
  OriginLabel label = origin_label(batch.origin.get(), meta);
  if (color) out.append(origin_color(label));
  out.push_back('[');
  for (size_t i = 0; i < label.count; ++i) {
    if (i > 0) out.push_back('/');
    append_text_safe(out, label.parts[i]);
  }
  out.push_back(']');
  if (color) out.append(kReset);
  out.push_back(' ');
}

// A joined multiline record (a stack trace) is shown as lines: the first on the event's line,
// each further one on its own line, indented. `\r` before a `\n` is dropped.
constexpr std::string_view kContinuationIndent = "    ";

std::string_view first_line(std::string_view text) { return text.substr(0, text.find('\n')); }

void append_continuation_lines(ByteBuffer& out, std::string_view text) {
  size_t newline = text.find('\n');
  while (newline != std::string_view::npos) {
    text.remove_prefix(newline + 1);
    newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    if (newline != std::string_view::npos && !line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    out.push_back('\n');
    out.append(kContinuationIndent);
    append_text_safe(out, line);
  }
}

std::string_view without_cr(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

}  // namespace

void append_text_member(ByteBuffer& out, std::string_view key, const Value& value, bool color) {
  out.push_back(' ');
  if (color) out.append(kKey);
  append_text_safe(out, key);
  if (color) out.append(kReset);
  out.push_back('=');
  append_text_value(out, value);
}

void encode_text(const Batch& batch, const Event& event, const SourceMeta& meta, EncodingSpec spec,
                 ByteBuffer& out) {
  const bool color = spec.color;
  if (spec.prefix) append_origin_prefix(batch, meta, color, out);
  char ts[kRfc3339Length];
  format_rfc3339(event.timestamp_ns, ts);
  // Milliseconds are enough for a person: 2024-01-02T15:04:05.123Z
  if (color) out.append(kDim);
  out.append(std::string_view(ts, 23));
  out.push_back('Z');
  if (color) out.append(kReset);
  out.push_back(' ');

  const uint32_t end = event.first_field + event.field_count;
  const Field* level_field = nullptr;
  const Field* message_field = nullptr;
  for (uint32_t i = event.first_field; i < end; ++i) {
    const Field& f = batch.fields[i];
    if (f.key.data() == nullptr) continue;
    if (!level_field && is_level_key(f.key)) level_field = &f;
    if (!message_field && is_message_key(f.key)) message_field = &f;
  }
  std::optional<Level> level;
  if (level_field) level = parse_level(level_field->value.text);
  std::string_view name = level ? level_name(*level) : std::string_view("-");
  if (color && level) out.append(level_color(*level));
  char padded[6] = {' ', ' ', ' ', ' ', ' ', ' '};
  for (size_t i = 0; i < name.size() && i < 5; ++i) {
    padded[i] = static_cast<char>(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 32 : name[i]);
  }
  out.append(std::string_view(padded, 6));
  if (color && level) out.append(kReset);
  std::string_view message;
  if (message_field) {
    message = message_field->value.text;
  } else if (event.field_count == 0) {
    message = event.line;
  }
  const bool multiline = message.find('\n') != std::string_view::npos;
  append_text_safe(out, multiline ? without_cr(first_line(message)) : message);
  for (uint32_t i = event.first_field; i < end; ++i) {
    const Field& f = batch.fields[i];
    if (f.key.data() == nullptr || &f == message_field || &f == level_field) continue;
    if (i - event.first_field == event.timestamp_field) continue;
    append_text_member(out, f.key, f.value, color);
  }
  // The origin's maps (pod labels), each written once per origin by add_origin_map().
  if (const Origin* origin = batch.origin.get()) {
    for (const OriginMap& map : origin->maps) out.append(color ? map.text_color : map.text);
  }
  if (event.flags & kFlagParseError)
    out.append(color ? " \x1b[31m[parse_error]\x1b[0m" : " [parse_error]");
  if (event.flags & kFlagSplit) out.append(" [split]");
  if (multiline) append_continuation_lines(out, message);
  out.push_back('\n');
}

}  // namespace sluice
