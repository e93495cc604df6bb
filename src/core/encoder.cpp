#include "core/encoder.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <iterator>

#include "base/civil_time.hpp"
#include "base/json_writer.hpp"
#include "base/level.hpp"
#include "core/encoder_members.hpp"

namespace sluice {

namespace {

using encoder_detail::append_value;
using encoder_detail::is_json_object;
using encoder_detail::merged_object_name_size;
using encoder_detail::merged_object_of;
using encoder_detail::NestedMembers;
using encoder_detail::write_merged_object;

// Metadata keys the parsed fields may already use; a parsed field wins over metadata.
enum Taken : uint16_t {
  kTakenSource = 1,
  kTakenStream = 2,
  kTakenHost = 4,
  kTakenTags = 8,
  kTakenEvent = 16,
  kTakenLog = 32,
  kTakenKubernetes = 64,
  kTakenContainer = 128,
  kTakenKafka = 256,
  kTakenTimestamp = 512,
};

// The source metadata groups a parsed field of the same top-level name replaces.
uint16_t group_bit(std::string_view key) {
  std::string_view top = key.substr(0, key.find('.'));
  if (top == "kubernetes") return kTakenKubernetes;
  if (top == "container") return kTakenContainer;
  if (top == "log") return kTakenLog;
  if (top == "kafka") return kTakenKafka;
  return 0;
}

// The metadata each merged object (encoder_members.hpp, in its order) takes the place of.
constexpr uint16_t kMergedTaken[encoder_detail::kMergedObjectCount] = {
    kTakenLog, kTakenHost, 0, kTakenKubernetes, kTakenContainer, kTakenKafka};

uint16_t taken_bit(std::string_view key) {
  switch (key.size()) {
    case 3:
      return key == "log" ? kTakenLog : 0;
    case 4:
      if (key == "host") return kTakenHost;
      if (key == "tags") return kTakenTags;
      return 0;
    case 5:
      if (key == "event") return kTakenEvent;
      return key == "kafka" ? kTakenKafka : 0;
    case 6:
      if (key == "source") return kTakenSource;
      if (key == "stream") return kTakenStream;
      return 0;
    case 9:
      return key == "container" ? kTakenContainer : 0;
    case 10:
      if (key == "kubernetes") return kTakenKubernetes;
      return key == "@timestamp" ? kTakenTimestamp : 0;
    default:
      return 0;
  }
}

// `"log":{"file":{"path":..},"offset":N}`, the origin's fields and the event's own metadata.
template <typename Separator>
void append_source_metadata(const Batch& batch, const Event& event, uint16_t taken, Separator& sep,
                            ByteBuffer& out) {
  const Origin* origin = batch.origin.get();
  if (origin && !origin->file_path.empty() && !(taken & kTakenLog)) {
    sep();
    out.append("\"log\":{\"file\":{\"path\":");
    append_json_string(out, origin->file_path, false);
    out.append("},\"offset\":");
    char digits[24];
    auto [end, ec] = std::to_chars(digits, digits + sizeof digits, event.offset);
    out.append(std::string_view(digits, static_cast<size_t>(end - digits)));
    out.push_back('}');
  }
  NestedMembers members(out, sep);
  if (origin) {
    for (const auto& [key, value] : origin->fields) {
      if (taken & group_bit(key)) continue;
      members.member(key, Value{ValueKind::String, false, value});
    }
  }
  const uint32_t end = event.meta_first + event.meta_count;
  for (uint32_t i = event.meta_first; i < end; ++i) {
    const Field& field = batch.meta[i];
    if (taken & group_bit(field.key)) continue;
    members.member(field.key, field.value);
  }
}

void encode_json(const Batch& batch, const Event& event, const SourceMeta& meta, ByteBuffer& out) {
  out.push_back('{');
  bool first = true;
  if (!(event.hidden_meta & kMetaTimestamp)) {
    char* p = out.prepare(16 + kRfc3339Length);
    constexpr std::string_view kKey = "\"@timestamp\":\"";
    std::copy_n(kKey.data(), kKey.size(), p);
    format_rfc3339(event.timestamp_ns, p + 14);
    p[14 + kRfc3339Length] = '"';
    out.commit(15 + kRfc3339Length);
    first = false;
  }
  const bool wrote_timestamp = !first;
  uint16_t taken = 0;
  const uint32_t end = event.first_field + event.field_count;
  // Which merged objects the parsed fields hold, and which of them a parsed scalar claims.
  unsigned merged = 0, scalar = 0, objects = 0, written = 0;
  for (uint32_t i = event.first_field; i < end; ++i) {
    const Field& field = batch.fields[i];
    const int index = field.key.data() == nullptr ? -1 : merged_object_of(field.key);
    if (index < 0) continue;
    merged |= 1u << index;
    if (field.key.size() == merged_object_name_size(index)) {
      (is_json_object(field.value) ? objects : scalar) |= 1u << index;
    }
  }
  for (uint32_t i = event.first_field; i < end; ++i) {
    const Field& field = batch.fields[i];
    if (field.key.data() == nullptr) continue;  // removed
    if (merged != 0) {
      const int index = merged_object_of(field.key);
      if (index >= 0 && !(scalar & (1u << index))) {
        if (!(written & (1u << index))) {
          if (!first) out.push_back(',');
          first = false;
          write_merged_object(batch, event, meta, index, (objects & (1u << index)) != 0, out);
          written |= 1u << index;
          taken |= kMergedTaken[index];
        }
        continue;
      }
    }
    uint16_t bit = taken_bit(field.key);
    // A dotted key under the scalar `source` (ECS `source.address` of access logs) takes its
    // place too: a string and an object of one name cannot both be stored (Elasticsearch).
    if (bit == 0 && field.key.starts_with("source.")) bit = kTakenSource;
    // The parser turns a line's @timestamp into the event's time and a remap that sets one
    // hides the event's: a field still named so here would be the same key twice.
    if (bit == kTakenTimestamp && wrote_timestamp) continue;
    if (!first) out.push_back(',');
    first = false;
    taken |= bit;
    append_json_string(out, field.key, false);
    out.push_back(':');
    append_value(out, field.value);
  }
  auto sep = [&] {
    if (!first) out.push_back(',');
    first = false;
  };
  if (!(taken & kTakenSource) && !(event.hidden_meta & kMetaSource)) {
    sep();
    out.append("\"source\":");
    append_json_string(out, meta.name, false);
  }
  std::string_view stream = event_stream(batch, event);
  if (!(taken & kTakenStream) && !(event.hidden_meta & kMetaStream) && !stream.empty()) {
    sep();
    out.append("\"stream\":");
    append_json_string(out, stream, true);
  }
  if (batch.origin || event.meta_count) append_source_metadata(batch, event, taken, sep, out);
  if (!(taken & kTakenHost) && !(event.hidden_meta & kMetaHost)) {
    sep();
    out.append("\"host\":{\"name\":");
    append_json_string(out, meta.host_name, false);
    out.push_back('}');
  }
  if (!(taken & kTakenEvent) && meta.keep_raw) {
    sep();
    out.append("\"event\":{\"original\":");
    append_json_string(out, event.line, false);
    out.push_back('}');
  }
  if (!(taken & kTakenTags) && (event.flags & (kFlagSplit | kFlagParseError))) {
    sep();
    out.append("\"tags\":[");
    bool first_tag = true;
    if (event.flags & kFlagSplit) {
      out.append("\"split\"");
      first_tag = false;
    }
    if (event.flags & kFlagParseError) {
      if (!first_tag) out.push_back(',');
      out.append("\"parse_error\"");
    }
    out.push_back(']');
  }
  out.append("}\n");
}

// --- text ---------------------------------------------------------------------------------

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

bool is_level_key(std::string_view k) {
  return k == "level" || k == "lvl" || k == "severity" || k == "loglevel" || k == "log.level";
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
    out.push_back(' ');
    if (color) out.append(kKey);
    append_text_safe(out, f.key);
    if (color) out.append(kReset);
    out.push_back('=');
    append_text_value(out, f.value);
  }
  if (event.flags & kFlagParseError)
    out.append(color ? " \x1b[31m[parse_error]\x1b[0m" : " [parse_error]");
  if (event.flags & kFlagSplit) out.append(" [split]");
  if (multiline) append_continuation_lines(out, message);
  out.push_back('\n');
}

}  // namespace

void encode_event(const Batch& batch, const Event& event, const SourceMeta& meta, EncodingSpec spec,
                  ByteBuffer& out) {
  switch (spec.kind) {
    case EncodingSpec::Kind::Json:
      encode_json(batch, event, meta, out);
      return;
    case EncodingSpec::Kind::Raw:
      out.append(event.line);
      out.push_back('\n');
      return;
    case EncodingSpec::Kind::Text:
      encode_text(batch, event, meta, spec, out);
      return;
  }
}

}  // namespace sluice
