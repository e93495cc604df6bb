#pragma once
// The pipeline's private state, shared by its lifecycle (pipeline.cpp) and its live reload
// (pipeline_reload.cpp).
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "core/pipeline.hpp"
#include "core/reload_status.hpp"
#include "core/worker_pool.hpp"

namespace sluice {

struct Pipeline::Impl {
  explicit Impl(PipelineOptions o)
      : options(o),
        work_queue(o.worker_queue_bytes * std::max(1, o.workers)),
        heartbeats(static_cast<size_t>(o.workers), monotonic_ns()),
        workers(work_queue, batch_pool, encoded_pool, heartbeats, taps),
        source_shared{batch_pool, work_queue, shutdown_deadline, o.shutdown_timeout_ns} {}
  ~Impl() { ::close(wake_fd); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  // Assembly, at construction and on every reload.
  ComponentMetrics* add_metrics(const std::string& name, const char* kind);
  SourceRuntime* add_source(SourceSpec spec);  // a new index; its thread is not started
  // Opens its disk buffer, if it has one; when that fails, sets `disk_error`.
  // With `interim_disk`, the sink stores there until attach_disk(): a reload's changed sink
  // whose directory its predecessor (the interim buffer's owner) still holds.
  std::shared_ptr<SinkRuntime> make_sink(SinkSpec spec, std::string* disk_error,
                                         SinkDiskBuffer* interim_disk = nullptr);
  std::unique_ptr<SinkDiskBuffer> open_sink_disk(const SinkRuntime& sink,
                                                 const DiskBufferOptions& buffer_options,
                                                 std::string* error);
  std::shared_ptr<TransformRuntime> make_transform(TransformSpec spec);
  // A routing table for these components in this order (the config's), with the producer tokens
  // its sinks need; `generation` above every table before it.
  std::shared_ptr<RoutingTable> assemble(std::vector<SourceRuntime*> sources,
                                         std::vector<std::shared_ptr<TransformRuntime>> transforms,
                                         std::vector<std::shared_ptr<SinkRuntime>> sinks,
                                         uint64_t generation);
  void start_sink_thread(SinkRuntime& sink);
  void start_source_thread(SourceRuntime& source);

  // The phases of run(), in order.
  [[nodiscard]] bool ready_to_run() const;
  int start_sources();  // the exit code a source that cannot start asks for (0: all started)
  void supervise();
  void settle_deadline();
  struct DrainOutcome {
    bool complete = false;         // every source, worker and sink finished in time
    bool abandoned_sinks = false;  // disk-buffered sinks left busy at the deadline
  };
  DrainOutcome drain();
  void wait_for_sink(SinkRuntime& sink, int64_t deadline_ns, DrainOutcome& outcome);
  [[nodiscard]] int exit_code(int start_failure, bool drained) const;
  [[nodiscard]] uint64_t report_undelivered(bool drained) const;

  // Supervision.
  void handle_signal(int sig);
  void stop_sources_near_deadline();

  // The reload's steps (pipeline_reload.cpp).
  Pipeline::ReloadOutcome reload(std::vector<SourceSpec> sources,
                                 std::vector<TransformSpec> transforms,
                                 std::vector<SinkSpec> sinks);
  void retire_sources(const std::vector<SourceRuntime*>& retiring, int64_t deadline_ns);
  void wait_for_routing(uint64_t generation, const std::vector<SinkRuntime*>& retiring,
                        int64_t deadline_ns);
  void retire_sinks(const std::vector<std::shared_ptr<SinkRuntime>>& retiring, int64_t deadline_ns);
  void abandon_sink(SinkRuntime& sink);
  // A changed sink takes over the disk buffer directory of the one it replaces, once that one
  // has stopped and closed it.
  void take_over_disk(SinkRuntime& predecessor, SinkRuntime& successor);

  PipelineOptions options;
  BoundedQueue<Batch*> work_queue;
  // Free batches keep their buffers, up to as many bytes as the work queue holds (the steady
  // state recycles what is in flight); each pool's spare memory is bounded like its queues.
  Pool<Batch> batch_pool{128, work_queue.max_cost(), memory_cost};
  Pool<EncodedBatch> encoded_pool{256, work_queue.max_cost(), memory_cost};
  PipelineHeartbeats heartbeats;
  TapRegistry taps;  // before workers, which offer it batches
  WorkerPool workers;
  std::atomic<int64_t> shutdown_deadline{0};  // monotonic ns; 0 = not shutting down
  SourceRuntimeShared source_shared;
  std::atomic<int> sources_running{0};
  int wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);  // a source finished
  bool sources_stopped = false;
  std::string disk_error;  // a disk buffer that could not be opened: run() fails
  std::function<void()> hangup_handler;
  ReloadStatus reload_status;

  // Guards the lists below, which a reload changes while the supervisor (signals), the drain
  // and the HTTP server's snapshots read them.
  mutable std::mutex components_mutex;
  // Every source ever started, by index (the owner; indices are never reused).
  std::vector<std::unique_ptr<SourceRuntime>> all_sources;
  // The sources of the running config.
  std::vector<SourceRuntime*> live_sources;
  // Every component's counters (the owner), and those of the running config.
  std::vector<std::unique_ptr<ComponentMetrics>> all_metrics;
  std::vector<const ComponentMetrics*> live_metrics;
  // Sinks a reload removed whose thread had not ended by the deadline (blocked on their
  // destination): kept alive, as they still hold batches' memory; joined at exit if they end.
  std::vector<std::shared_ptr<SinkRuntime>> abandoned_sinks;

  // One reload at a time, never during the drain: run() takes it once supervision ends.
  std::mutex lifecycle_mutex;
  bool accepting_reloads = false;  // under lifecycle_mutex: run() is supervising
};

}  // namespace sluice
