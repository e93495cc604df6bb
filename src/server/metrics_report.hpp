#pragma once
// What sluice's /metrics and /health say about a running pipeline.
#include <cstddef>
#include <string>
#include <vector>

#include "core/pipeline.hpp"
#include "server/http_server.hpp"
#include "server/prometheus.hpp"

namespace sluice {

// The Prometheus page: per component counters, sink queues and retries, source ack lag, per
// file source totals over all its files, and per tailed file (at most kMaxFileSeries of them per
// source) its read and acknowledged offsets and size.
std::string render_metrics(const Pipeline& pipeline);

// Per-file series are capped: a node daemon following 10,000 files would otherwise put 30,000
// series on every scrape. The files shown are those furthest behind, the ones worth a look.
inline constexpr size_t kMaxFileSeries = 500;

// The at most `limit` files with the most bytes not yet delivered to every sink (size minus
// acknowledged offset), most first; ties by path, so the choice is stable between scrapes.
std::vector<const FileStatus*> files_furthest_behind(const std::vector<FileStatus>& files,
                                                     size_t limit);

// 200 while every sink delivers (or has failed for less than the grace period); 503 once a
// sink has been failing longer, or stopped while the pipeline runs.
HealthReport health_report(const Pipeline& pipeline, int64_t sink_grace_ns, int64_t now_ns);

}  // namespace sluice
