#include "sources/file/file_tailer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "base/clock.hpp"
#include "base/log.hpp"
#include "parse/multiline.hpp"
#include "sources/container/runtime_decoder.hpp"
#include "sources/file/progress.hpp"

namespace sluice {

namespace {

int64_t mtime_ns(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

}  // namespace

uint64_t start_of_last_lines(int fd, uint64_t end, uint64_t lines) {
  if (lines == 0) return end;
  char chunk[16384];
  uint64_t newlines = 0;
  bool last_byte = true;  // the file's last byte: a `\n` there ends the last line, not a gap
  for (uint64_t pos = end; pos > 0;) {
    const uint64_t from = pos > sizeof chunk ? pos - sizeof chunk : 0;
    const auto want = static_cast<size_t>(pos - from);
    ssize_t n = ::pread(fd, chunk, want, static_cast<off_t>(from));
    if (n != static_cast<ssize_t>(want)) return 0;
    for (size_t i = want; i-- > 0;) {
      if (chunk[i] == '\n' && !last_byte && ++newlines == lines) return from + i + 1;
      last_byte = false;
    }
    pos = from;
  }
  return 0;
}

FileTailer::FileTailer(std::string path, const TailOptions& options,
                       std::shared_ptr<const Origin> origin, std::shared_ptr<FileProgress> progress,
                       size_t* open_files)
    : path_(std::move(path)),
      options_(options),
      origin_(std::move(origin)),
      progress_(std::move(progress)),
      open_files_(open_files),
      framer_(options.framer) {
  if (options_.container) {
    decoder_ = std::make_unique<RuntimeDecoder>(options_.framer.max_line_bytes);
  }
  if (options_.framer.multiline) {
    std::string error;  // the options were validated when the config was read
    joiner_ = MultilineJoiner::create(*options_.framer.multiline, &error);
  }
}

void FileTailer::set_multiline(std::shared_ptr<const MultilineOptions> multiline) {
  if (multiline == options_.framer.multiline) return;
  options_.framer.multiline = std::move(multiline);
  // Made at the next read, which has the context to hand the old joiner's record on.
  joiner_stale_ = true;
}

void FileTailer::switch_joiner(SourceContext& ctx, CheckpointLog& log) {
  joiner_stale_ = false;
  if (joiner_ && joiner_->has_pending()) {
    Batch* batch = ctx.acquire();
    stamp(*batch, wall_clock_ns());
    joiner_->flush(*batch, monotonic_ns(), true);
    push(ctx, log, batch);
  }
  joiner_.reset();
  if (options_.framer.multiline) {
    std::string error;  // the presets and the source's own options were validated
    joiner_ = MultilineJoiner::create(*options_.framer.multiline, &error);
  }
}

FileTailer::~FileTailer() { close(); }

bool FileTailer::open(std::string* error) {
  int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    open_errno_ = errno;
    *error = std::strerror(open_errno_);
    return false;
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    open_errno_ = S_ISREG(st.st_mode) ? errno : EINVAL;
    *error = S_ISREG(st.st_mode) ? std::strerror(open_errno_) : "not a regular file";
    ::close(fd);
    return false;
  }
  open_errno_ = 0;
  fd_ = fd;
  if (open_files_) ++*open_files_;
  identity_.dev = st.st_dev;
  identity_.ino = st.st_ino;
  read_fingerprint(fd_, identity_);
  size_ = static_cast<uint64_t>(st.st_size);
  return true;
}

FileTailer::Reopen FileTailer::reopen(const std::string& path) {
  if (fd_ >= 0) return Reopen::Open;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    // Renamed or deleted (a rescan finds it elsewhere or lets it go), or out of descriptors.
    open_errno_ = errno;
    return Reopen::Failed;
  }
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    open_errno_ = errno;
    ::close(fd);
    return Reopen::Failed;
  }
  // Same inode with other first bytes: the inode was reused by another file, or the file was
  // truncated and rewritten while closed. Either way its content is to be read afresh.
  bool same = st.st_dev == identity_.dev && st.st_ino == identity_.ino &&
              (identity_.fp_len == 0 || same_file(fd, identity_));
  if (!same) {
    ::close(fd);
    return Reopen::OtherFile;
  }
  open_errno_ = 0;
  fd_ = fd;
  if (open_files_) ++*open_files_;
  return Reopen::Open;
}

