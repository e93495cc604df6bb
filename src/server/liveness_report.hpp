#pragma once
// What /health/live says: whether sluice's own threads are responsive (core/liveness.hpp).
// Destinations play no part: a sink outage is for /health/ready, and a restart would not cure it.
#include "core/liveness.hpp"
#include "server/http_server.hpp"

namespace sluice {

// 200 with {"status":"ok"} (or "stopping" while shutting down); 503 with "stalled" when the
// supervisor loop has stopped turning or a worker is stuck on one batch.
HealthReport liveness_report(const LivenessStatus& status);

}  // namespace sluice
