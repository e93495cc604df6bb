#include "parse/framer.hpp"

#include <cstring>
#include <utility>

namespace sluice {

namespace {
// Moves `cut` back over UTF-8 continuation bytes (at most 3) so a split does not break a
// character in two; keeps the cut when the text is not UTF-8 anyway.
size_t utf8_boundary(const char* data, size_t begin, size_t cut) {
  for (size_t back = 0; back < 4 && cut - back > begin; ++back) {
    auto c = static_cast<unsigned char>(data[cut - back]);
    if ((c & 0xC0) != 0x80) return cut - back;
  }
  return cut;
}
}  // namespace

void LineFramer::emit(Batch& batch, size_t begin, size_t end, uint16_t flags) {
  Event event;
  event.line = std::string_view(batch.bytes.data() + begin, end - begin);
  event.flags = flags;
  batch.events.push_back(event);
}

// Inlined into frame() and count(): a call per batch with the callback behind a pointer costs
// framing 2 instructions per line (callgrind).
template <typename OnLine>
[[gnu::always_inline]] inline size_t LineFramer::scan_lines(const char* data, size_t size,
                                                            OnLine&& on_line) {
  const size_t max = options_.max_line_bytes;

  while (scanned_ < size) {
    const void* nl = std::memchr(data + scanned_, '\n', size - scanned_);
    size_t limit = line_start_ + max;
    size_t newline = nl ? static_cast<size_t>(static_cast<const char*>(nl) - data) : size;
    size_t content_end =
        (nl && newline > line_start_ && data[newline - 1] == '\r') ? newline - 1 : newline;
    if (content_end - line_start_ > max && limit < size) {
      // Too long: cut a piece of max bytes and go on with the rest of the same line.
      size_t cut = utf8_boundary(data, line_start_, limit);
      on_line(line_start_, cut, kFlagSplit);
      line_start_ = cut;
      scanned_ = cut;
      splitting_ = true;
      continue;
    }
    if (!nl) {
      scanned_ = size;
      break;
    }
    size_t end = newline;
    if (end > line_start_ && data[end - 1] == '\r') --end;
    on_line(line_start_, end, splitting_ ? kFlagSplit : 0);
    splitting_ = false;
    line_start_ = newline + 1;
    scanned_ = line_start_;
  }
  return line_start_;
}

size_t LineFramer::frame(Batch& batch) {
  return scan_lines(
      batch.bytes.data(), batch.bytes.size(),
      [&](size_t begin, size_t end, uint16_t flags) { emit(batch, begin, end, flags); });
}

size_t LineFramer::count(const Batch& batch, uint64_t* lines) {
  return scan_lines(batch.bytes.data(), batch.bytes.size(),
                    [lines](size_t, size_t, uint16_t) { ++*lines; });
}

void LineFramer::finish(Batch& batch, bool cut_short) {
  frame(batch);
  size_t size = batch.bytes.size();
  if (line_start_ < size) {
    size_t end = size;
    if (batch.bytes.data()[end - 1] == '\r') --end;
    emit(batch, line_start_, end, (splitting_ || cut_short) ? kFlagSplit : 0);
  }
  splitting_ = false;
  line_start_ = size;
  scanned_ = size;
}

void frame_text(Batch& batch, std::string_view text, FramerOptions options) {
  batch.bytes.reserve(batch.bytes.size() + text.size() + kReadPadding);
  batch.bytes.append(text);
  LineFramer framer(std::move(options));
  framer.finish(batch);
}

}  // namespace sluice