void FileTailer::close() {
  if (fd_ < 0) return;
  ::close(fd_);
  fd_ = -1;
  if (open_files_) --*open_files_;
}

void FileTailer::seek(uint64_t offset) {
  read_offset_ = offset;
  tail_scanned_ = 0;
  framer_ = LineFramer(options_.framer);
}

uint64_t FileTailer::safe_offset() const {
  uint64_t safe = read_offset_;
  if (decoder_ && decoder_->has_pending()) safe = std::min(safe, decoder_->pending_offset());
  if (joiner_ && joiner_->has_pending()) safe = std::min(safe, joiner_->pending_offset());
  return safe;
}

int64_t FileTailer::next_deadline_ns() const {
  if (joiner_ && joiner_->has_pending()) return joiner_->pending_deadline_ns();
  return INT64_MAX;
}

void FileTailer::stamp(Batch& batch, int64_t read_time_ns) const {
  batch.origin = origin_;
  batch.read_time_ns = read_time_ns;
  batch.year_anchor_ns = year_anchor_ns_;
}

void FileTailer::push(SourceContext& ctx, CheckpointLog& log, Batch* batch) {
  if (batch->events.empty()) {
    ctx.release(batch);
    return;
  }
  batch->checkpoint = log.add(progress_, safe_offset());
  ctx.push(batch);
}

void FileTailer::decode_and_push(SourceContext& ctx, CheckpointLog& log, Batch& raw) {
  Batch* out = ctx.acquire();
  out->origin = origin_;
  out->read_time_ns = raw.read_time_ns;
  out->year_anchor_ns = raw.year_anchor_ns;
  decoder_->decode(raw, *out);
  if (joiner_) joiner_->join(*out, monotonic_ns());
  push(ctx, log, out);
}

FileTailer::ReadResult FileTailer::read_some(SourceContext& ctx, CheckpointLog& log, Batch& scratch,
                                             int64_t now_ns) {
  maybe_readable = false;
  if (fd_ < 0) return ReadResult::Nothing;
  struct stat st {};
  if (fstat(fd_, &st) != 0) return ReadResult::Nothing;
  auto size = static_cast<uint64_t>(st.st_size);
  if (size == size_ && size <= read_offset_ + tail_scanned_) return ReadResult::Nothing;
  // Truncated (copytruncate): shorter than what was read, or, when the writer was quick enough
  // to outgrow the old offset before this look, different first bytes.
  // The first-bytes check costs a read: a file being read flat out (whole budgets) is checked
  // every 100 ms only, so it pays nothing measurable; a file that was caught up every time.
  bool check_content =
      read_offset_ > 0 && identity_.fp_len > 0 &&
      (!read_full_budget_ || now_ns - last_content_check_ns_ >= kContentCheckIntervalNs);
  if (check_content) last_content_check_ns_ = now_ns;
  if (size < read_offset_ + tail_scanned_ || (check_content && !same_file(fd_, identity_))) {
    handle_truncation(ctx, log, size);
  }
  size_ = size;
  if (size <= read_offset_ + tail_scanned_) return ReadResult::Nothing;

  const uint64_t available = size - read_offset_;
  // Always read past the unfinished line already seen, or a long line would never complete.
  const size_t want = static_cast<size_t>(std::min<uint64_t>(
      available, std::max<uint64_t>(options_.read_budget, tail_scanned_ + 64 * 1024)));
  if (joiner_stale_) switch_joiner(ctx, log);
  if (excluded_) hand_on_kept(ctx, log);
  Batch* batch = &scratch;
  if (decoder_ || excluded_) {
    scratch.reset();
  } else {
    batch = ctx.acquire();
  }
  batch->bytes.reserve(want + kReadPadding);
  ssize_t n;
  do {
    n = ::pread(fd_, batch->bytes.data(), want, static_cast<off_t>(read_offset_));
  } while (n < 0 && errno == EINTR);
  if (n <= 0) {
    if (n < 0) log::warn("reading a file failed", "path", path_, "error", std::strerror(errno));
    if (batch != &scratch) ctx.release(batch);
    return ReadResult::Nothing;
  }
  batch->bytes.commit(static_cast<size_t>(n));
  framer_.carried(std::min<uint64_t>(tail_scanned_, static_cast<uint64_t>(n)));
  const size_t tail = excluded_ ? drop_lines(*batch) : framer_.frame(*batch);
  const char* base = batch->bytes.data();
  for (Event& event : batch->events) {
    event.offset = read_offset_ + static_cast<uint64_t>(event.line.data() - base);
  }
  // The unfinished line is not this batch's: the next read starts at it again.
  batch->bytes.resize(tail);
  read_offset_ += tail;
  tail_scanned_ = static_cast<uint64_t>(n) - tail;
  last_data_ns = now_ns;
  if (identity_.fp_len < kFingerprintBytes && size > identity_.fp_len) {
    // A file that was short when opened: its fingerprint grows with it, up to full length.
    read_fingerprint(fd_, identity_);
    progress_->identity = identity_;
    refresh_origin_id();
  }
  // Year-less times in the lines (BSD syslog, logcat) are read against the file's last write,
  // not today: an old file's "Dec 31" is its own year's.
  year_anchor_ns_ = mtime_ns(st);
  stamp(*batch, wall_clock_ns());
  if (excluded_) {
    // Nothing to hand on: the checkpoint moves over the dropped lines once what was handed on
    // before them is delivered.
    if (tail > 0) log.add_unbatched(progress_, safe_offset());
  } else if (decoder_) {
    decode_and_push(ctx, log, scratch);
  } else {
    if (joiner_) joiner_->join(*batch, now_ns);
    push(ctx, log, batch);
  }
  bool more = static_cast<uint64_t>(n) == want && available > want;
  read_full_budget_ = more;
  if (more) maybe_readable = true;
  return more ? ReadResult::Budget : ReadResult::Some;
}

