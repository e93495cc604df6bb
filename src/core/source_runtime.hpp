#pragma once
// One source at run time: the SourceContext it runs against (batches from the pool, pushed onto
// the work queue with an acknowledgement token), and the acknowledgements coming back from the
// sinks, which advance its checkpoint only over contiguous acknowledged batches.
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>

#include "core/bounded_queue.hpp"
#include "core/metrics.hpp"
#include "core/pipeline.hpp"
#include "core/pool.hpp"
#include "sluice/ack.hpp"
#include "sluice/source.hpp"

namespace sluice {

// Queues are bounded by the memory their items hold, not by the bytes in use: a batch from a
// small pipe read still owns a full-size buffer.
int64_t memory_cost(const Batch& batch);

// What every source's runtime shares with the rest of the pipeline.
struct SourceRuntimeShared {
  Pool<Batch>& batch_pool;
  BoundedQueue<Batch*>& work_queue;
  const std::atomic<int64_t>& shutdown_deadline;  // monotonic ns; 0 = not shutting down
  int64_t shutdown_timeout_ns;
};

class SourceRuntime final : public AckReceiver, public SourceContext {
 public:
  // How many sinks a batch reaches is decided when a worker routes it (by the routing table of
  // that moment), so a batch's acknowledgement token starts with one hold for the routing.
  SourceRuntime(const SourceRuntimeShared& shared, uint32_t index, SourceSpec spec,
                ComponentMetrics* metrics);

  // SourceContext, for the source's thread.
  Batch* acquire() override;
  void push(Batch* batch) override;
  void release(Batch* batch) override;
  [[nodiscard]] uint64_t acknowledged_checkpoint() const override {
    return acked_checkpoint_.load(std::memory_order_acquire);
  }
  bool wait_for_acks(int64_t deadline_ns) override;
  [[nodiscard]] int64_t shutdown_deadline_ns() const override;

  // AckReceiver, for the sinks' threads.
  void acknowledged(uint64_t seq, uint64_t events, uint64_t checkpoint) override;

  [[nodiscard]] uint64_t batches_unacknowledged() const {
    return pushed_.load(std::memory_order_acquire) - acked_.load(std::memory_order_acquire);
  }
  [[nodiscard]] uint64_t pushed_events() const {
    return pushed_events_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] uint64_t acked_events() const {
    return acked_events_.load(std::memory_order_relaxed);
  }

  const uint32_t index;
  SourceSpec spec;
  ComponentMetrics* const metrics;
  const uint64_t id_seed;  // event ids (EncodedBatch::ids) start from it
  // The next batch to hand to the sinks: workers take turns by it (read order).
  std::atomic<uint64_t> next_commit{0};
  std::atomic<bool> finished{false};
  std::thread thread;

 private:
  const SourceRuntimeShared& shared_;
  uint64_t next_seq_ = 0;  // source thread only
  std::atomic<uint64_t> pushed_{0};
  std::atomic<uint64_t> acked_{0};
  std::atomic<uint64_t> pushed_events_{0};
  std::atomic<uint64_t> acked_events_{0};
  std::mutex ack_mutex_;
  uint64_t next_ack_seq_ = 0;
  std::map<uint64_t, uint64_t> acked_ahead_;  // seq → checkpoint, acknowledged out of order
  std::atomic<uint64_t> acked_checkpoint_{0};
};

}  // namespace sluice
