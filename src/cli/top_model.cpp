#include "cli/top_model.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <cmath>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace sluice::cli {

namespace {

// A series' identity across scrapes: its name and the labels top tells series apart by.
std::string series_key(const PrometheusSample& s) {
  std::string key = s.name;
  for (std::string_view label : {"component", "path", "reason"}) {
    key.push_back('\x1f');
    key.append(s.label(label));
  }
  return key;
}

// A Prometheus page may say NaN, infinity or a negative number anywhere; sluice's series are
// uint64 counts, so top reads anything else as 0 and caps the rest there (sums stay finite).
double count_value(double v) {
  constexpr double kMaxCount = 18446744073709551615.0;  // UINT64_MAX
  return std::isfinite(v) && v > 0 ? std::min(v, kMaxCount) : 0;
}

class ModelBuilder {
 public:
  ModelBuilder(const Scrape* previous, const Scrape& current,
               const std::vector<std::string>& patterns)
      : current_(current), patterns_(patterns) {
    if (previous) {
      const double dt = static_cast<double>(current.taken_ns - previous->taken_ns) / 1e9;
      if (dt > 0) interval_s_ = dt;
      for (const PrometheusSample& s : previous->samples) {
        before_.emplace(series_key(s), count_value(s.value));
      }
    }
  }

  TopModel build(size_t max_files) {
    for (const PrometheusSample& s : current_.samples) take(s);
    model_.interval_s = interval_s_;
    for (const auto& [source, totals] : source_totals_) {
      const auto& [size, acknowledged] = totals;
      if (size > acknowledged) model_.bytes_behind += size - acknowledged;
    }
    for (auto& [name, index] : rows_) {
      ComponentRow& row = model_.components[index];
      const Sink& sink = sinks_[name];
      if (sink.queue_capacity > 0) row.queue_fill = sink.queue_bytes / sink.queue_capacity;
      if (sink.disk_capacity > 0) row.disk_fill = sink.disk_bytes / sink.disk_capacity;
    }
    for (ComponentRow& row : model_.components) {
      row.counts_events_in = row.kind != "source";
      row.counts_bytes_in = row.kind != "transform";
      row.counts_bytes_out = row.kind != "source" && row.kind != "transform";
    }
    auto flow_rank = [](const ComponentRow& row) {
      if (row.kind == "source") return 0;
      if (row.kind == "transform") return 1;
      return row.kind == "sink" ? 2 : 3;
    };
    std::stable_sort(
        model_.components.begin(), model_.components.end(),
        [&](const ComponentRow& a, const ComponentRow& b) { return flow_rank(a) < flow_rank(b); });
    std::vector<FileRow> files;
    files.reserve(files_.size());
    for (auto& [key, file] : files_) files.push_back(std::move(file));
    auto before = [](const FileRow& a, const FileRow& b) {
      if (a.bytes_behind() != b.bytes_behind()) return a.bytes_behind() > b.bytes_behind();
      if (a.source != b.source) return a.source < b.source;
      return a.path < b.path;
    };
    if (files.size() > max_files) {
      std::partial_sort(files.begin(), files.begin() + static_cast<std::ptrdiff_t>(max_files),
                        files.end(), before);
      files.resize(max_files);
    } else {
      std::sort(files.begin(), files.end(), before);
    }
    model_.files = std::move(files);
    return std::move(model_);
  }

 private:
  struct Sink {
    double queue_bytes = 0;
    double queue_capacity = 0;
    double disk_bytes = 0;
    double disk_capacity = 0;
  };

  // How much a counter grew since the previous scrape; a counter that went down was reset (a
  // restarted sluice), so all of its value is new, as Prometheus's rate() counts it.
  double growth(const PrometheusSample& s) const {
    const double now = count_value(s.value);
    auto it = before_.find(series_key(s));
    const double then = it == before_.end() ? 0 : it->second;
    return now >= then ? now - then : now;
  }

  std::optional<double> per_second(const PrometheusSample& s) const {
    if (!interval_s_) return std::nullopt;
    return growth(s) / *interval_s_;
  }

  CounterReading reading(const PrometheusSample& s) const {
    return {count_value(s.value), growth(s)};
  }

  static void add(CounterReading& into, const CounterReading& r) {
    into.total += r.total;
    into.recent += r.recent;
  }

  ComponentRow* row(const PrometheusSample& s, std::string_view default_kind) {
    const std::string name(s.label("component"));
    if (name.empty() || !component_selected(name, patterns_)) return nullptr;
    auto [it, added] = rows_.try_emplace(name, model_.components.size());
    if (added) {
      ComponentRow fresh;
      fresh.name = name;
      std::string_view kind = s.label("kind");
      fresh.kind = kind.empty() ? std::string(default_kind) : std::string(kind);
      model_.components.push_back(std::move(fresh));
    }
    return &model_.components[it->second];
  }

  void take(const PrometheusSample& s) {
    std::string_view n = s.name;
    if (n == "sluice_build_info") {
      model_.version = std::string(s.label("version"));
    } else if (n == "process_resident_memory_bytes") {
      model_.resident_bytes = count_value(s.value);
    } else if (n == "process_start_time_seconds") {
      if (s.value > 0) model_.started_unix_s = count_value(s.value);
    } else if (n.starts_with("sluice_component_")) {
      take_component_counter(s);
    } else if (n == "sluice_source_unacknowledged_events") {
      if (ComponentRow* r = row(s, "source")) r->unacknowledged_events = count_value(s.value);
    } else if (n.starts_with("sluice_sink_")) {
      take_sink_gauge(s);
    } else if (n.starts_with("sluice_source_files")) {
      take_file_totals(s);
    } else if (n.starts_with("sluice_file_")) {
      take_file(s);
    }
  }

