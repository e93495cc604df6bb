#pragma once
// Decodes the records container runtimes write to their log files back into the application's
// lines. Two formats, detected per record:
//  - Docker json-file: {"log":"<JSON-escaped text>\n","stream":"stdout","time":"<RFC 3339>"}
//    (other keys, e.g. "attrs", are skipped; "stream" and "time" may be absent).
//  - CRI (containerd, CRI-O): `<RFC 3339 time> <stdout|stderr> <tag> <message>`, where the first
//    `:`-separated part of the tag is `P` (partial) or `F` (full).
// Runtimes cut long lines into several records (Docker: `log` without a trailing "\n"; CRI: tag
// `P`); the decoder joins them again, per stream, up to max_line_bytes.
//
// Why this sits between the framer and the parser: the framer cuts the file into records, the
// parser wants the application's own text, and only here is it known which records belong to
// one line and when the runtime wrote them.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sluice/batch.hpp"
#include "sluice/byte_buffer.hpp"
#include "sluice/event.hpp"

namespace sluice {

class RuntimeDecoder {
 public:
  explicit RuntimeDecoder(size_t max_line_bytes);

  // `in`: raw runtime records framed one per event (Event::line without its "\n"; Event::offset
  // is the record's byte offset in the file; kFlagSplit marks the pieces of a record the framer
  // cut because it was longer than its limit).
  // Appends the application's lines to `out` (`out` must not be `in`): their bytes are copied
  // into out.bytes, which keeps kReadPadding spare bytes after the last one; one event each
  // with the line, the offset of the line's first record, the runtime's time, and the stream.
  // Events already in `out` stay valid (they are re-pointed if out.bytes has to grow).
  //
  // Bad input is never dropped: a record that is neither format (or corrupt JSON) becomes an
  // event holding the raw record, flagged kFlagParseError, timed at in.read_time_ns, counted
  // in malformed().
  //
  // Records the framer cut into pieces (longer than its limit) are still decoded: a CRI
  // record's message is taken piece by piece; a Docker record is reassembled first (its stream
  // comes after its text), up to 2 * max_line_bytes + 128 KiB, which holds any record dockerd
  // writes (it splits lines at 16 KiB of text); longer ones are passed on raw and flagged. The
  // last piece is only known to be the last when the next record (or flush_pending) arrives.
  // Telling two consecutive cut records apart needs Event::offset (either the record's offset
  // on every piece, or each piece's own offset).
  void decode(const Batch& in, Batch& out);

  // Whether partial lines (or pieces of a cut record) are being kept for records to come.
  [[nodiscard]] bool has_pending() const;
  // The offset of the first record of the oldest kept partial: a checkpoint must not pass it.
  // UINT64_MAX when nothing is kept, so min(checkpoint, pending_offset()) always works.
  [[nodiscard]] uint64_t pending_offset() const;
  // The file will never grow again (rotated away and drained, or deleted): emits the kept
  // partials as they are.
  void flush_pending(Batch& out);

  // Records emitted raw with kFlagParseError (neither format, or corrupt).
  [[nodiscard]] uint64_t malformed() const { return malformed_; }
  // Lines assembled from two or more records.
  [[nodiscard]] uint64_t joined() const { return joined_; }
  // Docker records whose "log" held an invalid escape (kept verbatim in the line).
  [[nodiscard]] uint64_t invalid_escapes() const { return invalid_escapes_; }

 private:
  // Where a piece of a line came from; a line reports the time and offset of its first record.
  struct Stamp {
    uint64_t offset = 0;
    int64_t time_ns = 0;
  };
  // A line still waiting for records, one per stream (StreamId indexes them).
  struct Partial {
    ByteBuffer bytes;
    Stamp stamp;
    uint32_t records = 0;
    bool active = false;
    bool cut = false;  // pieces of this line were already emitted: the rest is flagged split
  };
  // A record the framer cut into pieces, whose next piece may still come.
  enum class OpenKind : uint8_t { None, Cri, Docker, Raw };
  struct OpenRecord {
    OpenKind kind = OpenKind::None;
    StreamId stream = StreamId::FromBatch;
    bool partial = false;  // CRI tag P: the line goes on in the next record
    Stamp stamp;
  };

  void record(const Event& e, int64_t read_time_ns, Batch& out);
  void close_open(Batch& out);
  // Decodes one whole Docker record (or passes it on raw when it is not one).
  void docker_line(Batch& out, std::string_view record, uint64_t offset, int64_t read_time_ns);
  // The line text of one record was written (uncommitted) at the end of out.bytes: joins it
  // with the stream's partial and emits what is complete. `new_record` is false for the further
  // pieces of a record the framer cut, which are one record, not a join.
  void take(Batch& out, size_t n, StreamId stream, Stamp stamp, bool ends_line,
            bool new_record = true);
  // Commits `n` bytes at `pos` as one line, cut into max_line_bytes pieces when longer.
  void emit(Batch& out, size_t pos, size_t n, StreamId stream, Stamp first, Stamp rest,
            uint16_t flags);
  void emit_raw(Batch& out, std::string_view text, Stamp stamp, uint16_t flags);
  [[nodiscard]] size_t pending_bytes() const;

  size_t max_line_bytes_;
  std::array<Partial, 3> partials_;
  OpenRecord open_;
  ByteBuffer docker_record_;  // the pieces so far of a Docker record the framer cut
  uint64_t last_offset_ = 0;  // the previous input event, to recognise a cut record's pieces
  size_t last_size_ = 0;
  uint64_t malformed_ = 0;
  uint64_t joined_ = 0;
  uint64_t invalid_escapes_ = 0;
};

}  // namespace sluice
