#pragma once
// Encoder internals shared by encoder.cpp and merged_objects.cpp: JSON members with dotted keys
// written as nested objects, and the merging of parsed fields into the metadata objects.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/json_writer.hpp"
#include "sluice/batch.hpp"
#include "sluice/byte_buffer.hpp"
#include "sluice/source_meta.hpp"

namespace sluice::encoder_detail {

inline void append_value(ByteBuffer& out, const Value& value) {
  if (value.kind == ValueKind::String) {
    append_json_string(out, value.text, value.utf8_valid);
  } else {
    out.append(value.text);
  }
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
    std::string_view segments[kMaxDepth];
    size_t count = 0;
    for (std::string_view rest = key; count < kMaxDepth;) {
      size_t dot = rest.find('.');
      if (dot == std::string_view::npos || count == kMaxDepth - 1) {
        segments[count++] = rest;
        break;
      }
      segments[count++] = rest.substr(0, dot);
      rest = rest.substr(dot + 1);
    }
    size_t common = 0;
    while (common < depth_ && common + 1 < count && open_[common] == segments[common]) ++common;
    for (; depth_ > common; --depth_) out_.push_back('}');
    // Still inside an object of the previous key: it has members already.
    if (depth_ == 0) {
      sep_();
    } else {
      out_.push_back(',');
    }
    for (size_t i = depth_; i + 1 < count; ++i) {
      append_json_string(out_, segments[i], true);
      out_.append(":{");
      open_[depth_++] = segments[i];
    }
    append_json_string(out_, segments[count - 1], true);
    out_.push_back(':');
    append_value(out_, value);
  }

 private:
  static constexpr size_t kMaxDepth = 8;
  ByteBuffer& out_;
  Separator& sep_;
  std::string_view open_[kMaxDepth];  // the objects currently open, outermost first
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
// JSON object of that name.
void write_merged_object(const Batch& batch, const Event& event, const SourceMeta& meta, int index,
                         bool has_object, ByteBuffer& out);

// The length of merged object `index`'s name.
size_t merged_object_name_size(int index);

}  // namespace sluice::encoder_detail
