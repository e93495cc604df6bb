#pragma once
// One sink at run time: its bounded queue, its thread, and the completion of deliveries
// (acknowledgement, buffer accounting, recycling of shared encoded batches).
#include <atomic>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <vector>

#include "base/log.hpp"
#include "core/bounded_queue.hpp"
#include "core/metrics.hpp"
#include "core/pipeline.hpp"
#include "core/pool.hpp"
#include "core/sink_disk_buffer.hpp"
#include "sluice/sink.hpp"

namespace sluice {

// Queues are bounded by the memory their items hold, not the bytes in use.
int64_t memory_cost(const EncodedBatch& batch);

struct SinkRuntime final : DeliveryOwner {
  // Source indices are never reused across reloads; this many sources may be started in one
  // process's lifetime (a reload that would need more fails).
  static constexpr uint32_t kMaxSourceSlots = 4096;

  // The sink thread has ended (joined). Returns to the pool the memory of batches abandon()
  // acknowledged that the sink never finished (it gave up on a destination that was down).
  ~SinkRuntime() override;
  SinkRuntime(const SinkRuntime&) = delete;
  SinkRuntime& operator=(const SinkRuntime&) = delete;

  SinkRuntime(SinkSpec spec_in, ComponentMetrics* m, Pool<EncodedBatch>* p)
      : spec(std::move(spec_in)),
        queue(spec.buffer_max_bytes),
        metrics(m),
        pool(p),
        source_tokens_(
            std::make_unique<std::unique_ptr<BoundedQueue<Delivery>::Token>[]>(kMaxSourceSlots)) {
    templates = spec.sink->templates();
    encoding = spec.sink->encoding();
    wants_ids = spec.sink->wants_event_ids();
  }

  // One producer token per source: a source's batches reach the queue from several workers in
  // turn. Created (by whoever builds a routing table) before a table routing that source here
  // is published; read by the workers.
  void add_source_token(uint32_t source_index) {
    if (!source_tokens_[source_index]) source_tokens_[source_index] = queue.make_token();
  }
  BoundedQueue<Delivery>::Token& source_token(uint32_t source_index) {
    return *source_tokens_[source_index];
  }

  // A sink a reload removed that has not delivered by the deadline (its destination is down):
  // every batch it holds or has queued is acknowledged to its source as dropped (counted in
  // `dropped_on_reload`), so that it holds nothing else back; what it is handed from now on is
  // dropped the same way. Its thread may stay blocked on the destination: the runtime must then
  // be kept alive (it still holds the batches' memory). Returns the events dropped.
  uint64_t abandon();
  [[nodiscard]] bool abandoned() const { return abandoned_.load(std::memory_order_acquire); }

  void finished(EncodedBatch* batch, int64_t cost) override;

  // A worker hands over one encoded batch for this sink, in the source's order: into the memory
  // queue, or onto the disk buffer. Applies when_full.
  void accept(EncodedBatch* batch, BoundedQueue<Delivery>::Token& token);

  // A delivery that never reaches the sink (dropped by policy, or nothing left after
  // transforms) still completes the acknowledgement.
  void skipped(EncodedBatch* batch);

  // The sink thread: consume deliveries, tick timers, reopen on request, shut down at the end
  // marker once everything queued is written.
  void loop();
  // The sink thread with a disk buffer: feeds the sink from disk; at the end, drains what it can
  // within the shutdown deadline and leaves the rest on disk for the next start.
  void disk_loop();

  void count_drop(const EncodedBatch& batch);

  // The disk buffer, once open (`disk` is set before the sink thread starts).
  [[nodiscard]] SinkDiskBuffer* ready_disk() const {
    return disk_state_.load(std::memory_order_acquire) == DiskState::Open ? disk.get() : nullptr;
  }
  // A reload's changed sink whose buffer directory its predecessor still holds starts without a
  // buffer of its own: until the handover, workers store its batches in the predecessor's
  // (`interim`), so nothing waits. The reload then takes the handover lock (no store runs while
  // it is held), closes the predecessor's buffer and opens the directory for this sink:
  // attach_disk(), or fail_disk() when it cannot (batches are then dropped as `reload`).
  void awaits_disk(SinkDiskBuffer* interim) {
    interim_disk_ = interim;
    disk_state_.store(DiskState::Awaited, std::memory_order_release);
  }
  [[nodiscard]] std::unique_lock<std::shared_mutex> hold_stores() {
    return std::unique_lock(handover_mutex_);
  }
  void attach_disk(std::unique_ptr<SinkDiskBuffer> buffer);
  void fail_disk();
  // A changed sink's disk loop stops after what it has in flight instead of draining the
  // backlog, and leaves its buffer open: the successor's batches still go there until the
  // reload closes it (take_over_disk) and the successor reads the rest from the directory.
  std::atomic<bool> handing_over{false};

  std::atomic<uint64_t> dropped_on_reload{0};  // events, see abandon()

  // Declared before `spec`, so that it outlives the sink, which may still hold its batches.
  std::unique_ptr<SinkDiskBuffer> disk;
  SinkSpec spec;
  BoundedQueue<Delivery> queue;  // with a disk buffer: only the end marker
  const std::atomic<int64_t>* shutdown_deadline = nullptr;  // the pipeline's (monotonic ns)
  int64_t shutdown_timeout_ns = 0;
  ComponentMetrics* metrics;
  Pool<EncodedBatch>* pool;
  std::vector<const Template*> templates;
  EncodingSpec encoding;
  bool wants_ids = false;
  std::atomic<bool> reopen_requested{false};
  std::atomic<bool> done{false};
  log::RateLimit drop_log;
  std::thread thread;

 private:
  // Hands a delivery to the sink unless it was abandoned (then drops it).
  void consume(Delivery delivery);
  uint64_t drop_queued();
  void drop_for_reload(EncodedBatch* batch, int64_t cost);

  std::unique_ptr<std::unique_ptr<BoundedQueue<Delivery>::Token>[]> source_tokens_;
  // The batches the sink holds (handed over, not yet done()), and those abandon() acknowledged
  // while the sink still held them: their done() only returns the memory.
  std::mutex held_mutex_;
  std::vector<EncodedBatch*> held_;
  std::vector<EncodedBatch*> released_;
  std::atomic<bool> abandoned_{false};
  enum class DiskState : uint8_t { None, Awaited, Open, Failed };
  std::atomic<DiskState> disk_state_{DiskState::None};
  SinkDiskBuffer* interim_disk_ = nullptr;  // Awaited: the predecessor's
  std::shared_mutex handover_mutex_;        // Awaited: stores hold it shared
};

}  // namespace sluice
