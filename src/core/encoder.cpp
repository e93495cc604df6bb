#include "core/encoder.hpp"
#include "core/text_encoder.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <vector>

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
using encoder_detail::recording_memo;
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

// The source metadata group of first segment `top`.
uint16_t top_group_bit(std::string_view top) {
  if (top == "kubernetes") return kTakenKubernetes;
  if (top == "container") return kTakenContainer;
  if (top == "log") return kTakenLog;
  if (top == "kafka") return kTakenKafka;
  return 0;
}

// The source metadata groups a parsed field of the same top-level name replaces.
uint16_t group_bit(std::string_view key) { return top_group_bit(key.substr(0, key.find('.'))); }

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

// The origin's fields, each of its maps right after the last field of the map's first segment
// (or after all of them), so that the members of one top-level object stay adjacent. Per field,
// the one search for its first dot that group_bit() makes anyway and a comparison with the
// previous field's first segment; the maps are looked at only where that segment changes.
template <typename Members>
void append_origin_fields_and_maps(const Origin& origin, uint16_t taken, bool dedot,
                                   Members& members) {
  uint64_t written = 0;  // bit i: maps[i] is written (add_origin_map keeps at most 64)
  auto write_maps_of = [&](std::string_view top) {
    for (size_t m = 0; m < origin.maps.size(); ++m) {
      const OriginMap& map = origin.maps[m];
      const std::string_view map_top = std::string_view(map.key).substr(0, map.key.find('.'));
      if ((written & (uint64_t{1} << m)) || (!top.empty() && map_top != top)) continue;
      written |= uint64_t{1} << m;
      if (!(taken & top_group_bit(map_top))) {
        members.member_json(map.key, dedot ? map.json_dedot : map.json);
      }
    }
  };
  std::string_view previous_top;
  for (const auto& [key, value] : origin.fields) {
    const std::string_view top = std::string_view(key).substr(0, key.find('.'));
    if (top != previous_top && !previous_top.empty()) write_maps_of(previous_top);
    previous_top = top;
    if (!(taken & top_group_bit(top))) members.member(key, Value{ValueKind::String, false, value});
  }
  if (!previous_top.empty()) write_maps_of(previous_top);
  write_maps_of({});  // the maps no field shares a first segment with
}

// `"log":{"file":{"path":..},"offset":N}`, the origin's fields and maps and the event's own
// metadata.
template <typename Separator>
void append_source_metadata(const Batch& batch, const Event& event, uint16_t taken, bool dedot,
                            Separator& sep, ByteBuffer& out) {
  const Origin* origin = batch.origin.get();
  if (origin && !origin->file_path.empty() && !(taken & kTakenLog)) {
    sep();
    out.append("\"log\":{\"file\":{\"path\":");
    append_json_string(out, origin->file_path, false);
    out.append("},\"offset\":");
    char digits[24];
    auto [end, ec] = std::to_chars(digits, digits + sizeof digits, event.offset);
    const size_t at = out.size();
    out.append(std::string_view(digits, static_cast<size_t>(end - digits)));
    if (recording_memo != nullptr) recording_memo->record_offset(at, out.size());
    out.push_back('}');
  }
  NestedMembers members(out, sep);
  if (origin) {
    if (origin->maps.empty()) [[likely]] {
      for (const auto& [key, value] : origin->fields) {
        if (taken & group_bit(key)) continue;
        members.member(key, Value{ValueKind::String, false, value});
      }
    } else {
      append_origin_fields_and_maps(*origin, taken, dedot, members);
    }
  }
  const uint32_t end = event.meta_first + event.meta_count;
  for (uint32_t i = event.meta_first; i < end; ++i) {
    const Field& field = batch.meta[i];
    if (taken & group_bit(field.key)) continue;
    members.member(field.key, field.value);
  }
}

void encode_json(const Batch& batch, const Event& event, const SourceMeta& meta, bool dedot,
                 ByteBuffer& out) {
  out.push_back('{');
  bool first = true;
  if (!(event.hidden_meta & kMetaTimestamp)) {
    char* p = out.prepare(16 + kRfc3339Length);
    constexpr std::string_view kKey = "\"@timestamp\":\"";
    std::copy_n(kKey.data(), kKey.size(), p);
    format_rfc3339(event.timestamp_ns, p + 14);
    p[14 + kRfc3339Length] = '"';
    const size_t at = out.size() + 14;
    out.commit(15 + kRfc3339Length);
    if (recording_memo != nullptr) recording_memo->record_timestamp(at, at + kRfc3339Length);
    first = false;
  }
  const bool wrote_timestamp = !first;
  uint16_t taken = 0;
  const uint32_t end = event.first_field + event.field_count;
  // Which merged objects the parsed fields hold, and which of them a parsed scalar claims. Each
  // field's merged object is found once (per thread, the buffer only grows: no allocation per
  // event once warm).
  thread_local std::vector<int8_t> object_of_field;
  object_of_field.resize(event.field_count);
  unsigned merged = 0, scalar = 0, objects = 0, written = 0;
  for (uint32_t i = event.first_field; i < end; ++i) {
    const Field& field = batch.fields[i];
    const int index = field.key.data() == nullptr ? -1 : merged_object_of(field.key);
    object_of_field[i - event.first_field] = static_cast<int8_t>(index);
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
      // A merged object index or -1, not a character.
      const int index =
          object_of_field[i - event.first_field];  // NOLINT(bugprone-signed-char-misuse)
      if (index >= 0 && !(scalar & (1u << index))) {
        if (!(written & (1u << index))) {
          if (!first) out.push_back(',');
          first = false;
          write_merged_object(batch, event, meta, index, (objects & (1u << index)) != 0,
                              object_of_field.data(), dedot, out);
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
  if (batch.origin || event.meta_count) {
    append_source_metadata(batch, event, taken, dedot, sep, out);
  }
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

}  // namespace

namespace encoder_detail {
constinit thread_local EncodeMemo* recording_memo = nullptr;
}  // namespace encoder_detail

void encode_event(const Batch& batch, const Event& event, const SourceMeta& meta, EncodingSpec spec,
                  ByteBuffer& out, EncodeMemo& memo) {
  if (spec.kind != EncodingSpec::Kind::Json) {
    encode_event(batch, event, meta, spec, out);
    return;
  }
  if (memo.write_recorded(batch, event, meta, out)) return;
  if (!memo.should_record(batch, event, meta)) {
    encode_json(batch, event, meta, spec.dedot_map_keys, out);
    return;
  }
  memo.record_begin(batch, event, out.size());
  recording_memo = &memo;
  encode_json(batch, event, meta, spec.dedot_map_keys, out);
  recording_memo = nullptr;
  memo.record_end(out, out.size());
}

void encode_event(const Batch& batch, const Event& event, const SourceMeta& meta, EncodingSpec spec,
                  ByteBuffer& out) {
  switch (spec.kind) {
    case EncodingSpec::Kind::Json:
      encode_json(batch, event, meta, spec.dedot_map_keys, out);
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
