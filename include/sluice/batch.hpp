#pragma once
// A batch: one contiguous buffer of raw line bytes read by a source, the events framed from it,
// and the fields parsed out of them. Batches move between threads as a unit and are recycled.
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "sluice/ack.hpp"
#include "sluice/arena.hpp"
#include "sluice/byte_buffer.hpp"
#include "sluice/event.hpp"
#include "sluice/origin.hpp"

namespace sluice {

// simdjson reads up to this many bytes past the end of a value; the line buffer keeps them.
inline constexpr size_t kReadPadding = 64;

struct Batch {
  ByteBuffer bytes;           // raw input; every Event::line points in here
  Arena arena;                // derived bytes (unescaped strings, rewritten values)
  std::vector<Event> events;  // framed lines, then parsed
  std::vector<Field> fields;  // Event::first_field indexes this
  // Per-event metadata set by the source under dotted names (Event::meta_first indexes this);
  // one event's keys sharing a first segment are adjacent. Emitted after the origin's fields.
  std::vector<Field> meta;

  uint32_t source_index = 0;  // dense id of the source component
  std::string_view stream;    // "stdout", "stderr", "stdin", ... (static storage)
  uint64_t seq = 0;           // per-source sequence, assigned when pushed
  int64_t read_time_ns = 0;   // when the bytes were read; fallback timestamp
  // The year of year-less times in the lines (BSD syslog, logcat) is inferred against this: a
  // file's modification time, set by file sources; 0 = the time of parsing.
  int64_t year_anchor_ns = 0;
  uint64_t checkpoint = 0;  // source-defined position after this batch (e.g. file offset)
  // Where the events were read from, when a source reads many places (file sources): one
  // shared description per file, so metadata costs nothing per event.
  std::shared_ptr<const Origin> origin;
  AckToken* ack = nullptr;

  void reset() {
    bytes.clear();
    arena.reset();
    events.clear();
    fields.clear();
    meta.clear();
    ack = nullptr;
    seq = 0;
    read_time_ns = 0;
    year_anchor_ns = 0;
    checkpoint = 0;
    origin.reset();
  }
};

// The stream an event came from: its own when the source set one, else its batch's.
inline std::string_view event_stream(const Batch& batch, const Event& event) {
  switch (event.stream_id) {
    case StreamId::Stdout:
      return "stdout";
    case StreamId::Stderr:
      return "stderr";
    case StreamId::FromBatch:
      break;
  }
  return batch.stream;
}

}  // namespace sluice
