#include "server/liveness_report.hpp"

#include <fmt/format.h>

namespace sluice {

HealthReport liveness_report(const LivenessStatus& status) {
  constexpr int64_t kNsPerMs = 1'000'000;
  const char* state = !status.live ? "stalled" : (status.stopping ? "stopping" : "ok");
  HealthReport report;
  report.healthy = status.live;
  report.body = fmt::format(
      R"({{"status":"{}","supervisor_age_ms":{},"longest_busy_worker_ms":{},"stuck_workers":{}}})",
      state, status.supervisor_age_ns / kNsPerMs, status.longest_busy_ns / kNsPerMs,
      status.stuck_workers);
  return report;
}

}  // namespace sluice
