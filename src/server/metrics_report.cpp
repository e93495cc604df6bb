#include "server/metrics_report.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "base/clock.hpp"
#include "base/json_writer.hpp"
#include "sluice/version.hpp"

namespace sluice {

namespace {

// Static initialisation runs as the process starts, before main: its start time, which tells a
// restarted sluice (`sluice top` shows the uptime) from one that has run all along.
const int64_t kProcessStartNs = wall_clock_ns();

// Resident memory from /proc/self/statm (pages), for the process_ family scrapers expect.
uint64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size = 0;
  uint64_t resident = 0;
  statm >> size >> resident;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

void component_counters(const Pipeline& pipeline, const PipelineSnapshot& snap,
                        PrometheusWriter& w) {
  struct Counter {
    const char* name;
    const char* help;
    std::atomic<uint64_t> ComponentMetrics::*field;
  };
  static const Counter kCounters[] = {
      {"sluice_component_received_events_total", "Events that entered the component.",
       &ComponentMetrics::events_in},
      {"sluice_component_sent_events_total", "Events the component passed on or delivered.",
       &ComponentMetrics::events_out},
      {"sluice_component_received_bytes_total", "Bytes read (sources) or received (sinks).",
       &ComponentMetrics::bytes_in},
      {"sluice_component_sent_bytes_total", "Bytes written by sinks.",
       &ComponentMetrics::bytes_out},
      {"sluice_component_dropped_events_total",
       "Events dropped (buffer full with drop_newest; with a reason: throttled, reload, "
       "excluded).",
       &ComponentMetrics::dropped},
      {"sluice_component_parse_errors_total", "Lines the configured parser could not parse.",
       &ComponentMetrics::parse_errors},
      {"sluice_component_truncated_events_total",
       "Lines longer than max_line_bytes, cut into pieces (tagged split).",
       &ComponentMetrics::split},
      {"sluice_component_errors_total", "Errors a component reported.", &ComponentMetrics::errors},
  };
  const auto transforms = pipeline.transform_counters();
  for (const Counter& c : kCounters) {
    w.family(c.name, "counter", c.help);
    for (const auto& m : pipeline.metrics()) {
      w.sample(c.name, {{"component", m->name}, {"kind", m->kind}},
               (*m.*c.field).load(std::memory_order_relaxed));
    }
    if (c.field != &ComponentMetrics::dropped) continue;
    // What transforms drop on purpose (throttle), by reason.
    for (const auto& [name, counters] : transforms) {
      for (const auto& [reason, events] : counters.dropped) {
        w.sample(c.name, {{"component", name}, {"kind", "transform"}, {"reason", reason}}, events);
      }
    }
    // What sources read and drop on purpose (lines of excluded pods), by reason.
    for (const auto& source : snap.sources) {
      for (const auto& [reason, events] : source.dropped) {
        w.sample(c.name, {{"component", source.name}, {"kind", "source"}, {"reason", reason}},
                 events);
      }
    }
    // Sinks a reload removed that could not deliver by the deadline (they are gone from the
    // series above).
    for (const auto& [sink, events] : pipeline.reload_status().dropped()) {
      w.sample(c.name, {{"component", sink}, {"kind", "sink"}, {"reason", "reload"}}, events);
    }
  }
  for (const auto& [name, counters] : transforms) {
    for (const TransformCounters::Family& f : counters.families) {
      w.family(f.name, f.type, f.help);
      for (const auto& [label_value, value] : f.samples) {
        if (f.label.empty()) {
          w.sample(f.name, {{"component", name}}, value);
        } else {
          w.sample(f.name, {{"component", name}, {f.label, label_value}}, value);
        }
      }
    }
  }
  w.family("sluice_config_reloads_total", "counter",
           "Live config reloads, by result (a failure changes nothing).");
  w.sample("sluice_config_reloads_total", {{"result", "success"}},
           pipeline.reload_status().successes());
  w.sample("sluice_config_reloads_total", {{"result", "failure"}},
           pipeline.reload_status().failures());
}

// Every file a source follows, summed: what the capped per-file series cannot show.
void file_totals(const PipelineSnapshot& snap, PrometheusWriter& w) {
  w.family("sluice_source_files", "gauge",
           "Files the source follows (open, or closed and watched for changes).");
  w.family("sluice_source_files_size_bytes", "gauge",
           "Sum over the source's files of their size when last looked at.");
  w.family("sluice_source_files_read_offset_bytes", "gauge",
           "Sum over the source's files of the bytes read so far.");
  w.family("sluice_source_files_acknowledged_offset_bytes", "gauge",
           "Sum over the source's files of the bytes delivered to every sink.");
  for (const auto& s : snap.sources) {
    uint64_t size = 0;
    uint64_t read = 0;
    uint64_t acked = 0;
    for (const FileStatus& f : s.files) {
      size += f.size;
      read += f.read_offset;
      acked += f.acked_offset;
    }
    w.sample("sluice_source_files", {{"component", s.name}}, s.files.size());
    w.sample("sluice_source_files_size_bytes", {{"component", s.name}}, size);
    w.sample("sluice_source_files_read_offset_bytes", {{"component", s.name}}, read);
    w.sample("sluice_source_files_acknowledged_offset_bytes", {{"component", s.name}}, acked);
  }
}

// The Kubernetes metadata of container sources: requests to the API by kind and status, the pods
// cached, files read without their pod's metadata, relists, and the state as a gauge per value.
void kubernetes_metrics(const PipelineSnapshot& snap, PrometheusWriter& w) {
  const bool any = std::any_of(snap.sources.begin(), snap.sources.end(),
                               [](const auto& s) { return s.kubernetes.has_value(); });
  if (!any) return;
  w.family("sluice_kubernetes_api_requests_total", "counter",
           "Requests to the Kubernetes API by kind (list, watch, get) and HTTP status (error: no "
           "answer).");
  for (const auto& s : snap.sources) {
    if (!s.kubernetes) continue;
    for (const auto& [kind, code, count] : s.kubernetes->requests) {
      w.sample("sluice_kubernetes_api_requests_total",
               {{"component", s.name}, {"kind", kind}, {"code", code}}, count);
    }
  }
  w.family("sluice_kubernetes_pods_cached", "gauge",
           "Pods whose metadata is cached (those of this node, and deleted ones still read).");
  w.family("sluice_kubernetes_cache_bytes", "gauge",
           "Memory of the pod metadata cache (an estimate).");
  w.family("sluice_kubernetes_metadata_misses_total", "counter",
           "Container log files read without their pod's metadata (the pod not found in time).");
  w.family("sluice_kubernetes_excluded_events_total", "counter",
           "Container log lines read and dropped because their pod says sluice.io/exclude: "
           "\"true\".");
  w.family("sluice_kubernetes_relists_total", "counter",
           "Lists of pods after the watch's resourceVersion expired (410 Gone).");
  w.family("sluice_kubernetes_api_degraded", "gauge",
           "1 while the metadata is not in sync with the API (unreachable or refusing).");
  for (const auto& s : snap.sources) {
    if (!s.kubernetes) continue;
    const KubernetesStatus& k = *s.kubernetes;
    w.sample("sluice_kubernetes_pods_cached", {{"component", s.name}}, k.pods_cached);
    w.sample("sluice_kubernetes_cache_bytes", {{"component", s.name}}, k.cache_bytes);
    w.sample("sluice_kubernetes_metadata_misses_total", {{"component", s.name}}, k.misses);
    w.sample("sluice_kubernetes_excluded_events_total", {{"component", s.name}}, k.excluded_events);
    w.sample("sluice_kubernetes_relists_total", {{"component", s.name}}, k.relists);
    w.sample("sluice_kubernetes_api_degraded", {{"component", s.name}, {"state", k.state}},
             k.degraded ? 1 : 0);
  }
}

}  // namespace

std::string render_metrics(const Pipeline& pipeline) {
  PrometheusWriter w;
  w.family("sluice_build_info", "gauge", "Version and git revision of the running binary.");
  w.sample("sluice_build_info", {{"version", kVersion}, {"revision", kGitRevision}}, 1);
  w.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
  w.sample("process_resident_memory_bytes", {}, resident_bytes());
  w.family("process_start_time_seconds", "gauge",
           "Start time of the process since the Unix epoch, in seconds.");
  w.sample("process_start_time_seconds", {}, static_cast<double>(kProcessStartNs) / 1e9);
  const PipelineSnapshot snap = pipeline.snapshot();
  component_counters(pipeline, snap, w);

  w.family("sluice_source_unacknowledged_events", "gauge",
           "Events read by a source and not yet delivered to every sink (ack lag).");
  for (const auto& s : snap.sources) {
    w.sample("sluice_source_unacknowledged_events", {{"component", s.name}},
             s.pushed_events - s.acked_events);
  }
  w.family("sluice_sink_queue_bytes", "gauge",
           "Memory held by batches queued for the sink (with a disk buffer: read back from "
           "disk and not yet acknowledged).");
  w.family("sluice_sink_queue_capacity_bytes", "gauge", "The sink buffer's max_bytes.");
  w.family("sluice_sink_retries_total", "counter",
           "Delivery attempts that failed and were retried.");
  w.family("sluice_sink_dead_lettered_events_total", "counter",
           "Events the destination refused for good, written to the dead-letter file.");
  w.family("sluice_sink_failing_seconds", "gauge",
           "How long the sink has been failing to deliver; 0 while it delivers.");
  const int64_t now = monotonic_ns();
  for (const auto& s : snap.sinks) {
    w.sample("sluice_sink_queue_bytes", {{"component", s.name}}, s.queue_bytes);
    w.sample("sluice_sink_queue_capacity_bytes", {{"component", s.name}}, s.queue_capacity);
    w.sample("sluice_sink_retries_total", {{"component", s.name}}, s.retries);
    w.sample("sluice_sink_dead_lettered_events_total", {{"component", s.name}}, s.dead_lettered);
    double failing = s.failing_since_ns ? static_cast<double>(now - s.failing_since_ns) / 1e9 : 0;
    w.sample("sluice_sink_failing_seconds", {{"component", s.name}}, failing);
  }
  w.family("sluice_sink_disk_buffer_bytes", "gauge", "Size of the sink's disk buffer segments.");
  w.family("sluice_sink_disk_buffer_capacity_bytes", "gauge", "The disk buffer's max_bytes.");
  w.family("sluice_sink_disk_buffer_records", "gauge",
           "Records (batches) in the disk buffer not yet acknowledged by the sink.");
  w.family("sluice_sink_disk_buffer_corrupt_records_total", "counter",
           "Torn or corrupt disk-buffer records skipped (at start or while reading).");
  w.family("sluice_sink_disk_buffer_skipped_bytes_total", "counter",
           "Bytes skipped with corrupt disk-buffer records.");
  w.family("sluice_sink_disk_buffer_write_errors_total", "counter",
           "Disk-buffer appends that failed (no space, I/O error) and were undone.");
  for (const auto& s : snap.sinks) {
    if (!s.disk) continue;
    w.sample("sluice_sink_disk_buffer_bytes", {{"component", s.name}}, s.disk->disk_bytes);
    w.sample("sluice_sink_disk_buffer_capacity_bytes", {{"component", s.name}}, s.disk_capacity);
    w.sample("sluice_sink_disk_buffer_records", {{"component", s.name}}, s.disk->records);
    w.sample("sluice_sink_disk_buffer_corrupt_records_total", {{"component", s.name}},
             s.disk->corrupt_records);
    w.sample("sluice_sink_disk_buffer_skipped_bytes_total", {{"component", s.name}},
             s.disk->skipped_bytes);
    w.sample("sluice_sink_disk_buffer_write_errors_total", {{"component", s.name}},
             s.disk->write_errors);
  }
  file_totals(snap, w);
  kubernetes_metrics(snap, w);
  w.family("sluice_file_read_offset_bytes", "gauge",
           "Bytes of the file read so far (the files furthest behind, at most 500 per source).");
  w.family("sluice_file_acknowledged_offset_bytes", "gauge",
           "Bytes of the file delivered to every sink (its checkpoint; the files furthest behind, "
           "at most 500 per source).");
  w.family("sluice_file_size_bytes", "gauge",
           "Size of the file when last looked at (the files furthest behind, at most 500 per "
           "source).");
  for (const auto& s : snap.sources) {
    for (const FileStatus* f : files_furthest_behind(s.files, kMaxFileSeries)) {
      w.sample("sluice_file_read_offset_bytes", {{"component", s.name}, {"path", f->path}},
               f->read_offset);
      w.sample("sluice_file_acknowledged_offset_bytes", {{"component", s.name}, {"path", f->path}},
               f->acked_offset);
      w.sample("sluice_file_size_bytes", {{"component", s.name}, {"path", f->path}}, f->size);
    }
  }
  return w.text();
}

std::vector<const FileStatus*> files_furthest_behind(const std::vector<FileStatus>& files,
                                                     size_t limit) {
  std::vector<const FileStatus*> chosen;
  chosen.reserve(files.size());
  for (const FileStatus& f : files) chosen.push_back(&f);
  auto behind = [](const FileStatus* f) {
    return f->size > f->acked_offset ? f->size - f->acked_offset : 0;
  };
  auto before = [&](const FileStatus* a, const FileStatus* b) {
    uint64_t lag_a = behind(a);
    uint64_t lag_b = behind(b);
    return lag_a != lag_b ? lag_a > lag_b : a->path < b->path;
  };
  if (chosen.size() > limit) {
    std::nth_element(chosen.begin(), chosen.begin() + static_cast<std::ptrdiff_t>(limit),
                     chosen.end(), before);
    chosen.resize(limit);
  }
  std::sort(chosen.begin(), chosen.end(), before);
  return chosen;
}

HealthReport health_report(const Pipeline& pipeline, int64_t sink_grace_ns, int64_t now_ns) {
  PipelineSnapshot snap = pipeline.snapshot();
  HealthReport report;
  ByteBuffer body;
  body.append("{\"sinks\":{");
  bool first = true;
  for (const auto& s : snap.sinks) {
    bool failing_long = s.failing_since_ns != 0 && now_ns - s.failing_since_ns >= sink_grace_ns;
    const char* state = failing_long ? "failing" : (s.failing_since_ns ? "retrying" : "ok");
    if (failing_long) report.healthy = false;
    if (!first) body.push_back(',');
    first = false;
    append_json_string(body, s.name, false);
    body.append(":{\"state\":\"");
    body.append(state);
    body.append("\"}");
  }
  body.append("},\"sources\":{");
  first = true;
  for (const auto& s : snap.sources) {
    if (!first) body.push_back(',');
    first = false;
    append_json_string(body, s.name, false);
    body.append(s.finished ? ":{\"state\":\"finished\"" : ":{\"state\":\"running\"");
    if (s.kubernetes) {
      // Degraded, not failing: events still flow, with their path's metadata only.
      body.append(",\"kubernetes\":{\"state\":\"");
      body.append(s.kubernetes->state);
      body.append(s.kubernetes->degraded ? "\",\"degraded\":true}" : "\",\"degraded\":false}");
    }
    body.push_back('}');
  }
  body.append("}");
  // The last reload's result: a failed one leaves the previous config running, which is
  // healthy, but an operator waiting for a change wants to see why it did not happen.
  if (ReloadStatus::Last last = pipeline.reload_status().last(); last.any) {
    body.append(",\"last_reload\":{\"result\":");
    body.append(last.success ? "\"success\"" : "\"failure\"");
    body.append(",\"detail\":");
    append_json_string(body, last.detail, false);
    body.append(",\"seconds\":");
    body.append(std::to_string(last.seconds));
    body.append(",\"unix_ns\":");
    body.append(std::to_string(last.unix_ns));
    body.append("}");
  }
  body.append(",\"status\":");
  body.append(report.healthy ? "\"ok\"}" : "\"failing\"}");
  report.body.assign(body.data(), body.size());
  return report;
}

}  // namespace sluice
