#pragma once
// Reads one byte stream (stdin, one pipe of a child) into batches: reads straight into the
// batch buffer, frames lines in place, and pushes a batch when it is full or the stream goes
// quiet. The unfinished last line is carried into the next batch. With `multiline` set, lines
// of one record (a stack trace) are joined into one event before the batch is pushed; a record
// that may go on is kept until its next line or until it waited `flush_after`.
#include <sys/types.h>
#include <memory>
#include <string_view>

#include "parse/framer.hpp"
#include "parse/multiline.hpp"
#include "sluice/source.hpp"

namespace sluice {

class StreamReader {
 public:
  // `passthrough_fd` >= 0: every byte read is also written there, unchanged.
  StreamReader(SourceContext& ctx, std::string_view stream, FramerOptions framer,
               int passthrough_fd = -1);
  ~StreamReader();
  StreamReader(const StreamReader&) = delete;
  StreamReader& operator=(const StreamReader&) = delete;

  // One read(2) from `fd`: > 0 bytes read, 0 at end of input, -1 would block, -2 error (errno).
  ssize_t read_once(int fd);
  // Pushes the complete lines read so far.
  void flush();
  // End of input: the unfinished line becomes an event and everything is pushed. `cut_short`:
  // reading stopped before the end of input, so that line is incomplete (tagged split).
  void finish(bool cut_short = false);

  static constexpr size_t kBatchBytes = 256 * 1024;

  // When to hand on a batch that is not full: once the input has been quiet this long, or
  // once its oldest unsent line is this old. Under load batches fill up (fewer, larger
  // batches); a trickle of lines still reaches the sinks within milliseconds.
  static constexpr int kQuietFlushMs = 2;
  static constexpr int64_t kMaxFlushDelayNs = 20'000'000;

  // Reads happened since the last flush; flush_if_due() decides whether to hand them on.
  void note_read(int64_t now_ns) {
    if (!unflushed_) unflushed_since_ns_ = now_ns;
    unflushed_ = true;
  }
  // Lines were read but not handed on yet (including a kept multiline record).
  [[nodiscard]] bool has_unflushed() const {
    return unflushed_ || (joiner_ && joiner_->has_pending());
  }
  // How long poll(2) may wait before flush_if_due() has work: kQuietFlushMs while read lines
  // wait, the time until a kept multiline record is due, or -1 (nothing waits).
  [[nodiscard]] int poll_timeout_ms() const {
    if (unflushed_) return kQuietFlushMs;
    return joiner_ ? pending_timeout_ms() : -1;
  }
  // `quiet`: the last poll timed out with nothing to read.
  void flush_if_due(bool quiet, int64_t now_ns) {
    // A due multiline record is flushed with whatever was read meanwhile, joined first: those
    // lines may continue it.
    if ((unflushed_ && (quiet || now_ns - unflushed_since_ns_ >= kMaxFlushDelayNs)) ||
        (joiner_ && joiner_->has_pending() && now_ns >= joiner_->pending_deadline_ns())) {
      flush();
    }
  }
  // The joiner, when the source joins multi-line records (for its counters).
  [[nodiscard]] const MultilineJoiner* joiner() const { return joiner_.get(); }

 private:
  void ensure_batch();
  void push_and_carry();
  void join_lines();
  // Sets Event::offset (the position in the stream) of the events framed since the last call.
  void stamp_offsets();
  [[nodiscard]] int pending_timeout_ms() const;

  SourceContext& ctx_;
  std::string_view stream_;
  LineFramer framer_;
  int passthrough_fd_;
  Batch* batch_ = nullptr;
  std::unique_ptr<MultilineJoiner> joiner_;  // null: every line is its own event
  uint64_t cuts_logged_ = 0;
  uint64_t stream_base_ = 0;    // stream position of batch_->bytes[0]
  size_t offsets_stamped_ = 0;  // batch_->events that have their offset
  bool unflushed_ = false;
  int64_t unflushed_since_ns_ = 0;
};

}  // namespace sluice