  void take_component_counter(const PrometheusSample& s) {
    ComponentRow* r = row(s, "");
    if (!r) return;
    std::string_view n = s.name;
    if (n == "sluice_component_received_events_total") {
      r->events_in_per_s = per_second(s);
      add(r->events_in, reading(s));
    } else if (n == "sluice_component_sent_events_total") {
      r->events_out_per_s = per_second(s);
      add(r->events_out, reading(s));
    } else if (n == "sluice_component_received_bytes_total") {
      r->bytes_in_per_s = per_second(s);
    } else if (n == "sluice_component_sent_bytes_total") {
      r->bytes_out_per_s = per_second(s);
    } else if (n == "sluice_component_errors_total") {
      add(r->errors, reading(s));
    } else if (n == "sluice_component_parse_errors_total") {
      add(r->parse_errors, reading(s));
    } else if (n == "sluice_component_dropped_events_total") {
      const CounterReading got = reading(s);
      add(r->dropped, got);
      if (got.total == 0) return;
      std::string reason(s.label("reason"));
      if (reason.empty()) reason = "buffer_full";
      auto& reasons = r->dropped_by_reason;
      auto it = std::find_if(reasons.begin(), reasons.end(),
                             [&](const auto& entry) { return entry.first == reason; });
      if (it == reasons.end()) {
        reasons.emplace_back(std::move(reason), got.total);
      } else {
        it->second += got.total;
      }
    }
  }

  void take_sink_gauge(const PrometheusSample& s) {
    const std::string name(s.label("component"));
    if (name.empty() || !component_selected(name, patterns_)) return;
    std::string_view n = s.name;
    const double v = count_value(s.value);
    Sink& sink = sinks_[name];
    if (n == "sluice_sink_queue_bytes") {
      sink.queue_bytes = v;
    } else if (n == "sluice_sink_queue_capacity_bytes") {
      sink.queue_capacity = v;
    } else if (n == "sluice_sink_disk_buffer_bytes") {
      sink.disk_bytes = v;
    } else if (n == "sluice_sink_disk_buffer_capacity_bytes") {
      sink.disk_capacity = v;
    } else if (n == "sluice_sink_failing_seconds") {
      if (ComponentRow* r = row(s, "sink")) r->failing_seconds = v;
    } else {
      return;
    }
    // A sink seen only in these gauges still gets its row (and so its fill).
    row(s, "sink");
  }

  void take_file_totals(const PrometheusSample& s) {
    if (!component_selected(std::string(s.label("component")), patterns_)) return;
    std::string_view n = s.name;
    const double v = count_value(s.value);
    if (n == "sluice_source_files") {
      model_.files_followed += v;
    } else if (n == "sluice_source_files_size_bytes") {
      source_totals_[std::string(s.label("component"))].first = v;
    } else if (n == "sluice_source_files_acknowledged_offset_bytes") {
      source_totals_[std::string(s.label("component"))].second = v;
    }
  }

  void take_file(const PrometheusSample& s) {
    std::string_view n = s.name;
    std::string source(s.label("component"));
    std::string path(s.label("path"));
    if (path.empty() || !component_selected(source, patterns_)) return;
    std::string key = source;
    key.push_back('\x1f');
    key.append(path);
    auto [it, added] = files_.try_emplace(std::move(key));
    FileRow& file = it->second;
    if (added) {
      file.source = std::move(source);
      file.path = std::move(path);
    }
    const double v = count_value(s.value);
    if (n == "sluice_file_size_bytes") {
      model_.file_series += 1;
      file.size = v;
    } else if (n == "sluice_file_acknowledged_offset_bytes") {
      file.acknowledged_offset = v;
    } else if (n == "sluice_file_read_offset_bytes") {
      file.read_offset = v;
      // A file new since the last scrape has no rate: its whole offset is not this interval's.
      if (interval_s_ && before_.count(series_key(s)) != 0) {
        file.read_bytes_per_s = growth(s) / *interval_s_;
      }
    }
  }

  const Scrape& current_;
  const std::vector<std::string>& patterns_;
  std::optional<double> interval_s_;
  std::unordered_map<std::string, double> before_;
  TopModel model_;
  std::unordered_map<std::string, size_t> rows_;  // component -> index in model_.components
  std::unordered_map<std::string, Sink> sinks_;
  std::unordered_map<std::string, FileRow> files_;  // source + path
  // Per file source: its files' sizes and acknowledged offsets, summed over all of them.
  std::unordered_map<std::string, std::pair<double, double>> source_totals_;
};

}  // namespace

bool component_selected(const std::string& name, const std::vector<std::string>& patterns) {
  if (patterns.empty()) return true;
  return std::any_of(patterns.begin(), patterns.end(), [&](const std::string& pattern) {
    return fnmatch(pattern.c_str(), name.c_str(), 0) == 0;
  });
}

TopModel build_top_model(const Scrape* previous, const Scrape& current, size_t max_files,
                         const std::vector<std::string>& patterns) {
  return ModelBuilder(previous, current, patterns).build(max_files);
}

bool is_sluice_page(const Scrape& scrape) {
  return std::any_of(scrape.samples.begin(), scrape.samples.end(),
                     [](const PrometheusSample& s) { return s.name == "sluice_build_info"; });
}

}  // namespace sluice::cli
