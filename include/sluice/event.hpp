#pragma once
// The event model. An event is a view: its line and field texts point into the arena of the
// batch that carries it, so parsing and routing never allocate per event.
#include <cstdint>
#include <string_view>

namespace sluice {

enum class ValueKind : uint8_t {
  String,  // unescaped bytes; may hold invalid UTF-8 unless `utf8_valid`
  Number,  // a JSON number literal, as written
  Bool,    // `true` or `false`
  Null,    // `null`
  Json,    // a complete, valid, compact JSON object or array
};

struct Value {
  ValueKind kind = ValueKind::String;
  bool utf8_valid = false;  // String only: known valid, so the encoder can skip validation
  std::string_view text;
};

struct Field {
  std::string_view key;
  Value value;
};

// Flags carried to the output as `tags`.
enum EventFlag : uint16_t {
  kFlagSplit = 1u << 0,       // the line was longer than max_line_bytes and was cut here
  kFlagParseError = 1u << 1,  // the configured parser could not parse the line
};

// Metadata fields a remap may hide (they are emitted by the encoder, not stored as fields).
enum MetaField : uint8_t {
  kMetaSource = 1u << 0,
  kMetaStream = 1u << 1,
  kMetaHost = 1u << 2,
  kMetaTimestamp = 1u << 3,
};

// Which stream an event came from when one batch mixes streams (container runtime logs).
enum class StreamId : uint8_t {
  FromBatch = 0,  // Batch::stream
  Stdout = 1,
  Stderr = 2,
};

struct Event {
  std::string_view line;  // the raw line, without its line terminator
  // UTC nanoseconds since the epoch. A source may preset it (a container runtime's time): the
  // parser keeps it when the line has no timestamp of its own; 0 = the batch's read time.
  int64_t timestamp_ns = 0;
  // Byte offset of the record's first byte in its file or stream (file sources: `log.offset`).
  uint64_t offset = 0;
  uint32_t first_field = 0;  // index into Batch::fields
  uint32_t field_count = 0;
  uint16_t flags = 0;
  uint8_t hidden_meta = 0;  // MetaField bits
  // Position (within the event's fields) of the field @timestamp came from, or 0xFF. Text
  // output leaves it out: it would repeat the time printed first.
  uint8_t timestamp_field = 0xFF;
  StreamId stream_id = StreamId::FromBatch;
  // Metadata the source knew per event (`kafka.offset`, `kafka.key`): Batch::meta indexes.
  uint16_t meta_count = 0;
  uint32_t meta_first = 0;
};

}  // namespace sluice
