#pragma once
// The running topology: source threads → worker pool (parse, timestamp, transforms, encode) →
// per-sink bounded queues → sink threads, with acknowledgements flowing back to the sources.
// This class is the lifecycle: it builds the plan (core/pipeline_plan.hpp), starts the sinks,
// sources (core/source_runtime.hpp) and workers (core/worker_pool.hpp), supervises them while
// handling signals, and at the end drains within the shutdown deadline and reports.
//
// Ordering: batches of one source carry consecutive sequence numbers; workers process them in
// parallel but hand them to the sink queues strictly in sequence (a worker that finishes early
// waits for its turn), so every sink sees a source's events in the order they were read.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/disk_buffer.hpp"
#include "core/liveness.hpp"
#include "core/metrics.hpp"
#include "core/reload_status.hpp"
#include "core/tap.hpp"
#include "parse/event_parser.hpp"
#include "sluice/sink.hpp"
#include "sluice/source.hpp"
#include "sluice/source_meta.hpp"
#include "sluice/transform.hpp"

namespace sluice {

enum class WhenFull { Block, DropNewest };

struct SourceSpec {
  std::string name;
  std::unique_ptr<Source> source;
  std::unique_ptr<EventParser> parser;
  SourceMeta meta;
  // What a live reload compares to decide whether the source changed (its config, as read).
  std::string fingerprint{};
};

struct TransformSpec {
  std::string name;
  std::unique_ptr<Transform> transform;
  std::vector<std::string> inputs;
  std::string fingerprint{};  // as SourceSpec::fingerprint
};

struct SinkSpec {
  std::string name;
  std::unique_ptr<Sink> sink;
  std::vector<std::string> inputs;
  // Memory: the buffer's bound. With a disk buffer: the bound on batches read back from disk
  // and not yet acknowledged by the sink.
  int64_t buffer_max_bytes = 8 << 20;
  WhenFull when_full = WhenFull::Block;
  std::optional<DiskBufferOptions> disk;  // buffer `type: disk`, opened when the pipeline runs
  std::string fingerprint{};              // as SourceSpec::fingerprint
};

struct PipelineOptions {
  int workers = 2;
  // The work queue's bound is this much per worker. It counts the batches being parsed as well
  // as those waiting, and a reused batch keeps the capacity its parse grew (a 256 KiB batch of
  // short syslog lines holds 2.3 MB with its fields): one fixed 4 MiB for all workers let only
  // one such batch in at a time, so two workers took turns instead of running together.
  int64_t worker_queue_bytes = 4 << 20;
  int64_t shutdown_timeout_ns = 10'000'000'000;
  // /health/ready (and /health) turn 503 once a sink has been failing this long.
  int64_t health_sink_grace_ns = 60'000'000'000;
  // /health/live turns 503 once the supervisor loop has not turned, or a worker has spent this
  // long on one batch (parsing, transforming, encoding: work that takes milliseconds).
  int64_t liveness_stall_ns = 15'000'000'000;
};

// What /metrics and /health read while the pipeline runs (any thread).
struct PipelineSnapshot {
  struct SourceState {
    std::string name;
    uint64_t pushed_events = 0;
    uint64_t acked_events = 0;  // pushed - acked = events not yet delivered to every sink
    bool finished = false;
    std::vector<FileStatus> files;
    std::optional<KubernetesStatus> kubernetes;
    std::vector<std::pair<std::string, uint64_t>> dropped;  // on purpose, by reason
  };
  struct SinkState {
    std::string name;
    int64_t queue_bytes = 0;  // memory held by queued batches
    int64_t queue_capacity = 0;
    uint64_t retries = 0;
    uint64_t dead_lettered = 0;
    int64_t failing_since_ns = 0;  // monotonic; 0 = healthy
    bool done = false;
    std::optional<DiskBufferStats> disk;  // buffer `type: disk`
    int64_t disk_capacity = 0;            // its max_bytes
  };
  std::vector<SourceState> sources;
  std::vector<SinkState> sinks;
};

class Pipeline {
 public:
  // The topology must already be validated (inputs exist, no cycles, every source used).
  Pipeline(PipelineOptions options, std::vector<SourceSpec> sources,
           std::vector<TransformSpec> transforms, std::vector<SinkSpec> sinks);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Runs until every source has finished and everything is drained, or until a shutdown
  // signal plus the shutdown deadline. Signals must be blocked in the calling thread (see
  // block_process_signals) so that they are handled here. Returns the process exit code: the
  // one a source decides (Source::exit_code: exec's child), else 0 (1 when the drain missed the
  // deadline or the topology cannot run).
  int run();

  // Called on the supervising thread when SIGHUP arrives (after the file sinks were asked to
  // reopen): `sluice run` asks for a config reload there when reload is on. Set before run().
  void on_hangup(std::function<void()> handler);

  // Live reload: replaces the running topology by this one (already validated and built, with
  // fingerprints), component by component. What did not change (same name and fingerprint)
  // keeps running untouched: queues, offsets, connections. A removed or changed sink drains
  // until the shutdown deadline, then what it still holds is acknowledged as dropped (counted
  // in ReloadStatus) so that it never holds the others back; a removed or changed source stops
  // once what it read is acknowledged (a file source saves its offsets, which the new one
  // loads); a changed transform applies from the next batch. A source that is not restartable
  // (exec: the wrapped app) is kept as it is. Call from one thread at a time while run() runs;
  // does nothing once a shutdown began. Returns false with `error` when it changed nothing.
  struct ReloadOutcome {
    bool applied = false;
    std::string error;    // when not applied
    std::string summary;  // what was kept, started and stopped
  };
  ReloadOutcome reload(std::vector<SourceSpec> sources, std::vector<TransformSpec> transforms,
                       std::vector<SinkSpec> sinks);
  [[nodiscard]] ReloadStatus& reload_status();
  [[nodiscard]] const ReloadStatus& reload_status() const;

  // The components of the running topology (those a reload removed are left out).
  [[nodiscard]] std::vector<const ComponentMetrics*> metrics() const;
  // The counters the running transforms keep themselves (Transform::read_counters), by name.
  [[nodiscard]] std::vector<std::pair<std::string, TransformCounters>> transform_counters() const;
  [[nodiscard]] PipelineSnapshot snapshot() const;
  // Whether the pipeline's own threads are responsive (see core/liveness.hpp); reads a few
  // atomics only, so a probe never waits on a lock a stuck thread may hold.
  [[nodiscard]] LivenessStatus liveness(int64_t now_ns) const;

  // `sluice tap` (GET /tap): a stream of samples of the events flowing out of the named sources
  // and transforms (all of them when none is named), by name, so across reloads too; refused
  // with 404 for a name the running topology does not have (see core/tap.hpp). Any thread.
  [[nodiscard]] TapOpened open_tap(const TapRequest& request);
  // The sources and transforms of the running topology, in config order.
  [[nodiscard]] std::vector<TapComponent> tap_components() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice
