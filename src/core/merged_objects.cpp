// Parsed fields merged into the metadata objects of the JSON output (encoder_members.hpp).
#include <algorithm>
#include <charconv>

#include "core/encoder_members.hpp"

namespace sluice::encoder_detail {
namespace {

constexpr std::string_view kMergedObjectNames[kMergedObjectCount] = {
    "log", "host", "process", "kubernetes", "container", "kafka"};
constexpr int kLogObject = 0;
constexpr int kHostObject = 1;

// Whether the compact, valid JSON object `object` has the top-level key `key` (written without
// escapes: the metadata names are plain ASCII).
bool json_object_has_key(std::string_view object, std::string_view key) {
  size_t i = 1;
  const size_t n = object.size();
  while (i < n && object[i] == '"') {
    const size_t key_start = ++i;
    while (i < n && object[i] != '"') i += object[i] == '\\' ? 2 : 1;
    if (object.substr(key_start, i - key_start) == key) return true;
    i += 2;  // the closing quote and the colon
    int depth = 0;
    bool in_string = false;
    for (; i < n; ++i) {
      const char c = object[i];
      if (in_string) {
        if (c == '\\') {
          ++i;
        } else if (c == '"') {
          in_string = false;
        }
      } else if (c == '"') {
        in_string = true;
      } else if (c == '{' || c == '[') {
        ++depth;
      } else if (c == '}' || c == ']') {
        if (depth-- == 0) return false;
      } else if (c == ',' && depth == 0) {
        break;
      }
    }
    ++i;  // past the comma
  }
  return false;
}

// Writes `"name":{...}` for kMergedObjectNames[index]: the event's parsed members of it, then the
// metadata members the parsed ones do not already have.
class MergedObjectWriter {
 public:
  // `has_object`: the event has a parsed JSON object of this name (else no member check needs
  // to look into one).
  MergedObjectWriter(const Batch& batch, const Event& event, const SourceMeta& meta, int index,
                     bool has_object, const int8_t* object_of, bool dedot, ByteBuffer& out)
      : batch_(batch),
        event_(event),
        meta_(meta),
        index_(index),
        name_(kMergedObjectNames[index]),
        has_object_(has_object),
        object_of_(object_of),
        dedot_(dedot),
        out_(out) {}

  void write() {
    append_json_string(out_, name_, true);
    out_.append(":{");
    auto sep = [this] {
      if (any_) out_.push_back(',');
      any_ = true;
    };
    NestedMembers members(out_, sep);
    // Dotted members are nested in sorted order, so members sharing a path are adjacent at
    // every depth and each object is opened once. A member under a path that is itself a member
    // (`a` and `a.b`) cannot nest: that first segment's members keep their dotted names.
    constexpr size_t kMaxSorted = 32;
    const Field* dotted[kMaxSorted];
    size_t count = 0;
    bool too_many = false;
    const uint32_t end = event_.first_field + event_.field_count;
    for (uint32_t i = event_.first_field; i < end; ++i) {
      const Field& field = batch_.fields[i];
      if (object_of(i) != index_) continue;
      if (field.key.size() == name_.size()) {
        const std::string_view inner = field.value.text.substr(1, field.value.text.size() - 2);
        if (inner.empty()) continue;
        members.close();
        sep();
        out_.append(inner);
        continue;
      }
      if (has_object_ && object_has(first_segment(relative(field))))
        continue;  // the object's own member wins
      if (count < kMaxSorted) {
        dotted[count++] = &field;
      } else {
        too_many = true;
      }
    }
    if (too_many) {
      // Beyond the sorting budget: every member keeps its dotted name, in the line's order.
      for (uint32_t i = event_.first_field; i < end; ++i) {
        const Field& field = batch_.fields[i];
        if (object_of(i) != index_ || field.key.size() == name_.size() ||
            object_has(first_segment(relative(field))))
          continue;
        members.flat(relative(field), field.value);
      }
    } else {
      std::sort(dotted, dotted + count,
                [](const Field* a, const Field* b) { return a->key < b->key; });
      // Most objects have no member under another: then no segment needs the check below.
      const bool any_conflict = count > 1 && any_path_prefix(dotted, count);
      for (size_t i = 0; i < count; ++i) {
        const std::string_view key = relative(*dotted[i]);
        if (any_conflict && path_conflict(dotted, count, first_segment(key))) {
          members.flat(key, dotted[i]->value);
        } else {
          members.member(key, dotted[i]->value);
        }
      }
    }
    write_metadata(members);
    members.close();
    out_.push_back('}');
  }

 private:
  static std::string_view first_segment(std::string_view key) {
    return key.substr(0, find_dot(key));
  }

  // The merged object the event's field `i` (an index into batch.fields) belongs to, or -1.
  [[nodiscard]] int object_of(uint32_t i) const { return object_of_[i - event_.first_field]; }

  [[nodiscard]] std::string_view relative(const Field& field) const {
    return field.key.substr(name_.size() + 1);
  }

  // Some member is a path prefix of another (`a.b` and `a.b.c`).
  [[nodiscard]] bool any_path_prefix(const Field* const* dotted, size_t count) const {
    for (size_t i = 0; i < count; ++i) {
      const std::string_view a = relative(*dotted[i]);
      for (size_t j = 0; j < count; ++j) {
        const std::string_view b = relative(*dotted[j]);
        if (b.size() > a.size() && b.starts_with(a) && b[a.size()] == '.') return true;
      }
    }
    return false;
  }

