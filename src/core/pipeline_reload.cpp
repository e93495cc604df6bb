// Live reload: the running topology becomes the new config's, component by component. Nothing
// changes until everything that can fail (a disk buffer that cannot be opened, too many
// sources) has been checked. Then, in order: the sources that changed or went stop once what
// they read is acknowledged (through the old routing table, so no line is lost or read twice);
// the new routing table is published (workers take it up at their next batch); new sources
// start; sinks that changed or went drain until the deadline and are then released.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <thread>

#include "base/clock.hpp"
#include "base/log.hpp"
#include "core/pipeline_impl.hpp"

namespace sluice {

namespace {

template <typename Runtime>
Runtime* find_named(const std::vector<Runtime*>& list, const std::string& name) {
  for (Runtime* runtime : list) {
    if (runtime->spec.name == name) return runtime;
  }
  return nullptr;
}

template <typename Runtime>
std::shared_ptr<Runtime> find_named(const std::vector<std::shared_ptr<Runtime>>& list,
                                    const std::string& name) {
  for (const auto& runtime : list) {
    if (runtime->spec.name == name) return runtime;
  }
  return nullptr;
}

void append_names(std::string& summary, const char* what, const std::vector<std::string>& names) {
  if (names.empty()) return;
  if (!summary.empty()) summary += "; ";
  summary += what;
  summary += ": ";
  for (size_t i = 0; i < names.size(); ++i) summary += (i ? ", " : "") + names[i];
}

}  // namespace

Pipeline::ReloadOutcome Pipeline::Impl::reload(std::vector<SourceSpec> sources,
                                               std::vector<TransformSpec> transforms,
                                               std::vector<SinkSpec> sinks) {
  std::lock_guard lifecycle(lifecycle_mutex);
  if (!accepting_reloads || shutdown_deadline.load() != 0) {
    return {false, "sluice is not running or is shutting down", ""};
  }
  std::shared_ptr<const RoutingTable> old_table = workers.table();
  std::vector<SourceRuntime*> old_sources;
  {
    std::lock_guard lock(components_mutex);
    old_sources = live_sources;
  }
  std::vector<std::string> started, stopped, kept;

  // Sources: kept when unchanged, or when they may not be restarted (the wrapped app).
  std::vector<SourceRuntime*> next_sources;  // the new config's order; null = to start
  std::vector<SourceSpec> to_start;          // for the nulls, in order
  std::vector<SourceRuntime*> retiring_sources;
  for (SourceSpec& spec : sources) {
    SourceRuntime* current = find_named(old_sources, spec.name);
    if (current && current->spec.fingerprint != spec.fingerprint &&
        !current->spec.source->restartable()) {
      log::warn("reload: source not restarted; its new options apply at the next start", "source",
                spec.name);
    }
    if (current &&
        (current->spec.fingerprint == spec.fingerprint || !current->spec.source->restartable())) {
      next_sources.push_back(current);
      kept.push_back(spec.name);
      continue;
    }
    if (current) retiring_sources.push_back(current);
    next_sources.push_back(nullptr);
    to_start.push_back(std::move(spec));
  }
  for (SourceRuntime* current : old_sources) {
    bool listed = std::any_of(sources.begin(), sources.end(),
                              [&](const SourceSpec& s) { return s.name == current->spec.name; });
    if (listed) continue;
    if (!current->spec.source->restartable()) {
      return {
          false,
          "source `" + current->spec.name + "` runs the wrapped command; a reload cannot remove it",
          ""};
    }
    retiring_sources.push_back(current);
  }
  if (all_sources.size() + to_start.size() > SinkRuntime::kMaxSourceSlots) {
    return {false, "too many sources started over this process's lifetime; restart sluice", ""};
  }

  // Sinks: a new or changed one is built now, its disk buffer opened (a failure changes
  // nothing). A changed sink whose disk buffer is in the directory its predecessor holds takes
  // the directory over once the predecessor has closed it (take_over_disk).
  std::vector<std::shared_ptr<SinkRuntime>> next_sinks;
  std::vector<std::shared_ptr<SinkRuntime>> new_sinks;
  std::vector<std::pair<std::shared_ptr<SinkRuntime>, std::shared_ptr<SinkRuntime>>> handovers;
  for (SinkSpec& spec : sinks) {
    std::shared_ptr<SinkRuntime> current = find_named(old_table->sinks, spec.name);
    if (current && current->spec.fingerprint == spec.fingerprint) {
      next_sinks.push_back(current);
      continue;
    }
    const bool takes_over =
        current && current->disk && spec.disk && current->disk->options().dir == spec.disk->dir;
    std::string error;
    auto sink = make_sink(std::move(spec), &error, takes_over ? current->disk.get() : nullptr);
    if (!error.empty()) return {false, error, ""};
    next_sinks.push_back(sink);
    if (takes_over) {
      handovers.emplace_back(current, sink);
    } else {
      new_sinks.push_back(sink);
    }
  }
  std::vector<std::shared_ptr<SinkRuntime>> retiring_sinks;
  for (const auto& sink : old_table->sinks) {
    if (std::find(next_sinks.begin(), next_sinks.end(), sink) == next_sinks.end()) {
      retiring_sinks.push_back(sink);
    }
  }
  std::vector<std::shared_ptr<TransformRuntime>> next_transforms;
  for (TransformSpec& spec : transforms) {
    auto current = find_named(old_table->transforms, spec.name);
    if (current && current->spec.fingerprint == spec.fingerprint) {
      next_transforms.push_back(current);
    } else {
      next_transforms.push_back(make_transform(std::move(spec)));
    }
  }

  // From here on the reload is applied. The supervisor must not take the moment no source
  // runs (a changed source stopped, its successor not yet started) for the end of input.
  sources_running.fetch_add(1);
  int64_t deadline = monotonic_ns() + options.shutdown_timeout_ns;
  retire_sources(retiring_sources, deadline);
  for (SourceRuntime* source : retiring_sources) stopped.push_back("source " + source->spec.name);

  std::vector<SourceRuntime*> fresh_sources;
  size_t next_new = 0;
  for (SourceRuntime*& source : next_sources) {
    if (source) continue;
    source = add_source(std::move(to_start[next_new++]));
    fresh_sources.push_back(source);
    std::string error;
    if (!source->spec.source->start(&error)) {
      log::error("reload: source failed to start", "source", source->spec.name, "error", error);
      source->finished = true;
    }
    started.push_back("source " + source->spec.name);
  }
  for (const auto& sink : new_sinks) {
    start_sink_thread(*sink);
    started.push_back("sink " + sink->spec.name);
  }
  for (const auto& [predecessor, successor] : handovers) predecessor->handing_over = true;
  auto table = assemble(next_sources, next_transforms, next_sinks, old_table->generation + 1);
  workers.publish(table);
  {
    std::lock_guard lock(components_mutex);
    live_sources = next_sources;
    live_metrics.clear();
    for (SourceRuntime* source : next_sources) live_metrics.push_back(source->metrics);
    for (const auto& transform : next_transforms) live_metrics.push_back(transform->metrics);
    for (const auto& sink : next_sinks) live_metrics.push_back(sink->metrics);
  }
  for (SourceRuntime* source : fresh_sources) {
    start_source_thread(*source);
    // A shutdown that began during the reload already told the sources to stop: these too.
    if (shutdown_deadline.load() != 0) source->spec.source->on_signal(SIGTERM);
  }
  sources_running.fetch_sub(1);
  uint64_t one = 1;
  (void)!::write(wake_fd, &one, sizeof one);

  std::vector<SinkRuntime*> retiring_raw;
  retiring_raw.reserve(retiring_sinks.size());
  for (const auto& sink : retiring_sinks) retiring_raw.push_back(sink.get());
  wait_for_routing(table->generation, retiring_raw, deadline);
  retire_sinks(retiring_sinks, deadline);
  for (const auto& sink : retiring_sinks) stopped.push_back("sink " + sink->spec.name);
  for (const auto& [predecessor, successor] : handovers) {
    take_over_disk(*predecessor, *successor);
    started.push_back("sink " + successor->spec.name);
  }

  std::string summary;
  append_names(summary, "started", started);
  append_names(summary, "stopped", stopped);
  if (summary.empty()) summary = "nothing changed";
  return {true, "", summary};
}

// Stops the sources, then waits (bounded) until what they read is acknowledged: a file source
// saves its offsets as it ends, and its successor loads them.
void Pipeline::Impl::retire_sources(const std::vector<SourceRuntime*>& retiring,
                                    int64_t deadline_ns) {
  for (SourceRuntime* source : retiring) source->spec.source->retire();
  for (SourceRuntime* source : retiring) {
    if (source->thread.joinable()) source->thread.join();
    if (!source->wait_for_acks(deadline_ns)) {
      log::warn("reload: a stopped source's last lines were not all acknowledged in time", "source",
                source->spec.name);
    }
  }
  std::lock_guard lock(components_mutex);
  for (SourceRuntime* source : retiring) {
    live_sources.erase(std::remove(live_sources.begin(), live_sources.end(), source),
                       live_sources.end());
    // Its descriptors go now; the runtime stays (its parser and metadata serve batches still
    // being routed, its slot keeps its index).
    source->spec.source.reset();
  }
}

// Until no worker routes by a table that still lists the retiring sinks. A worker may be
// blocked handing a batch to a retiring sink whose destination is down: past the deadline those
// sinks are abandoned, which unblocks it.
void Pipeline::Impl::wait_for_routing(uint64_t generation,
                                      const std::vector<SinkRuntime*>& retiring,
                                      int64_t deadline_ns) {
  while (!workers.none_older_than(generation)) {
    if (monotonic_ns() >= deadline_ns) {
      for (SinkRuntime* sink : retiring) {
        if (!sink->disk) abandon_sink(*sink);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

void Pipeline::Impl::retire_sinks(const std::vector<std::shared_ptr<SinkRuntime>>& retiring,
                                  int64_t deadline_ns) {
  for (const auto& sink : retiring) sink->queue.push_control(Delivery());
  for (const auto& sink : retiring) {
    while (!sink->done.load() && monotonic_ns() < deadline_ns) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (sink->disk && !sink->handing_over && sink->disk->stats().records > 0) {
      log::warn("reload: a removed sink's undelivered records stay in its disk buffer", "sink",
                sink->spec.name, "records", sink->disk->stats().records, "path",
                sink->disk->options().dir);
    }
    // A sink that ended may have given up on what its destination did not take (as it does
    // at exit); one still blocked on its destination is left to finish, or not, on its own.
    if (!sink->disk) abandon_sink(*sink);
    if (sink->done.load()) {
      sink->thread.join();
    } else {
      abandoned_sinks.push_back(sink);
    }
  }
}

// The predecessor stopped after what it had in flight (handing_over) and left its buffer open
// for the successor's batches. Under the handover lock (no store runs), its buffer is closed,
// which acknowledges what it holds, and the directory opens for the successor, which reads
// from the acknowledged position what the predecessor did not confirm (at least once, as after
// a restart).
void Pipeline::Impl::take_over_disk(SinkRuntime& predecessor, SinkRuntime& successor) {
  auto stores_held = successor.hold_stores();
  if (!predecessor.done.load()) {
    // Still blocked on its destination past the deadline: its buffer cannot be let go of while
    // its thread may use it. The successor's batches keep going there (acknowledged once
    // stored) and wait on disk for the next start.
    log::error(
        "reload: a changed sink's predecessor did not stop in time; its disk buffer stays "
        "with it and its records are delivered at the next start",
        "sink", successor.spec.name, "path", predecessor.disk->options().dir);
    start_sink_thread(successor);  // without a buffer: it only waits for the end of the run
    return;
  }
  predecessor.disk->close();
  DiskBufferOptions previous = predecessor.disk->options();
  predecessor.spec.sink.reset();  // it may hold deliveries of the buffer's batches: first
  predecessor.disk.reset();       // unlocks the directory
  std::string error;
  auto buffer = open_sink_disk(successor, *successor.spec.disk, &error);
  if (!buffer) {
    // The previous options opened this directory a moment ago: fall back to them.
    log::error(
        "reload: a changed sink could not open its disk buffer with the new options; "
        "keeping the previous ones",
        "sink", successor.spec.name, "error", error);
    buffer = open_sink_disk(successor, previous, &error);
  }
  if (!buffer) {
    log::error(
        "reload: a changed sink could not open its disk buffer; events routed to it are "
        "dropped until the next reload or restart",
        "sink", successor.spec.name, "error", error, "reason", "reload");
    successor.fail_disk();
    start_sink_thread(successor);  // without a buffer: it only waits for the end of the run
    return;
  }
  log::info("reload: a changed sink took over its disk buffer", "sink", successor.spec.name,
            "records", buffer->stats().records, "path", buffer->options().dir);
  successor.attach_disk(std::move(buffer));
  start_sink_thread(successor);
}

void Pipeline::Impl::abandon_sink(SinkRuntime& sink) {
  uint64_t events = sink.abandon();
  if (events == 0) return;
  reload_status.add_dropped(sink.spec.name, events);
  log::warn(
      "reload: a removed sink could not deliver before the deadline; its pending events "
      "are dropped",
      "sink", sink.spec.name, "events", events, "reason", "reload");
}

}  // namespace sluice
