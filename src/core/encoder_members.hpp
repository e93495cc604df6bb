#pragma once
// Encoder internals shared by encoder.cpp and merged_objects.cpp: JSON members with dotted keys
// written as nested objects, and the merging of parsed fields into the metadata objects.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/json_writer.hpp"
#include "core/encode_memo.hpp"
#include "sluice/batch.hpp"
#include "sluice/byte_buffer.hpp"
#include "sluice/source_meta.hpp"

namespace sluice::encoder_detail {

// The memo recording the layout of the event being encoded (encode_memo.hpp), or null, as it is
// for almost every event: set by encode_event() on this thread around one general encoding.
extern constinit thread_local EncodeMemo* recording_memo;

inline void append_value(ByteBuffer& out, const Value& value) {
  const size_t start = out.size();
  if (value.kind == ValueKind::String) {
    append_json_string(out, value.text, value.utf8_valid);
  } else {
    out.append(value.text);
  }
  if (recording_memo != nullptr) [[unlikely]] {
    recording_memo->record_field_value(&value, start, out.size());
  }
}

// The position of the first '.' in `key`, or npos. Keys are short: a loop costs less than the
// call find() makes.
inline size_t find_dot(std::string_view key) {
  for (size_t i = 0; i < key.size(); ++i) {
    if (key[i] == '.') return i;
  }
  return std::string_view::npos;
}

// Writes members with dotted keys as nested objects; consecutive keys share the objects of
// their common prefix (`kubernetes.pod.name`, `kubernetes.pod.uid` →
// "kubernetes":{"pod":{"name":..,"uid":..}}).
template <typename Separator>
class NestedMembers {
 public:
  NestedMembers(ByteBuffer& out, Separator& sep) : out_(out), sep_(sep) {}
  ~NestedMembers() { close(); }
  // A member under its dotted name as it is, after closing the objects still open.
  void flat(std::string_view key, const Value& value) {
    close();
    sep_();
    append_json_string(out_, key, false);
    out_.push_back(':');
    append_value(out_, value);
  }
  // Closes the objects still open, so that other members can be written after them.
  void close() {
    for (; depth_ > 0; --depth_) out_.push_back('}');
  }
  NestedMembers(const NestedMembers&) = delete;
  NestedMembers& operator=(const NestedMembers&) = delete;

  void member(std::string_view key, const Value& value) {
    append_json_string(out_, open_objects_of(key), true);
    out_.push_back(':');
    append_value(out_, value);
  }

  // A member whose value is JSON text already (an origin's map, worked out once per origin).
  void member_json(std::string_view key, std::string_view json) {
    append_json_string(out_, open_objects_of(key), true);
    out_.push_back(':');
    out_.append(json);
  }

 private:
  // Opens the objects of `key`'s leading segments that are not open yet (closing those of the
  // previous key it does not share) and writes the separator: the member's own name is left.
  std::string_view open_objects_of(std::string_view key) {
    // The key's segments, read in place: segment i is an object (not the member's own name)
    // while a dot follows it and i < kMaxDepth - 1 (the last level takes the rest of the key).
    std::string_view rest = key;
    size_t dot = find_dot(rest);
    auto is_object = [&](size_t i) { return dot != std::string_view::npos && i + 1 < kMaxDepth; };
    auto next = [&] {
      rest.remove_prefix(dot + 1);
      dot = find_dot(rest);
    };
    size_t common = 0;
    while (common < depth_ && is_object(common) && open_[common].view() == rest.substr(0, dot)) {
      next();
      ++common;
    }
    for (; depth_ > common; --depth_) out_.push_back('}');
    // Still inside an object of the previous key: it has members already.
    if (depth_ == 0) {
      sep_();
    } else {
      out_.push_back(',');
    }
    for (; is_object(depth_); next()) {
      const std::string_view segment = rest.substr(0, dot);
      append_json_string(out_, segment, true);
      out_.append(":{");
      open_[depth_++] = OpenObject{segment.data(), segment.size()};
    }
    return rest;
  }

  static constexpr size_t kMaxDepth = 8;
  // A trivial type, so that the array below is not zeroed for every use of the class (it is read
  // only below depth_).
  struct OpenObject {
    const char* data;
    size_t size;
    [[nodiscard]] std::string_view view() const { return {data, size}; }
  };
  ByteBuffer& out_;
  Separator& sep_;
  OpenObject open_[kMaxDepth];  // the objects currently open, outermost first
  size_t depth_ = 0;
};

// ECS objects that parsed fields and metadata share (`log`, `host`, `process`, `kubernetes`,
// `container`, `kafka`, in this order). A parsed JSON object of that name and parsed dotted keys
// under it (`log.logger`, `host.hostname`) are written as one object together with the metadata
// of that name (`log.file.path`, `host.name`): the metadata is merged in, not dropped, and a
// member the line has itself wins. A parsed scalar of that name still replaces the metadata (an
// object and a scalar cannot share one key).
inline constexpr size_t kMergedObjectCount = 6;

// Index of the merged object `key` is (or is a dotted key under), or -1.
int merged_object_of(std::string_view key);

// A Json value holding an object.
inline bool is_json_object(const Value& value) {
  return value.kind == ValueKind::Json && value.text.size() >= 2 && value.text.front() == '{';
}

// Writes `"name":{...}` for merged object `index`: the event's parsed members of it, then the
// metadata members the parsed ones do not already have. `has_object`: the event has a parsed
// JSON object of that name. `object_of[k]`: merged_object_of() of the event's k-th field's key
// (-1 for a removed field), found once by the caller. `dedot`: EncodingSpec::dedot_map_keys.
void write_merged_object(const Batch& batch, const Event& event, const SourceMeta& meta, int index,
                         bool has_object, const int8_t* object_of, bool dedot, ByteBuffer& out);

// The length of merged object `index`'s name.
size_t merged_object_name_size(int index);

}  // namespace sluice::encoder_detail
