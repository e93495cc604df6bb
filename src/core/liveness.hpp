#pragma once
// Heartbeats of the pipeline's own threads, for the liveness probe (/health/live). Liveness asks
// "is the process still doing its work, or stuck for good?", which a restart cures; it must not
// depend on destinations (a sink outage is readiness, which a restart does not cure).
//
// Two things are watched, both cheap enough for the hot path (one relaxed store each):
// - the supervisor loop in Pipeline::run, which wakes at least every 100 ms to handle signals
//   and finished sources, stamps a heartbeat on every turn;
// - each worker stamps the time it starts parsing, transforming and encoding a batch and clears
//   it when done. That stage is pure CPU and never waits on a sink (handing over to the sink
//   queues, where backpressure legitimately blocks, comes after it), so a worker that stays in
//   it for long is stuck (a deadlock, a runaway loop), not waiting for a destination.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace sluice {

struct LivenessStatus {
  bool live = true;
  bool stopping = false;          // shutting down: the supervisor loop has ended
  int64_t supervisor_age_ns = 0;  // since the supervisor loop's last turn
  int64_t longest_busy_ns = 0;    // the worker busy on one batch for longest (0: all idle)
  int stuck_workers = 0;          // workers busy on one batch for at least the stall limit
};

class PipelineHeartbeats {
 public:
  PipelineHeartbeats(size_t workers, int64_t now_ns);

  void supervisor_beat(int64_t now_ns) { supervisor_.store(now_ns, std::memory_order_relaxed); }
  // From here on the supervisor no longer beats: the pipeline drains within its shutdown
  // deadline, after which the process exits whatever happens.
  void stopping() { stopping_.store(true, std::memory_order_relaxed); }

  void worker_busy(size_t worker, int64_t now_ns) {
    busy_since_[worker].store(now_ns, std::memory_order_relaxed);
  }
  void worker_idle(size_t worker) { busy_since_[worker].store(0, std::memory_order_relaxed); }

  // Not live when the supervisor has not turned for `stall_ns`, or a worker has been busy on
  // one batch for `stall_ns`.
  [[nodiscard]] LivenessStatus check(int64_t now_ns, int64_t stall_ns) const;

 private:
  size_t workers_;
  std::unique_ptr<std::atomic<int64_t>[]> busy_since_;  // monotonic ns; 0 = not busy
  std::atomic<int64_t> supervisor_;
  std::atomic<bool> stopping_{false};
};

}  // namespace sluice
