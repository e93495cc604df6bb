#pragma once
// A disk buffer in front of a sink, at run time. The pipeline's workers store each encoded batch
// as a record; the sink thread reads records back, within a memory bound, and hands them to the
// sink; the sink's acknowledgements delete what was delivered.
//
// The source's acknowledgement no longer waits for the sink: a batch is acknowledged once its
// record is as durable as the fsync policy makes it — at once for `never` (the page cache
// survives a crash of sluice, not of the machine) and `always` (fdatasync per record), at the
// next periodic fdatasync for `interval`. So a stopped sink holds back neither the source's
// checkpoint nor the other sinks until the buffer is full; then `when_full` applies.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>

#include "base/log.hpp"
#include "core/disk_buffer.hpp"
#include "core/metrics.hpp"
#include "core/pool.hpp"
#include "sluice/ack.hpp"
#include "sluice/sink.hpp"

namespace sluice {

enum class WhenFull;

class SinkDiskBuffer final : public DeliveryOwner {
 public:
  // `read_ahead_bytes` bounds the memory of the batches read back and not yet acknowledged.
  SinkDiskBuffer(std::unique_ptr<DiskBuffer> buffer, std::string sink_name,
                 ComponentMetrics* metrics, int64_t read_ahead_bytes);
  ~SinkDiskBuffer() override;
  SinkDiskBuffer(const SinkDiskBuffer&) = delete;
  SinkDiskBuffer& operator=(const SinkDiskBuffer&) = delete;

  // A worker thread. Writes `batch` as a record and takes over `ack` (done() once durable).
  // When the buffer is full (or the file system is), `block` waits for room and `drop_newest`
  // returns false: the caller counts the drop and completes `ack` itself.
  bool store(const EncodedBatch& batch, WhenFull when_full, AckToken* ack);

  // The sink thread: the next record as a delivery, or false when none is readable now or the
  // read-ahead memory is used up.
  bool next(Delivery* out);
  // The sink thread: waits up to `timeout` for next() to have something.
  void wait(std::chrono::milliseconds timeout);
  // Every record written so far has been read.
  bool caught_up() { return buffer_->caught_up(); }
  [[nodiscard]] int64_t read_ahead_bytes() const { return read_ahead_bytes_; }
  [[nodiscard]] int64_t in_flight_bytes() const {
    return in_flight_.load(std::memory_order_relaxed);
  }
  DiskBufferStats stats() { return buffer_->stats(); }
  [[nodiscard]] const DiskBufferOptions& options() const { return buffer_->options(); }

  void finished(EncodedBatch* batch, int64_t cost) override;

  // After the sink's shutdown: a last sync, the acknowledgements it covers, the ledger.
  void close();

 private:
  void flush_loop();
  void release_acks(uint64_t covered);
  void wait_for_space(bool disk_full, int error, int64_t record_bytes);

  std::unique_ptr<DiskBuffer> buffer_;
  std::string sink_name_;
  ComponentMetrics* metrics_;
  const int64_t read_ahead_bytes_;
  std::atomic<int64_t> in_flight_{0};
  Pool<EncodedBatch> pool_{16};
  // Batches handed to the sink and not yet finished. A sink may give up on deliveries at
  // shutdown (its destination is down): their records stay on disk, and the batches are freed
  // here rather than leaked.
  std::mutex outstanding_mu_;
  std::unordered_set<EncodedBatch*> outstanding_;
  ByteBuffer payload_;  // sink thread

  std::mutex pending_mu_;
  std::deque<std::pair<uint64_t, AckToken*>> pending_acks_;  // append sequence → ack
  log::RateLimit error_log_;

  std::mutex flush_mu_;
  std::condition_variable flush_cv_;
  bool stopping_ = false;
  bool closed_ = false;
  std::thread flusher_;
};

}  // namespace sluice
