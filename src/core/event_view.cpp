#include "core/event_view.hpp"

#include <charconv>

#include "base/civil_time.hpp"
#include "base/field_path.hpp"
#include "parse/json_parser.hpp"

namespace sluice {

std::optional<Value> FieldLookup::get_plain(std::string_view path) const { return get(path); }

std::optional<Value> EventView::get(std::string_view path) const {
  return has_quoted_segment(path) ? find<true>(path) : get_plain(path);
}

std::optional<Value> EventView::get_plain(std::string_view path) const { return find<false>(path); }

// A path with a quoted segment (`x."a.b"`) names keys segment by segment; a plain one is
// compared as it is, with the plain string functions.
template <bool kQuoted>
std::optional<Value> EventView::find(std::string_view path) const {
  auto names = [path](std::string_view key) {
    if constexpr (kQuoted) {
      return path_names_key(path, key);
    } else {
      return key == path;
    }
  };
  // The last `.` before `end` that separates segments (one inside quotes does not).
  auto separator_before = [path](size_t end) {
    if constexpr (kQuoted) {
      return last_path_separator(path, end);
    } else {
      return end == 0 ? std::string_view::npos : path.rfind('.', end - 1);
    }
  };
  const uint32_t end = event_.first_field + event_.field_count;
  for (uint32_t i = event_.first_field; i < end; ++i) {
    const Field& field = batch_.fields[i];
    if (field.key.data() != nullptr && names(field.key)) return field.value;
  }
  // `a.b.c`: the longest prefix that is a JSON field, then a lookup inside it. A parsed object
  // that lacks the member falls through to the metadata, which the output merges into it
  // (`host.name` beside a parsed `host: {hostname: ...}`); a parsed scalar replaces it.
  bool searched = false;
  for (size_t dot = separator_before(path.size());
       !searched && dot != std::string_view::npos && dot > 0; dot = separator_before(dot)) {
    std::string_view prefix = path.substr(0, dot);
    for (uint32_t i = event_.first_field; i < end; ++i) {
      const Field& field = batch_.fields[i];
      if (field.key.data() == nullptr) continue;
      if constexpr (kQuoted) {
        if (!path_names_key(prefix, field.key)) continue;
      } else {
        if (field.key != prefix) continue;
      }
      if (field.value.kind != ValueKind::Json) return std::nullopt;
      Value nested;
      if (find_json_path(field.value.text, path.substr(dot + 1), batch_.arena, &nested)) {
        return nested;
      }
      if (field.value.text.empty() || field.value.text.front() != '{') return std::nullopt;
      searched = true;
      break;
    }
  }
  if (path == "@timestamp" && !(event_.hidden_meta & kMetaTimestamp)) {
    char* out = batch_.arena.allocate(kRfc3339Length);
    format_rfc3339(event_.timestamp_ns, out);
    return Value{ValueKind::String, true, std::string_view(out, kRfc3339Length)};
  }
  if (path == "source" && !(event_.hidden_meta & kMetaSource)) {
    return Value{ValueKind::String, true, meta_.name};
  }
  if (path == "stream" && !(event_.hidden_meta & kMetaStream)) {
    return Value{ValueKind::String, true, event_stream(batch_, event_)};
  }
  if (path == "host.name" && !(event_.hidden_meta & kMetaHost)) {
    return Value{ValueKind::String, true, meta_.host_name};
  }
  const uint32_t meta_end = event_.meta_first + event_.meta_count;
  for (uint32_t i = event_.meta_first; i < meta_end; ++i) {
    if (names(batch_.meta[i].key)) return batch_.meta[i].value;
  }
  if (const Origin* origin = batch_.origin.get()) {
    if (path == "log.file.path" && !origin->file_path.empty()) {
      return Value{ValueKind::String, false, origin->file_path};
    }
    if (path == "log.offset" && !origin->file_path.empty()) {
      char* out = batch_.arena.allocate(20);
      auto [last, ec] = std::to_chars(out, out + 20, event_.offset);
      return Value{ValueKind::Number, true, std::string_view(out, last - out)};
    }
    for (const auto& [key, value] : origin->fields) {
      if (names(key)) return Value{ValueKind::String, false, value};
    }
    // A map's entry: the rest of the path after the map's name is the entry's key, quoted
    // (`kubernetes.labels."app.kubernetes.io/name"`) or plain (`kubernetes.labels.app`).
    for (const OriginMap& map : origin->maps) {
      if (names(map.key)) return Value{ValueKind::Json, true, map.json};
      const std::string_view entry = path_under(path, map.key);
      if (entry.empty()) continue;
      for (const auto& [key, value] : map.entries) {
        bool entry_names_key = false;
        if constexpr (kQuoted) {
          entry_names_key = path_names_key(entry, key);  // the entry may be the quoted segment
        } else {
          entry_names_key = entry == key;
        }
        if (entry_names_key) return Value{ValueKind::String, false, value};
      }
    }
  }
  return std::nullopt;
}

}  // namespace sluice
