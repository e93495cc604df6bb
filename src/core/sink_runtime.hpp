#pragma once
// One sink at run time: its bounded queue, its thread, and the completion of deliveries
// (acknowledgement, buffer accounting, recycling of shared encoded batches).
#include <atomic>
#include <memory>
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
  SinkRuntime(SinkSpec spec_in, ComponentMetrics* m, Pool<EncodedBatch>* p)
      : spec(std::move(spec_in)), queue(spec.buffer_max_bytes), metrics(m), pool(p) {
    templates = spec.sink->templates();
    encoding = spec.sink->encoding();
    wants_ids = spec.sink->wants_event_ids();
  }

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
  // One per source: a source's batches reach this queue from several workers in turn.
  std::vector<std::unique_ptr<BoundedQueue<Delivery>::Token>> source_tokens;
  std::atomic<bool> reopen_requested{false};
  std::atomic<bool> done{false};
  log::RateLimit drop_log;
  std::thread thread;
};

}  // namespace sluice