void FileTailer::finish(SourceContext& ctx, CheckpointLog& log, Batch& scratch) {
  if (joiner_stale_) switch_joiner(ctx, log);
  if (excluded_) {
    finish_excluded(ctx, log, scratch);
    return;
  }
  // Whatever is left after the last complete line becomes the final line.
  Batch* batch = decoder_ ? &scratch : ctx.acquire();
  if (decoder_) scratch.reset();
  struct stat st {};
  const bool stat_ok = fd_ >= 0 && fstat(fd_, &st) == 0;
  uint64_t size = stat_ok ? static_cast<uint64_t>(st.st_size) : 0;
  if (stat_ok) {
    year_anchor_ns_ = mtime_ns(st);
  }
  if (fd_ >= 0 && size > read_offset_) {
    size_t rest = static_cast<size_t>(
        std::min<uint64_t>(size - read_offset_, options_.framer.max_line_bytes + 64 * 1024));
    batch->bytes.reserve(rest + kReadPadding);
    ssize_t n = ::pread(fd_, batch->bytes.data(), rest, static_cast<off_t>(read_offset_));
    if (n > 0) {
      batch->bytes.commit(static_cast<size_t>(n));
      framer_.carried(0);
      framer_.finish(*batch);
      for (Event& event : batch->events) {
        event.offset =
            read_offset_ + static_cast<uint64_t>(event.line.data() - batch->bytes.data());
      }
      read_offset_ += static_cast<uint64_t>(n);
    }
  }
  tail_scanned_ = 0;
  stamp(*batch, wall_clock_ns());
  Batch* out = batch;
  if (decoder_) {
    out = ctx.acquire();
    stamp(*out, scratch.read_time_ns);
    decoder_->decode(scratch, *out);
    decoder_->flush_pending(*out);
  }
  if (joiner_) {
    int64_t now = monotonic_ns();
    joiner_->join(*out, now);
    joiner_->flush(*out, now, true);
  }
  push(ctx, log, out);
}

size_t FileTailer::drop_lines(const Batch& scratch) {
  uint64_t lines = 0;
  const size_t tail = framer_.count(scratch, &lines);
  if (lines > 0) excluded_->fetch_add(lines, std::memory_order_relaxed);
  return tail;
}