  // Some member under `segment` is a path prefix of another (`a.b` and `a.b.c`).
  [[nodiscard]] bool path_conflict(const Field* const* dotted, size_t count,
                                   std::string_view segment) const {
    for (size_t i = 0; i < count; ++i) {
      const std::string_view a = relative(*dotted[i]);
      if (first_segment(a) != segment) continue;
      for (size_t j = 0; j < count; ++j) {
        const std::string_view b = relative(*dotted[j]);
        if (b.size() > a.size() && b.starts_with(a) && b[a.size()] == '.') return true;
      }
    }
    return false;
  }

  // A parsed JSON object of this name has `key` at its top level.
  [[nodiscard]] bool object_has(std::string_view key) const {
    if (!has_object_) return false;
    const uint32_t end = event_.first_field + event_.field_count;
    for (uint32_t i = event_.first_field; i < end; ++i) {
      const Field& field = batch_.fields[i];
      if (field.key == name_ && is_json_object(field.value) &&
          json_object_has_key(field.value.text, key))
        return true;
    }
    return false;
  }

  // The parsed members (object or dotted keys) already have `segment`.
  [[nodiscard]] bool parsed_has(std::string_view segment) const {
    const uint32_t end = event_.first_field + event_.field_count;
    for (uint32_t i = event_.first_field; i < end; ++i) {
      const std::string_view key = batch_.fields[i].key;
      if (object_of(i) == index_ && key.size() > name_.size() &&
          first_segment(key.substr(name_.size() + 1)) == segment)
        return true;
    }
    return object_has(segment);
  }

  template <typename Members>
  void write_metadata(Members& members) {
    const Origin* origin = batch_.origin.get();
    if (index_ == kLogObject && origin && !origin->file_path.empty()) {
      if (!parsed_has("file")) {
        members.member("file.path", Value{ValueKind::String, false, origin->file_path});
      }
      if (!parsed_has("offset")) {
        auto [last, ec] = std::to_chars(digits_, digits_ + sizeof digits_, event_.offset);
        if (recording_memo != nullptr) recording_memo->expect_offset_text(digits_);
        members.member("offset",
                       Value{ValueKind::Number, true,
                             std::string_view(digits_, static_cast<size_t>(last - digits_))});
      }
    }
    if (index_ == kHostObject && !(event_.hidden_meta & kMetaHost) && !parsed_has("name")) {
      members.member("name", Value{ValueKind::String, false, meta_.host_name});
    }
    auto dotted_metadata = [&](std::string_view key, const Value& value) {
      if (merged_object_of(key) != index_ || key.size() == name_.size()) return;
      const std::string_view relative = key.substr(name_.size() + 1);
      if (!parsed_has(first_segment(relative))) members.member(relative, value);
    };
    if (origin) {
      for (const auto& [key, value] : origin->fields) {
        dotted_metadata(key, Value{ValueKind::String, false, value});
      }
      // The origin's maps after its fields, as append_source_metadata() writes them.
      for (const OriginMap& map : origin->maps) {
        if (merged_object_of(map.key) != index_ || map.key.size() == name_.size()) continue;
        const std::string_view relative = std::string_view(map.key).substr(name_.size() + 1);
        if (!parsed_has(first_segment(relative))) {
          members.member_json(relative, dedot_ ? map.json_dedot : map.json);
        }
      }
    }
    const uint32_t meta_end = event_.meta_first + event_.meta_count;
    for (uint32_t i = event_.meta_first; i < meta_end; ++i) {
      dotted_metadata(batch_.meta[i].key, batch_.meta[i].value);
    }
  }

  const Batch& batch_;
  const Event& event_;
  const SourceMeta& meta_;
  const int index_;
  const std::string_view name_;
  const bool has_object_;
  const int8_t* const object_of_;
  const bool dedot_;  // EncodingSpec::dedot_map_keys
  ByteBuffer& out_;
  bool any_ = false;
  char digits_[24];
};

}  // namespace

int merged_object_of(std::string_view key) {
  if (key.size() < 3) return -1;
  // One candidate per first letter (two for `k`), so most keys cost one comparison.
  auto under = [key](std::string_view name) {
    return key.starts_with(name) && (key.size() == name.size() || key[name.size()] == '.');
  };
  switch (key[0]) {
    case 'l':
      return under("log") ? 0 : -1;
    case 'h':
      return under("host") ? 1 : -1;
    case 'p':
      return under("process") ? 2 : -1;
    case 'k':
      return under("kubernetes") ? 3 : under("kafka") ? 5 : -1;
    case 'c':
      return under("container") ? 4 : -1;
    default:
      return -1;
  }
}

size_t merged_object_name_size(int index) { return kMergedObjectNames[index].size(); }

void write_merged_object(const Batch& batch, const Event& event, const SourceMeta& meta, int index,
                         bool has_object, const int8_t* object_of, bool dedot, ByteBuffer& out) {
  MergedObjectWriter(batch, event, meta, index, has_object, object_of, dedot, out).write();
}

}  // namespace sluice::encoder_detail
