#include "core/sink_disk_buffer.hpp"

#include <cerrno>
#include <cstring>

#include "core/buffer_record.hpp"
#include "core/pipeline.hpp"
#include "core/sink_runtime.hpp"

namespace sluice {

namespace {
constexpr auto kNoSpaceRetry = std::chrono::milliseconds(250);
constexpr auto kLedgerInterval = std::chrono::seconds(1);
}  // namespace

SinkDiskBuffer::SinkDiskBuffer(std::unique_ptr<DiskBuffer> buffer, std::string sink_name,
                               ComponentMetrics* metrics, int64_t read_ahead_bytes)
    : buffer_(std::move(buffer)),
      sink_name_(std::move(sink_name)),
      metrics_(metrics),
      read_ahead_bytes_(read_ahead_bytes) {
  flusher_ = std::thread([this] { flush_loop(); });
}

SinkDiskBuffer::~SinkDiskBuffer() {
  close();
  for (EncodedBatch* batch : outstanding_) delete batch;
}

bool SinkDiskBuffer::store(const EncodedBatch& batch, WhenFull when_full, AckToken* ack) {
  BatchRecord record(batch);
  const auto record_bytes = static_cast<int64_t>(record.size());
  while (true) {
    // The ack joins the queue under the same lock as the append, so the queue stays in append
    // order and a sync covering sequence N covers every ack before it.
    std::unique_lock pending(pending_mu_);
    DiskBuffer::AppendResult result = buffer_->append(record.pieces());
    if (result.status == DiskBuffer::AppendStatus::Ok) {
      if (buffer_->options().fsync == FsyncPolicy::Interval) {
        pending_acks_.emplace_back(result.sequence, ack);
      } else {
        pending.unlock();
        ack->done();
      }
      return true;
    }
    pending.unlock();
    const bool full = result.status == DiskBuffer::AppendStatus::Full;
    if (!full) {
      metrics_->add(metrics_->errors, 1);
      uint64_t suppressed = 0;
      if (error_log_.allow(&suppressed)) {
        log::error(result.error == ENOSPC ? "disk buffer: no space left on device"
                                          : "disk buffer: write failed",
                   "sink", sink_name_, "dir", buffer_->options().dir, "error",
                   std::strerror(result.error), "policy",
                   when_full == WhenFull::Block ? "block: waiting for space" : "drop_newest",
                   "suppressed_logs", suppressed);
      }
    }
    if (when_full == WhenFull::DropNewest) return false;
    if (full) {
      buffer_->wait_for_room(record_bytes, std::chrono::milliseconds(100));
    } else {
      // The file system is full (or failing): space may come back from outside, so look again
      // regularly; deliveries that delete segments wake the room wait too.
      buffer_->wait_for_room(record_bytes, kNoSpaceRetry);
      std::this_thread::sleep_for(kNoSpaceRetry);
    }
  }
}

bool SinkDiskBuffer::next(Delivery* out) {
  while (true) {
    int64_t in_flight = in_flight_.load(std::memory_order_acquire);
    if (in_flight > 0 && in_flight >= read_ahead_bytes_) return false;
    uint64_t id = 0;
    if (!buffer_->read(payload_, &id)) return false;
    EncodedBatch* batch = pool_.acquire();
    std::string error;
    if (!decode_batch_record(payload_.view(), *batch, &error)) {
      // Its CRC matched, so this is not disk damage but a record this build cannot read.
      buffer_->count_unreadable_record(payload_.size());
      buffer_->ack(id);
      log::error("disk buffer: unreadable record skipped", "sink", sink_name_, "error", error);
      batch->reset();
      pool_.release(batch);
      continue;
    }
    batch->seq = id;
    batch->refs.store(1, std::memory_order_relaxed);
    {
      std::lock_guard lock(outstanding_mu_);
      outstanding_.insert(batch);
    }
    const int64_t cost = memory_cost(*batch);
    in_flight_.fetch_add(cost, std::memory_order_acq_rel);
    *out = Delivery(batch, this, cost);
    return true;
  }
}

void SinkDiskBuffer::wait(std::chrono::milliseconds timeout) {
  int64_t in_flight = in_flight_.load(std::memory_order_acquire);
  if (in_flight > 0 && in_flight >= read_ahead_bytes_) {
    // Memory-bound: wait for the sink to finish something (C++20 atomic waits have no timeout).
    auto until = std::chrono::steady_clock::now() + timeout;
    while (in_flight_.load(std::memory_order_acquire) >= read_ahead_bytes_ &&
           std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return;
  }
  buffer_->wait_readable(timeout);
}

void SinkDiskBuffer::finished(EncodedBatch* batch, int64_t cost) {
  metrics_->add(metrics_->events_out, batch->count());
  metrics_->add(metrics_->bytes_out, batch->data.size());
  buffer_->ack(batch->seq);
  {
    std::lock_guard lock(outstanding_mu_);
    outstanding_.erase(batch);
  }
  batch->reset();
  pool_.release(batch);
  in_flight_.fetch_sub(cost, std::memory_order_acq_rel);
}

void SinkDiskBuffer::release_acks(uint64_t covered) {
  std::deque<std::pair<uint64_t, AckToken*>> ready;
  {
    std::lock_guard lock(pending_mu_);
    while (!pending_acks_.empty() && pending_acks_.front().first <= covered) {
      ready.push_back(pending_acks_.front());
      pending_acks_.pop_front();
    }
  }
  for (auto& [sequence, ack] : ready) ack->done();
}

void SinkDiskBuffer::flush_loop() {
  const auto interval =
      std::chrono::nanoseconds(std::max<int64_t>(buffer_->options().fsync_interval_ns, 1'000'000));
  const bool syncs = buffer_->options().fsync == FsyncPolicy::Interval;
  auto next_ledger = std::chrono::steady_clock::now() + kLedgerInterval;
  std::unique_lock lock(flush_mu_);
  while (!stopping_) {
    flush_cv_.wait_for(lock, syncs ? interval : std::chrono::nanoseconds(kLedgerInterval),
                       [&] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    std::string error;
    if (syncs) {
      uint64_t covered = buffer_->sync(&error);
      if (error.empty()) {
        release_acks(covered);
      } else {
        // Nothing acknowledged that is not known to be durable; the next sync tries again.
        log::error("disk buffer: sync failed", "sink", sink_name_, "error", error);
        error.clear();
      }
    }
    if (std::chrono::steady_clock::now() >= next_ledger) {
      if (!buffer_->save_ledger(&error)) {
        log::error("disk buffer: ledger not saved", "sink", sink_name_, "error", error);
      }
      next_ledger = std::chrono::steady_clock::now() + kLedgerInterval;
    }
    lock.lock();
  }
}

void SinkDiskBuffer::close() {
  {
    std::lock_guard lock(flush_mu_);
    if (closed_) return;
    closed_ = true;
    stopping_ = true;
  }
  flush_cv_.notify_all();
  if (flusher_.joinable()) flusher_.join();
  std::string error;
  uint64_t covered = buffer_->sync(&error);
  if (!error.empty()) {
    log::error("disk buffer: final sync failed", "sink", sink_name_, "error", error);
  }
  // Written (in the page cache) even when the sync failed: a clean exit keeps it.
  release_acks(error.empty() ? covered : UINT64_MAX);
  if (!buffer_->save_ledger(&error)) {
    log::error("disk buffer: ledger not saved", "sink", sink_name_, "error", error);
  }
  DiskBufferStats stats = buffer_->stats();
  if (stats.records > 0) {
    log::info("records kept in the disk buffer for the next start", "sink", sink_name_, "records",
              stats.records, "bytes", stats.disk_bytes);
  }
}

}  // namespace sluice
