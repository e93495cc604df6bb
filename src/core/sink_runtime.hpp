#pragma once
// One sink at run time: its bounded queue, its thread, and the completion of deliveries
// (acknowledgement, buffer accounting, recycling of shared encoded batches).
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "core/bounded_queue.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/pipeline.hpp"
#include "core/pool.hpp"
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

  // A delivery that never reaches the sink (dropped by policy, or nothing left after
  // transforms) still completes the acknowledgement.
  void skipped(EncodedBatch* batch);

  // The sink thread: consume deliveries, tick timers, reopen on request, shut down at the end
  // marker once everything queued is written.
  void loop();

  SinkSpec spec;
  BoundedQueue<Delivery> queue;
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
