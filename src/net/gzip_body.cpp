#include "net/gzip_body.hpp"

#include <algorithm>

namespace sluice::net {

GzipCompressor::GzipCompressor() {
  // windowBits 15 + 16: a gzip header and trailer instead of zlib's.
  ready_ = deflateInit2(&stream_, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK;
}

GzipCompressor::~GzipCompressor() {
  if (ready_) deflateEnd(&stream_);
}

bool GzipCompressor::compress(std::string_view in, ByteBuffer& out, std::string* error) {
  if (!ready_) {
    *error = "zlib could not be initialised";
    return false;
  }
  deflateReset(&stream_);
  out.clear();
  // deflateBound() is enough for one Z_FINISH call to compress everything.
  size_t bound = deflateBound(&stream_, static_cast<uLong>(in.size()));
  out.reserve(bound);
  stream_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  stream_.avail_in = static_cast<uInt>(in.size());
  stream_.next_out = reinterpret_cast<Bytef*>(out.data());
  stream_.avail_out = static_cast<uInt>(bound);
  int rc = deflate(&stream_, Z_FINISH);
  if (rc != Z_STREAM_END) {
    *error = std::string("gzip failed: ") + (stream_.msg ? stream_.msg : "deflate error");
    return false;
  }
  out.resize(bound - stream_.avail_out);
  return true;
}

GzipPool::GzipPool(size_t threads) {
  for (size_t k = 0; k < std::max<size_t>(threads, 1); ++k)
    threads_.emplace_back([this] { run(); });
}

GzipPool::~GzipPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (std::thread& thread : threads_) thread.join();
}

void GzipPool::submit(std::string_view in, ByteBuffer* out, Done done) {
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back(Job{in, out, std::move(done)});
  }
  cv_.notify_one();
}

void GzipPool::run() {
  GzipCompressor gzip;
  std::string error;
  while (true) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (stopping_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    error.clear();
    bool ok = gzip.compress(job.in, *job.out, &error);
    job.done(ok, error);
  }
}

}  // namespace sluice::net
