#include "core/encode_memo.hpp"

#include <charconv>
#include <cstring>

#include "base/civil_time.hpp"
#include "core/encoder_members.hpp"

namespace sluice {

namespace {

constexpr uint16_t kTagFlags = kFlagSplit | kFlagParseError;

// Events whose layout depends on more than the memo compares.
bool layout_is_comparable(const Event& event, const SourceMeta& meta) {
  return event.meta_count == 0 && !meta.keep_raw;
}

}  // namespace

bool EncodeMemo::matches(const Shape& shape, const Batch& batch, const Event& event) const {
  if (!shape.valid || shape.field_count != event.field_count ||
      shape.tag_flags != (event.flags & kTagFlags) || shape.hidden_meta != event.hidden_meta ||
      shape.stream_id != event.stream_id)
    return false;
  const Field* fields = batch.fields.data() + event.first_field;
  for (uint32_t i = 0; i < event.field_count; ++i) {
    const KeySig& sig = shape.sigs[i];
    const Field& field = fields[i];
    if (field.value.kind != sig.kind || field.key.size() != sig.size ||
        (field.key.data() == nullptr) != sig.removed)
      return false;
    if (sig.size != 0 &&
        std::memcmp(field.key.data(), shape.keys.data() + sig.offset, sig.size) != 0)
      return false;
  }
  return true;
}

bool EncodeMemo::write_recorded(const Batch& batch, const Event& event, const SourceMeta& meta,
                                ByteBuffer& out) {
  if (!layout_is_comparable(event, meta) || (hits_ == 0 && gave_up())) return false;
  const Shape* hit = nullptr;
  for (const Shape& shape : shapes_) {
    if (matches(shape, batch, event)) {
      hit = &shape;
      break;
    }
  }
  if (hit == nullptr) {
    ++misses_;
    return false;
  }
  ++hits_;
  const Field* fields = batch.fields.data() + event.first_field;
  const char* literals = hit->literals.data();
  uint32_t written = 0;
  for (const Hole& hole : hit->holes) {
    out.append(std::string_view(literals + written, hole.literal_end - written));
    written = hole.literal_end;
    switch (hole.kind) {
      case HoleKind::Field:
        encoder_detail::append_value(out, fields[hole.field].value);
        break;
      case HoleKind::Timestamp:
        format_rfc3339(event.timestamp_ns, out.prepare(kRfc3339Length));
        out.commit(kRfc3339Length);
        break;
      case HoleKind::Offset: {
        char* p = out.prepare(24);
        auto [end, ec] = std::to_chars(p, p + 24, event.offset);
        out.commit(static_cast<size_t>(end - p));
        break;
      }
    }
  }
  out.append(std::string_view(literals + written, hit->literals.size() - written));
  return true;
}

bool EncodeMemo::should_record(const Batch& batch, const Event& event,
                               const SourceMeta& meta) const {
  if (gave_up()) return false;
  if (!layout_is_comparable(event, meta) || event.field_count > kMaxFields) return false;
  const Field* fields = batch.fields.data() + event.first_field;
  for (uint32_t i = 0; i < event.field_count; ++i) {
    if (fields[i].value.kind == ValueKind::Json) return false;  // its members decide the merging
  }
  return true;
}

void EncodeMemo::record_begin(const Batch& batch, const Event& event, size_t start) {
  Shape& shape = shapes_[next_slot_];
  next_slot_ = (next_slot_ + 1) % kShapes;
  shape.valid = false;
  shape.field_count = event.field_count;
  shape.tag_flags = event.flags & kTagFlags;
  shape.hidden_meta = event.hidden_meta;
  shape.stream_id = event.stream_id;
  shape.sigs.clear();
  shape.keys.clear();
  shape.literals.clear();
  shape.holes.clear();
  fields_ = batch.fields.data() + event.first_field;
  for (uint32_t i = 0; i < event.field_count; ++i) {
    const Field& field = fields_[i];
    shape.sigs.push_back(KeySig{static_cast<uint32_t>(shape.keys.size()),
                                static_cast<uint32_t>(field.key.size()), field.value.kind,
                                field.key.data() == nullptr});
    shape.keys.append(field.key);
  }
  pending_.clear();
  start_ = start;
  offset_text_ = nullptr;
  recording_ = &shape;
}

void EncodeMemo::record_field_value(const Value* value, size_t start, size_t end) {
  if (recording_ == nullptr) return;
  if (offset_text_ != nullptr && value->text.data() == offset_text_) {
    record_offset(start, end);
    return;
  }
  // A value of one of the event's own fields (the others are constant within the batch).
  const auto first = reinterpret_cast<uintptr_t>(&fields_[0].value);
  const auto at = reinterpret_cast<uintptr_t>(value);
  if (at < first) return;
  const uintptr_t distance = at - first;
  if (distance % sizeof(Field) != 0 || distance / sizeof(Field) >= recording_->field_count) return;
  pending_.push_back(
      Pending{HoleKind::Field, static_cast<uint32_t>(distance / sizeof(Field)), start, end});
}

void EncodeMemo::record_timestamp(size_t start, size_t end) {
  if (recording_ != nullptr) pending_.push_back(Pending{HoleKind::Timestamp, 0, start, end});
}

void EncodeMemo::record_offset(size_t start, size_t end) {
  if (recording_ != nullptr) pending_.push_back(Pending{HoleKind::Offset, 0, start, end});
}

void EncodeMemo::record_end(const ByteBuffer& out, size_t end) {
  Shape& shape = *recording_;
  recording_ = nullptr;
  offset_text_ = nullptr;
  size_t copied = start_;
  for (const Pending& hole : pending_) {
    if (hole.start < copied) return;  // not in output order: not a layout this memo can replay
    shape.literals.append(out.data() + copied, hole.start - copied);
    shape.holes.push_back(
        Hole{hole.kind, hole.field, static_cast<uint32_t>(shape.literals.size())});
    copied = hole.end;
  }
  shape.literals.append(out.data() + copied, end - copied);
  shape.valid = true;
}

}  // namespace sluice
