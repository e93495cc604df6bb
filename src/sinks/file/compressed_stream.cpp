#include "sinks/file/compressed_stream.hpp"

#include <algorithm>
#include <climits>
#include <cstring>

namespace sluice {

namespace {

// Large enough that a ~256 KiB batch of log text compresses in one go without touching the disk
// mid-way; only incompressible data makes the writer drain more than once per call.
constexpr size_t kOutBufferBytes = 256 * 1024;

}  // namespace

CompressedStream::CompressedStream(const FileWriterOptions& options, Drain& drain)
    : opt_(options), drain_(drain) {}

CompressedStream::~CompressedStream() {
  if (deflate_ready_) deflateEnd(&zs_);
  ZSTD_freeCCtx(zc_);
}

bool CompressedStream::init(std::string* error) {
  if (!out_) {
    cap_ = kOutBufferBytes;
    out_ = std::make_unique_for_overwrite<char[]>(cap_);
  }
  if (opt_.compression == Compression::Gzip && !deflate_ready_) {
    // zlib's level 0 means "store", not "default".
    int level = opt_.compression_level == 0 ? Z_DEFAULT_COMPRESSION
                                            : std::clamp(opt_.compression_level, 1, 9);
    if (deflateInit2(&zs_, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
      if (error) *error = "gzip init for " + opt_.path + " failed";
      return false;
    }
    deflate_ready_ = true;
  }
  if (opt_.compression == Compression::Zstd && !zc_) {
    zc_ = ZSTD_createCCtx();
    if (!zc_) {
      if (error) *error = "zstd init for " + opt_.path + " failed";
      return false;
    }
    // zstd's level 0 already means "default"; out-of-range levels are clamped by the library.
    ZSTD_CCtx_setParameter(zc_, ZSTD_c_compressionLevel, opt_.compression_level);
    ZSTD_CCtx_setParameter(zc_, ZSTD_c_checksumFlag, 1);
  }
  return true;
}

void CompressedStream::begin_op() {
  io_failed_ = false;
  io_error_.clear();
}

bool CompressedStream::failed_to_drain(std::string* error) const {
  if (!io_failed_) return false;
  if (error) *error = io_error_;
  return true;
}

void CompressedStream::drained() {
  head_ = tail_ = 0;
  if (cap_ > kOutBufferBytes) {  // give back what an error episode made us grow
    cap_ = kOutBufferBytes;
    out_ = std::make_unique_for_overwrite<char[]>(cap_);
  }
}

void CompressedStream::make_room() {
  if (!io_failed_) {
    if (drain_.drain(&io_error_)) return;
    io_failed_ = true;
  }
  if (head_ > 0) {
    std::memmove(out_.get(), out_.get() + head_, tail_ - head_);
    tail_ -= head_;
    head_ = 0;
  }
  if (tail_ == cap_) {
    auto bigger = std::make_unique_for_overwrite<char[]>(cap_ * 2);
    std::memcpy(bigger.get(), out_.get(), tail_);
    out_ = std::move(bigger);
    cap_ *= 2;
  }
}

// Runs deflate until the input is consumed (Z_NO_FLUSH), zlib has nothing left to emit
// (Z_SYNC_FLUSH) or the member is complete (Z_FINISH).
bool CompressedStream::deflate_run(int mode, std::string* error) {
  for (;;) {
    if (tail_ == cap_) make_room();
    zs_.next_out = reinterpret_cast<Bytef*>(out_.get() + tail_);
    zs_.avail_out = static_cast<uInt>(std::min<size_t>(cap_ - tail_, UINT_MAX));
    int rc = deflate(&zs_, mode);
    tail_ = static_cast<size_t>(reinterpret_cast<char*>(zs_.next_out) - out_.get());
    if (rc == Z_STREAM_END) return true;
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      if (error) *error = "gzip " + opt_.path + ": deflate failed (" + std::to_string(rc) + ")";
      return false;
    }
    if (mode == Z_NO_FLUSH && zs_.avail_in == 0) return true;
    if (mode == Z_SYNC_FLUSH && zs_.avail_out != 0) return true;
  }
}

bool CompressedStream::zstd_run(std::string_view in, ZSTD_EndDirective mode, std::string* error) {
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  for (;;) {
    if (tail_ == cap_) make_room();
    ZSTD_outBuffer output{out_.get() + tail_, cap_ - tail_, 0};
    size_t rc = ZSTD_compressStream2(zc_, &output, &input, mode);
    tail_ += output.pos;
    if (ZSTD_isError(rc)) {
      if (error) *error = "zstd " + opt_.path + ": " + ZSTD_getErrorName(rc);
      return false;
    }
    if (mode == ZSTD_e_continue ? input.pos == input.size : rc == 0) return true;
  }
}

void CompressedStream::abort_stream() {
  if (deflate_ready_) deflateReset(&zs_);
  if (zc_) ZSTD_CCtx_reset(zc_, ZSTD_reset_session_only);
  in_stream_ = false;
  dirty_ = false;
}

bool CompressedStream::compress(std::string_view in, std::string* error) {
  in_stream_ = true;
  dirty_ = true;
  bool ok = true;
  if (opt_.compression == Compression::Zstd) {
    ok = zstd_run(in, ZSTD_e_continue, error);
  } else {
    while (ok && !in.empty()) {
      size_t chunk = std::min<size_t>(in.size(), UINT_MAX);
      zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
      zs_.avail_in = static_cast<uInt>(chunk);
      ok = deflate_run(Z_NO_FLUSH, error);
      in.remove_prefix(chunk);
    }
  }
  if (!ok) abort_stream();
  return ok;
}

bool CompressedStream::sync_flush(std::string* error) {
  if (!in_stream_ || !dirty_) return true;
  dirty_ = false;
  bool ok = opt_.compression == Compression::Zstd ? zstd_run({}, ZSTD_e_flush, error)
                                                  : deflate_run(Z_SYNC_FLUSH, error);
  if (!ok) abort_stream();
  return ok;
}

bool CompressedStream::finish(std::string* error) {
  if (!in_stream_) return true;
  bool ok = true;
  if (opt_.compression == Compression::Zstd) {
    ok = zstd_run({}, ZSTD_e_end, error);
  } else {
    zs_.avail_in = 0;
    ok = deflate_run(Z_FINISH, error);
    deflateReset(&zs_);  // the next write starts a new member
  }
  if (!ok) abort_stream();
  in_stream_ = false;
  dirty_ = false;
  return ok;
}

}  // namespace sluice
