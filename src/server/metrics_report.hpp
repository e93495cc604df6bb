#pragma once
// What sluice's /metrics and /health say about a running pipeline.
#include <string>

#include "core/pipeline.hpp"
#include "server/http_server.hpp"
#include "server/prometheus.hpp"

namespace sluice {

// The Prometheus page: per component counters, sink queues and retries, source ack lag, and per
// tailed file its read and acknowledged offsets and size.
std::string render_metrics(const Pipeline& pipeline);

// 200 while every sink delivers (or has failed for less than the grace period); 503 once a
// sink has been failing longer, or stopped while the pipeline runs.
HealthReport health_report(const Pipeline& pipeline, int64_t sink_grace_ns, int64_t now_ns);

}  // namespace sluice
