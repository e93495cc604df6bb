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

namespace sluice {

// The components the workers route between, in the order of the plan's indices. Owned by the
// pipeline; unchanged while the workers run.
struct RunningTopology {
  PipelinePlan plan;
  std::vector<std::unique_ptr<SourceRuntime>> sources;
  std::vector<TransformSpec> transforms;
  std::vector<ComponentMetrics*> transform_metrics;
  std::vector<std::unique_ptr<SinkRuntime>> sinks;
};

class WorkerPool {
 public:
  WorkerPool(const RunningTopology& topology, BoundedQueue<Batch*>& work_queue,
             Pool<Batch>& batch_pool, Pool<EncodedBatch>& encoded_pool,
             PipelineHeartbeats& heartbeats);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void start(int workers);
  // Once no source pushes any more: lets the workers empty the queue and end. Returns false if
  // they are still busy at the monotonic deadline (then they are left running).
  bool finish(int64_t deadline_ns);

 private:
  struct Scratch;
  void loop(size_t index);
  void process(Batch* batch, Scratch& scratch);
  void route(Batch& batch, SourceRuntime& source, const PlanNode& node,
             std::span<const Event> events, size_t depth, Scratch& scratch);
  void commit(SourceRuntime& source, uint64_t seq, Scratch& scratch);

  const RunningTopology& topology_;
  BoundedQueue<Batch*>& work_queue_;
  Pool<Batch>& batch_pool_;
  Pool<EncodedBatch>& encoded_pool_;
  PipelineHeartbeats& heartbeats_;
  std::vector<std::thread> threads_;
  std::atomic<int> running_{0};
};

}  // namespace sluice
