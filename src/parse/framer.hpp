#pragma once
// Cuts a byte stream into lines. Works in place on a batch's buffer: complete lines become
// events that point into it; the unfinished tail stays for the caller to carry into the next
// batch. `\n` and `\r\n` end lines; a line longer than max_line_bytes is emitted in pieces
// flagged kFlagSplit (cut on a UTF-8 character boundary where possible).
#include <cstddef>
#include <memory>
#include <utility>

#include "sluice/batch.hpp"

namespace sluice {

struct MultilineOptions;

struct FramerOptions {
  size_t max_line_bytes = 1024 * 1024;
  // Set when the source joins multi-line records (parse/multiline.hpp); the framer itself
  // ignores it, the source's reader runs the joiner on the framed lines.
  std::shared_ptr<const MultilineOptions> multiline = nullptr;
};

class LineFramer {
 public:
  explicit LineFramer(FramerOptions options) : options_(std::move(options)) {}

  // Frames batch.bytes from where the last call stopped. Returns the offset where the
  // unfinished tail begins (== batch.bytes.size() when there is none).
  size_t frame(Batch& batch);

  // As frame(), but the lines are only counted (added to `lines`), not made events: for lines
  // dropped unread (a pod's `sluice.io/exclude`). A line longer than max_line_bytes counts once
  // per piece, as frame() would emit it.
  size_t count(const Batch& batch, uint64_t* lines);

  // At end of input: the tail (if any) becomes a final line. `cut_short` means reading stopped
  // before the end (shutdown): the tail is then only the start of a line and is flagged split.
  void finish(Batch& batch, bool cut_short = false);

  // The batch was handed on; the tail of `tail_size` bytes now starts the next batch.
  void carried(size_t tail_size) {
    scanned_ = tail_size;
    line_start_ = 0;
  }
  // Start of the unfinished tail in the current batch.
  [[nodiscard]] size_t tail_start() const { return line_start_; }

  [[nodiscard]] const FramerOptions& options() const { return options_; }

 private:
  void emit(Batch& batch, size_t begin, size_t end, uint16_t flags);
  // The framing itself: calls on_line(begin, end, flags) for each complete line or piece.
  template <typename OnLine>
  size_t scan_lines(const char* data, size_t size, OnLine&& on_line);

  FramerOptions options_;
  size_t line_start_ = 0;   // start of the current (unfinished) line in the batch
  size_t scanned_ = 0;      // bytes already searched for a newline
  bool splitting_ = false;  // the current line already had pieces cut off
};

// Appends a complete text to the batch (keeping simdjson's read padding) and frames all of it,
// the last line included: for inputs that arrive whole (tests, benchmarks, fuzzing).
void frame_text(Batch& batch, std::string_view text, FramerOptions options = {});

}  // namespace sluice
