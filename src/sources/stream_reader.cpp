#include "sources/stream_reader.hpp"

#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "base/clock.hpp"
#include "base/io.hpp"
#include "base/log.hpp"

namespace sluice {

StreamReader::StreamReader(SourceContext& ctx, std::string_view stream, FramerOptions framer,
                           int passthrough_fd)
    : ctx_(ctx), stream_(stream), framer_(std::move(framer)), passthrough_fd_(passthrough_fd) {
  if (const auto& multiline = framer_.options().multiline) {
    std::string error;
    joiner_ = MultilineJoiner::create(*multiline, &error);
    // The config reader validated the options already; this only guards other callers.
    if (!joiner_) log::error("multiline joining disabled", "stream", stream_, "error", error);
  }
}

StreamReader::~StreamReader() {
  if (batch_) ctx_.release(batch_);
}

void StreamReader::ensure_batch() {
  if (batch_) return;
  batch_ = ctx_.acquire();
  batch_->stream = stream_;
  batch_->bytes.reserve(kBatchBytes + kReadPadding);
}

// Joins the framed lines into records and adds a kept record that is due.
void StreamReader::join_lines() {
  int64_t now = monotonic_ns();
  joiner_->join(*batch_, now);
  joiner_->flush(*batch_, now, false);
  if (joiner_->records_cut() > cuts_logged_) {
    if (cuts_logged_ == 0) {
      log::warn(
          "a multiline record reached max_lines or max_bytes and was cut; its further lines "
          "start a new event",
          "stream", stream_, "max_lines", joiner_->options().max_lines, "max_bytes",
          joiner_->options().max_bytes);
    }
    cuts_logged_ = joiner_->records_cut();
  }
}

int StreamReader::pending_timeout_ms() const {
  if (!joiner_->has_pending()) return -1;
  int64_t left = joiner_->pending_deadline_ns() - monotonic_ns();
  if (left <= 0) return 0;
  // Rounded up: waking before the deadline would only poll again.
  return static_cast<int>(std::min<int64_t>((left + 999'999) / 1'000'000, 60'000));
}

void StreamReader::stamp_offsets() {
  for (size_t i = offsets_stamped_; i < batch_->events.size(); ++i) {
    Event& event = batch_->events[i];
    event.offset = stream_base_ + static_cast<uint64_t>(event.line.data() - batch_->bytes.data());
  }
  offsets_stamped_ = batch_->events.size();
}

void StreamReader::push_and_carry() {
  if (joiner_) join_lines();
  size_t tail = framer_.tail_start();
  stream_base_ += tail;
  offsets_stamped_ = 0;
  size_t tail_len = batch_->bytes.size() - tail;
  Batch* next = ctx_.acquire();
  next->stream = stream_;
  next->bytes.reserve(std::max(kBatchBytes, tail_len * 2) + kReadPadding);
  if (tail_len) {
    std::memcpy(next->bytes.prepare(tail_len), batch_->bytes.data() + tail, tail_len);
    next->bytes.commit(tail_len);
  }
  framer_.carried(tail_len);
  // The carried bytes stay in place as padding, but are not this batch's input any more.
  batch_->bytes.resize(tail);
  batch_->read_time_ns = wall_clock_ns();
  ctx_.push(batch_);
  batch_ = next;
}

ssize_t StreamReader::read_once(int fd) {
  ensure_batch();
  constexpr size_t kMinRead = 16 * 1024;
  if (batch_->bytes.capacity() < batch_->bytes.size() + kMinRead + kReadPadding) {
    if (!batch_->events.empty()) push_and_carry();
    // No event points into the buffer now, so it may move: room for a longer line.
    size_t size = batch_->bytes.size();
    batch_->bytes.reserve(std::max(size * 2, size + kBatchBytes) + kReadPadding);
  }
  size_t size = batch_->bytes.size();
  size_t room = batch_->bytes.capacity() - size - kReadPadding;
  ssize_t n;
  do {
    n = ::read(fd, batch_->bytes.data() + size, room);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? -1 : -2;
  if (n == 0) return 0;
  if (passthrough_fd_ >= 0 &&
      !write_all(passthrough_fd_, std::string_view(batch_->bytes.data() + size, n))) {
    log::warn("passthrough write failed; passthrough disabled for this stream", "stream", stream_,
              "error", std::strerror(errno));
    passthrough_fd_ = -1;
  }
  batch_->bytes.commit(static_cast<size_t>(n));
  framer_.frame(*batch_);
  stamp_offsets();
  if (batch_->bytes.size() >= kBatchBytes && !batch_->events.empty()) push_and_carry();
  return n;
}

void StreamReader::flush() {
  unflushed_ = false;
  if (batch_ && !batch_->events.empty()) {
    push_and_carry();
  } else if (joiner_ && joiner_->has_pending() &&
             monotonic_ns() >= joiner_->pending_deadline_ns()) {
    ensure_batch();
    push_and_carry();  // carries the unfinished line, if any, as usual
  }
}

void StreamReader::finish(bool cut_short) {
  if (!batch_) return;
  framer_.finish(*batch_, cut_short);
  stamp_offsets();
  if (joiner_) {
    int64_t now = monotonic_ns();
    joiner_->join(*batch_, now);
    joiner_->flush(*batch_, now, true);  // end of input: the kept record is complete
    if (joiner_->records_cut() > 0) {
      log::info("multiline records cut at max_lines or max_bytes", "stream", stream_, "count",
                joiner_->records_cut());
    }
  }
  batch_->read_time_ns = wall_clock_ns();
  ctx_.push(batch_);
  batch_ = nullptr;
}

}  // namespace sluice
