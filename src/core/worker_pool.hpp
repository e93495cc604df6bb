#pragma once
// The worker threads: each takes a batch from the work queue, parses it, runs it through its
// source's plan (transforms, then one encoding per output) and hands the encoded batches to the
// sinks. Workers process a source's batches in parallel but hand them over strictly in sequence
// (a worker that finishes early waits for its turn), so every sink sees read order.
#include <atomic>
#include <memory>
#include <span>
#include <thread>
#include <utility>
#include <vector>

#include "core/bounded_queue.hpp"
#include "core/liveness.hpp"
#include "core/metrics.hpp"
#include "core/pipeline.hpp"
#include "core/pipeline_plan.hpp"
#include "core/pool.hpp"
#include "core/sink_runtime.hpp"
#include "core/source_runtime.hpp"
#include "core/tap.hpp"

namespace sluice {

// A transform as the workers run it.
struct TransformRuntime {
  TransformSpec spec;
  ComponentMetrics* metrics;
};

// What the workers route by: the plan and the components its indices name. Immutable once
// published; a live reload publishes a new one and the workers take it up at their next batch
// (a batch boundary), while the components both tables share keep running untouched.
struct RoutingTable {
  uint64_t generation = 1;
  PipelinePlan plan;
  // By source index (SourceRuntime::index; indices are never reused, so a source stopped by a
  // reload keeps its slot while its last batches drain): which of plan.sources routes its
  // batches, or kUnrouted.
  static constexpr size_t kUnrouted = static_cast<size_t>(-1);
  std::vector<SourceRuntime*> sources;
  std::vector<size_t> source_plans;
  std::vector<std::shared_ptr<TransformRuntime>> transforms;  // plan indices
  std::vector<std::shared_ptr<SinkRuntime>> sinks;            // plan indices
};

class WorkerPool {
 public:
  WorkerPool(BoundedQueue<Batch*>& work_queue, Pool<Batch>& batch_pool,
             Pool<EncodedBatch>& encoded_pool, PipelineHeartbeats& heartbeats, TapRegistry& taps);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // The table the next batches are routed by (the first before start()).
  void publish(std::shared_ptr<const RoutingTable> table);
  [[nodiscard]] std::shared_ptr<const RoutingTable> table() const { return table_.load(); }

  void start(int workers);
  // Once no source pushes any more: lets the workers empty the queue and end. Returns false if
  // they are still busy at the monotonic deadline (then they are left running).
  bool finish(int64_t deadline_ns);

  // True once no worker is still routing a batch by a table older than `generation` (the
  // batches routed by older tables have been handed to their sinks).
  [[nodiscard]] bool none_older_than(uint64_t generation) const;

 private:
  struct Scratch;
  void loop(size_t index);
  void process(Batch* batch, Scratch& scratch);
  void route(const RoutingTable& table, Batch& batch, SourceRuntime& source, const PlanNode& node,
             std::span<const Event> events, size_t depth, Scratch& scratch);
  void commit(Batch& batch, SourceRuntime& source, Scratch& scratch);

  std::atomic<std::shared_ptr<const RoutingTable>> table_;
  BoundedQueue<Batch*>& work_queue_;
  Pool<Batch>& batch_pool_;
  Pool<EncodedBatch>& encoded_pool_;
  PipelineHeartbeats& heartbeats_;
  TapRegistry& taps_;
  std::vector<std::thread> threads_;
  std::atomic<int> running_{0};
  // Per worker: the generation of the table it routes its current batch by, kLoading while it
  // takes one, 0 when idle.
  static constexpr uint64_t kLoading = static_cast<uint64_t>(-1);
  std::unique_ptr<std::atomic<uint64_t>[]> in_use_;
};

}  // namespace sluice
