#pragma once
// Request bodies compressed with gzip (`Content-Encoding: gzip`), for HTTP clients that send
// large bodies (Elasticsearch bulk requests): one compressor, and a pool of threads that
// compresses bodies off the sender's thread.
#include <zlib.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "sluice/byte_buffer.hpp"

namespace sluice::net {

// gzip (RFC 1952) with a reused zlib stream, at level 1: a sender compresses every body
// it sends, and speed matters more than the last percent of ratio.
class GzipCompressor {
 public:
  GzipCompressor();
  ~GzipCompressor();
  GzipCompressor(const GzipCompressor&) = delete;
  GzipCompressor& operator=(const GzipCompressor&) = delete;

  // Replaces `out` with the compressed `in`. False (with `error`) if zlib fails.
  bool compress(std::string_view in, ByteBuffer& out, std::string* error);

 private:
  z_stream stream_{};
  bool ready_ = false;
};

// Compresses bodies on its own threads, one GzipCompressor each. gzip costs several times what
// building a body does (zlib level 1 runs at ~200 MB/s per core): on the sender's thread it
// would cap the sender at one core's speed while the requests in flight could be compressed in
// parallel, and it would delay every other duty of that thread (answers, retries, timers).
class GzipPool {
 public:
  // ok false: `error` says why (out is then unspecified).
  using Done = std::function<void(bool ok, const std::string& error)>;

  explicit GzipPool(size_t threads);
  // Stops the threads; jobs not started yet are dropped (their `done` never runs).
  ~GzipPool();
  GzipPool(const GzipPool&) = delete;
  GzipPool& operator=(const GzipPool&) = delete;

  // Any thread. Compresses `in` into `out` (both must stay valid until `done` has run), then
  // calls `done` on a pool thread. Jobs start in the order they were submitted.
  void submit(std::string_view in, ByteBuffer* out, Done done);

 private:
  struct Job {
    std::string_view in;
    ByteBuffer* out;
    Done done;
  };
  void run();

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace sluice::net
