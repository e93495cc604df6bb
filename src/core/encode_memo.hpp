#pragma once
// The JSON layout of recent events, kept so that the next event of the same shape is written as
// that layout's constant bytes with its own values in between, without working the layout out
// again. A file or stream that keeps one format (every syslog line has `message`,
// `host.hostname`, `process.name`, `process.pid`) then costs little more per event than copying
// its values: merging parsed members into the metadata objects, sorting dotted keys and
// choosing separators happen once per shape and batch instead of once per event.
//
// A layout depends on the event's field keys and value kinds, its flags, its hidden metadata and
// its stream, and on what is constant within one batch and one output (the source's metadata,
// the batch's origin and stream, the encoding). The memo compares the first set per event, key
// by key; its owner calls reset() for every new batch and output. Events it cannot vouch for
// (a JSON-valued field, whose members decide the merging; per-event metadata; `event.original`)
// are written by the general encoder.
#include <cstdint>
#include <string>
#include <vector>

#include "sluice/batch.hpp"
#include "sluice/byte_buffer.hpp"
#include "sluice/source_meta.hpp"

namespace sluice {

class EncodeMemo {
 public:
  // A new batch or output: the layouts recorded so far may not apply to it.
  void reset() {
    for (Shape& shape : shapes_) shape.valid = false;
    next_slot_ = 0;
    hits_ = 0;
    misses_ = 0;
  }

  // Events written from a recorded layout since the last reset().
  [[nodiscard]] uint64_t hits() const { return hits_; }

  // What encode_event() uses: whether the event can be written from a recorded layout (and
  // writes it), or needs the general encoder (then record_begin/record_end around it).
  bool write_recorded(const Batch& batch, const Event& event, const SourceMeta& meta,
                      ByteBuffer& out);
  // Whether to record the general encoder's output for this event (a miss the memo may use).
  [[nodiscard]] bool should_record(const Batch& batch, const Event& event,
                                   const SourceMeta& meta) const;

  // Recording, while the general encoder writes one event (encode_event() makes this memo the
  // thread's encoder_detail::recording_memo meanwhile). Positions are offsets into `out`.
  void record_begin(const Batch& batch, const Event& event, size_t start);
  void record_field_value(const Value* value, size_t start, size_t end);
  void record_timestamp(size_t start, size_t end);
  void record_offset(size_t start, size_t end);
  void record_end(const ByteBuffer& out, size_t end);
  // The text the general encoder writes an event's offset from (a member of a merged `log`
  // object): a value whose text starts there is the offset.
  void expect_offset_text(const char* text) { offset_text_ = text; }

 private:
  enum class HoleKind : uint8_t { Field, Timestamp, Offset };
  struct Hole {
    HoleKind kind;
    uint32_t field;        // Field: index among the event's fields
    uint32_t literal_end;  // the constant bytes before this hole end here in `literals`
  };
  struct KeySig {
    uint32_t offset;  // into `keys`
    uint32_t size;
    ValueKind kind;
    bool removed;
  };
  struct Shape {
    bool valid = false;
    uint32_t field_count = 0;
    uint16_t tag_flags = 0;
    uint8_t hidden_meta = 0;
    StreamId stream_id = StreamId::FromBatch;
    std::vector<KeySig> sigs;
    std::string keys;
    std::string literals;
    std::vector<Hole> holes;
  };
  struct Pending {  // a hole seen while recording, in output order
    HoleKind kind;
    uint32_t field;
    size_t start, end;
  };

  static constexpr size_t kShapes = 16;
  static constexpr uint32_t kMaxFields = 64;

  [[nodiscard]] bool matches(const Shape& shape, const Batch& batch, const Event& event) const;
  // A batch whose events keep changing layout (more misses than hits after a few): it records
  // no more layouts, and with none of them ever matching, is not compared with them either.
  [[nodiscard]] bool gave_up() const { return misses_ > 8 && misses_ > hits_; }

  Shape shapes_[kShapes];
  size_t next_slot_ = 0;
  uint64_t hits_ = 0, misses_ = 0;
  // Recording state.
  Shape* recording_ = nullptr;
  const Field* fields_ = nullptr;  // the recorded event's first field
  size_t start_ = 0;
  std::vector<Pending> pending_;
  const char* offset_text_ = nullptr;
};

}  // namespace sluice
