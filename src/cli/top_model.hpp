#pragma once
// What `sluice top` shows, computed from two successive scrapes of a running sluice's /metrics
// (the series src/server/metrics_report.cpp serves): per component rates and totals, queue fill
// and ack lag, and the files furthest behind. No I/O here: the command scrapes, this computes,
// the view (cli/top_view.hpp) draws.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "server/prometheus_parser.hpp"

namespace sluice::cli {

// One scrape: when it was taken (monotonic ns) and what the page said.
struct Scrape {
  int64_t taken_ns = 0;
  std::vector<PrometheusSample> samples;
};

// A counter's value now and how much it grew since the previous scrape.
struct CounterReading {
  double total = 0;
  double recent = 0;
};

struct ComponentRow {
  std::string name;
  std::string kind;  // source, transform, sink (as the page labels it)
  // What the kind counts: a source reads bytes and sends events, a transform takes and sends
  // events, a sink all four. The view leaves the others blank rather than show a false 0.
  bool counts_events_in = true;
  bool counts_bytes_in = true;
  bool counts_bytes_out = true;
  // Per second over the interval between the scrapes; unset on the first scrape.
  std::optional<double> events_in_per_s;
  std::optional<double> events_out_per_s;
  std::optional<double> bytes_in_per_s;
  std::optional<double> bytes_out_per_s;
  CounterReading events_in;
  CounterReading events_out;
  CounterReading errors;
  CounterReading parse_errors;
  CounterReading dropped;  // every reason together
  // Drops by reason where the page gives one (a sink a reload removed: "reload"); drops without
  // a reason label (a full buffer with `drop_newest`) are under "buffer_full".
  std::vector<std::pair<std::string, double>> dropped_by_reason;
  std::optional<double> queue_fill;  // sinks: queued bytes / buffer max_bytes (may exceed 1)
  std::optional<double> disk_fill;   // sinks with a disk buffer: its bytes / its max_bytes
  std::optional<double> unacknowledged_events;  // sources: ack lag
  double failing_seconds = 0;                   // sinks: 0 while delivering
};

struct FileRow {
  std::string source;
  std::string path;
  double size = 0;
  double read_offset = 0;
  double acknowledged_offset = 0;
  std::optional<double> read_bytes_per_s;  // when the file was in both scrapes

  // Bytes of the file not yet delivered to every sink.
  [[nodiscard]] double bytes_behind() const {
    return size > acknowledged_offset ? size - acknowledged_offset : 0;
  }
};

struct TopModel {
  std::optional<double> interval_s;  // between the two scrapes; unset on the first
  std::string version;               // sluice_build_info's
  double resident_bytes = 0;
  std::optional<double> started_unix_s;  // process_start_time_seconds, when the page has it
  // Sources, then transforms, then sinks (the way events flow); each in the page's order.
  std::vector<ComponentRow> components;
  // The files furthest behind, most first (ties by source, then path), at most `max_files`.
  std::vector<FileRow> files;
  double files_followed = 0;  // every file every (shown) file source follows
  double bytes_behind = 0;    // summed over all those files, not only the listed ones
  size_t file_series = 0;     // per-file series on the page (the server caps them per source)
};

// Which components to show: every one when `patterns` is empty, else those whose name matches
// one of them (shell globs, fnmatch).
bool component_selected(const std::string& name, const std::vector<std::string>& patterns);

// Builds the model of `current`, with rates against `previous` (null on the first scrape). A
// counter that went down (sluice restarted) counts from zero; a component or file missing from
// `previous` (added by a reload) too.
TopModel build_top_model(const Scrape* previous, const Scrape& current, size_t max_files,
                         const std::vector<std::string>& patterns = {});

// True when the page is a sluice's (it has sluice_build_info), not some other exporter's.
bool is_sluice_page(const Scrape& scrape);

}  // namespace sluice::cli
