#pragma once
// The compressed stream of one output file of the file sink: gzip (one member per open file, or
// per rotation) or zstd (one frame), and the buffer of compressed bytes not yet in the file.
// Compressed bytes are always handed to the file before anything newer, so a failed write never
// leaves a hole in the stream; when the file cannot take them, the buffer grows instead, so that
// the compressor consumes its whole input and an operation has a single all-or-nothing outcome.
// With Compression::None every call is a no-op and nothing is ever pending.
#include <zlib.h>
#include <zstd.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "sinks/file/file_writer.hpp"

namespace sluice {

class CompressedStream {
 public:
  // Who takes the compressed bytes: writes pending_bytes() to the file, consume()-ing what it
  // wrote; false with `error` when the file takes no more.
  class Drain {
   public:
    virtual bool drain(std::string* error) = 0;

   protected:
    ~Drain() = default;
  };

  CompressedStream(const FileWriterOptions& options, Drain& drain);
  ~CompressedStream();
  CompressedStream(const CompressedStream&) = delete;
  CompressedStream& operator=(const CompressedStream&) = delete;

  // Creates the compressor and the buffer on first use.
  bool init(std::string* error);

  // One operation (a write, flush or close): begin_op() first; afterwards, failed_to_drain()
  // says whether the file refused bytes on the way (the bytes stay pending).
  void begin_op();
  bool failed_to_drain(std::string* error) const;

  // Appends `in` to the stream (Z_NO_FLUSH / ZSTD_e_continue).
  bool compress(std::string_view in, std::string* error);
  // Makes everything compressed so far decodable (Z_SYNC_FLUSH / ZSTD_e_flush), if anything new.
  bool sync_flush(std::string* error);
  // Ends the gzip member or zstd frame; the next compress() starts a new one.
  bool finish(std::string* error);
  // A new file: nothing of a stream is in it yet.
  void start_file() {
    in_stream_ = false;
    dirty_ = false;
  }

  [[nodiscard]] bool pending() const { return tail_ > head_; }
  [[nodiscard]] std::string_view pending_bytes() const {
    return {out_.get() + head_, tail_ - head_};
  }
  void consume(size_t n) { head_ += n; }
  // Everything pending reached the file: the buffer starts over (at its usual size).
  void drained();

 private:
  void make_room();
  bool deflate_run(int mode, std::string* error);
  bool zstd_run(std::string_view in, ZSTD_EndDirective mode, std::string* error);
  // A compressor error is a bug or out-of-memory; what it left half-done cannot be salvaged, so
  // the next write starts on a fresh member/frame.
  void abort_stream();

  const FileWriterOptions& opt_;
  Drain& drain_;
  z_stream zs_{};
  bool deflate_ready_ = false;
  ZSTD_CCtx* zc_ = nullptr;
  bool in_stream_ = false;  // a gzip member / zstd frame is started and not yet ended
  bool dirty_ = false;      // input since the last sync flush

  // Compressed bytes not yet in the file: out_[head_, tail_).
  std::unique_ptr<char[]> out_;
  size_t cap_ = 0;
  size_t head_ = 0;
  size_t tail_ = 0;
  // First drain failure within one operation: later room is made by growing instead.
  bool io_failed_ = false;
  std::string io_error_;
};

}  // namespace sluice