void FileTailer::finish_excluded(SourceContext& ctx, CheckpointLog& log, Batch& scratch) {
  hand_on_kept(ctx, log);
  scratch.reset();
  struct stat st {};
  const uint64_t size = fd_ >= 0 && fstat(fd_, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  if (size > read_offset_) {
    // The rest, as finish() reads it: complete lines, and the unfinished one as the last.
    const auto rest = static_cast<size_t>(
        std::min<uint64_t>(size - read_offset_, options_.framer.max_line_bytes + 64 * 1024));
    scratch.bytes.reserve(rest + kReadPadding);
    const ssize_t n = ::pread(fd_, scratch.bytes.data(), rest, static_cast<off_t>(read_offset_));
    if (n > 0) {
      scratch.bytes.commit(static_cast<size_t>(n));
      framer_.carried(0);
      if (drop_lines(scratch) < static_cast<size_t>(n)) {
        excluded_->fetch_add(1, std::memory_order_relaxed);
      }
      read_offset_ += static_cast<uint64_t>(n);
      log.add_unbatched(progress_, safe_offset());
    }
  }
  tail_scanned_ = 0;
  framer_ = LineFramer(options_.framer);
  scratch.reset();
}

void FileTailer::hand_on_kept(SourceContext& ctx, CheckpointLog& log) {
  const bool decoder_kept = decoder_ && decoder_->has_pending();
  const bool joiner_kept = joiner_ && joiner_->has_pending();
  if (!decoder_kept && !joiner_kept) return;
  Batch* batch = ctx.acquire();
  stamp(*batch, wall_clock_ns());
  if (decoder_kept) decoder_->flush_pending(*batch);
  if (joiner_) {
    const int64_t now = monotonic_ns();
    joiner_->join(*batch, now);
    joiner_->flush(*batch, now, true);
  }
  push(ctx, log, batch);
}

void FileTailer::flush_due(SourceContext& ctx, CheckpointLog& log, int64_t now_ns) {
  if (!joiner_ || !joiner_->has_pending() || joiner_->pending_deadline_ns() > now_ns) return;
  Batch* batch = ctx.acquire();
  stamp(*batch, wall_clock_ns());
  joiner_->flush(*batch, now_ns, false);
  push(ctx, log, batch);
}

void FileTailer::handle_truncation(SourceContext& ctx, CheckpointLog& log, uint64_t new_size) {
  log::info("file truncated; reading it again from the start", "path", path_, "offset",
            read_offset_ + tail_scanned_, "size", new_size);
  // Lines kept back (a partial record, a multiline record) were complete data: hand them on.
  Batch* batch = ctx.acquire();
  stamp(*batch, wall_clock_ns());
  if (decoder_) decoder_->flush_pending(*batch);
  if (joiner_) joiner_->flush(*batch, monotonic_ns(), true);
  ++progress_->generation;  // offsets of the old content are void
  progress_->acked_offset = 0;
  read_offset_ = 0;
  tail_scanned_ = 0;
  framer_ = LineFramer(options_.framer);
  identity_.fp_len = 0;  // the content changed: fingerprint it again
  identity_.fp_hash = 0;
  progress_->identity = identity_;
  ++truncations_;
  push(ctx, log, batch);
  // New content at old offsets: its events need ids distinct from the old content's. The id
  // follows the new content's fingerprint, taken at the next read.
  refresh_origin_id();
}

void FileTailer::refresh_origin_id() {
  // Event ids (`id: auto`) hash Origin::file_id with the offset: it must be the same whenever
  // the same bytes are read again (a restart), and differ for other content at those offsets.
  // The fingerprint of the first 256 bytes does both once the file has 256 bytes; until then it
  // grows with the file, so only the first line or two of a file read while it was that short
  // may get another id when read again.
  uint64_t id = stable_file_id(identity_);
  if (origin_ && origin_->file_id == id) return;
  auto origin = origin_ ? std::make_shared<Origin>(*origin_) : std::make_shared<Origin>();
  origin->file_id = id;
  origin_ = std::move(origin);
}

}  // namespace sluice
