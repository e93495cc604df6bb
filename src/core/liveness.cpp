#include "core/liveness.hpp"

#include <algorithm>

namespace sluice {

PipelineHeartbeats::PipelineHeartbeats(size_t workers, int64_t now_ns)
    : workers_(workers),
      busy_since_(std::make_unique<std::atomic<int64_t>[]>(workers)),
      supervisor_(now_ns) {
  for (size_t i = 0; i < workers_; ++i) busy_since_[i].store(0, std::memory_order_relaxed);
}

LivenessStatus PipelineHeartbeats::check(int64_t now_ns, int64_t stall_ns) const {
  LivenessStatus status;
  status.stopping = stopping_.load(std::memory_order_relaxed);
  status.supervisor_age_ns =
      std::max<int64_t>(0, now_ns - supervisor_.load(std::memory_order_relaxed));
  for (size_t i = 0; i < workers_; ++i) {
    const int64_t since = busy_since_[i].load(std::memory_order_relaxed);
    if (since == 0) continue;
    const int64_t busy = std::max<int64_t>(0, now_ns - since);
    status.longest_busy_ns = std::max(status.longest_busy_ns, busy);
    if (busy >= stall_ns) ++status.stuck_workers;
  }
  const bool supervisor_stalled = !status.stopping && status.supervisor_age_ns >= stall_ns;
  status.live = !supervisor_stalled && status.stuck_workers == 0;
  return status;
}

}  // namespace sluice
