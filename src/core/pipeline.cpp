// The pipeline's lifecycle: assemble the running topology from the plan, start it, supervise it
// (signals, finished sources, the shutdown deadline), drain it and report how it ended.
#include "core/pipeline.hpp"

#include <poll.h>

#include <csignal>
#include <cstring>

#include <algorithm>
#include <chrono>
#include <thread>

#include "base/clock.hpp"
#include "base/log.hpp"
#include "core/pipeline_impl.hpp"
#include "core/process_signals.hpp"

namespace sluice {

ComponentMetrics* Pipeline::Impl::add_metrics(const std::string& name, const char* kind) {
  auto metrics = std::make_unique<ComponentMetrics>();
  metrics->name = name;
  metrics->kind = kind;
  std::lock_guard lock(components_mutex);
  all_metrics.push_back(std::move(metrics));
  return all_metrics.back().get();
}

SourceRuntime* Pipeline::Impl::add_source(SourceSpec spec) {
  ComponentMetrics* metrics = add_metrics(spec.name, "source");
  std::lock_guard lock(components_mutex);
  auto index = static_cast<uint32_t>(all_sources.size());
  all_sources.push_back(
      std::make_unique<SourceRuntime>(source_shared, index, std::move(spec), metrics));
  return all_sources.back().get();
}

std::shared_ptr<SinkRuntime> Pipeline::Impl::make_sink(SinkSpec spec, std::string* error,
                                                       SinkDiskBuffer* interim_disk) {
  ComponentMetrics* metrics = add_metrics(spec.name, "sink");
  auto sink = std::make_shared<SinkRuntime>(std::move(spec), metrics, &encoded_pool);
  if (!sink->spec.disk) return sink;
  sink->shutdown_deadline = &shutdown_deadline;
  sink->shutdown_timeout_ns = options.shutdown_timeout_ns;
  if (interim_disk) {
    sink->awaits_disk(interim_disk);
    return sink;
  }
  auto buffer = open_sink_disk(*sink, *sink->spec.disk, error);
  if (buffer) sink->attach_disk(std::move(buffer));
  return sink;
}

std::unique_ptr<SinkDiskBuffer> Pipeline::Impl::open_sink_disk(
    const SinkRuntime& sink, const DiskBufferOptions& buffer_options, std::string* error) {
  auto buffer = DiskBuffer::open(buffer_options, error);
  if (!buffer) {
    *error = "sink `" + sink.spec.name + "`: " + *error;
    return nullptr;
  }
  return std::make_unique<SinkDiskBuffer>(std::move(buffer), sink.spec.name, sink.metrics,
                                          sink.spec.buffer_max_bytes);
}

std::shared_ptr<TransformRuntime> Pipeline::Impl::make_transform(TransformSpec spec) {
  ComponentMetrics* metrics = add_metrics(spec.name, "transform");
  return std::make_shared<TransformRuntime>(TransformRuntime{std::move(spec), metrics});
}

std::shared_ptr<RoutingTable> Pipeline::Impl::assemble(
    std::vector<SourceRuntime*> sources, std::vector<std::shared_ptr<TransformRuntime>> transforms,
    std::vector<std::shared_ptr<SinkRuntime>> sinks, uint64_t generation) {
  auto table = std::make_shared<RoutingTable>();
  table->generation = generation;
  TopologyWiring wiring;
  for (SourceRuntime* source : sources) wiring.sources.push_back(source->spec.name);
  for (const auto& transform : transforms) {
    wiring.transforms.push_back({transform->spec.name, transform->spec.inputs});
  }
  for (const auto& sink : sinks) {
    wiring.sinks.push_back({sink->spec.name, sink->spec.inputs, sink->encoding,
                            !sink->templates.empty(), sink->wants_ids});
  }
  table->plan = build_pipeline_plan(wiring);
  {
    std::lock_guard lock(components_mutex);
    for (const auto& source : all_sources) table->sources.push_back(source.get());
  }
  table->source_plans.assign(table->sources.size(), RoutingTable::kUnrouted);
  for (size_t i = 0; i < sources.size(); ++i) {
    table->source_plans[sources[i]->index] = i;
    for (const auto& sink : sinks) sink->add_source_token(sources[i]->index);
  }
  table->transforms = std::move(transforms);
  table->sinks = std::move(sinks);
  return table;
}

Pipeline::Pipeline(PipelineOptions options, std::vector<SourceSpec> sources,
                   std::vector<TransformSpec> transforms, std::vector<SinkSpec> sinks)
    : impl_(std::make_unique<Impl>(options)) {
  Impl& impl = *impl_;
  std::vector<std::shared_ptr<SinkRuntime>> sink_runtimes;
  for (auto& sink : sinks) {
    std::string error;
    sink_runtimes.push_back(impl.make_sink(std::move(sink), &error));
    if (!error.empty() && impl.disk_error.empty()) impl.disk_error = error;  // run() fails
  }
  std::vector<std::shared_ptr<TransformRuntime>> transform_runtimes;
  transform_runtimes.reserve(transforms.size());
  for (auto& t : transforms) transform_runtimes.push_back(impl.make_transform(std::move(t)));
  std::vector<SourceRuntime*> source_runtimes;
  source_runtimes.reserve(sources.size());
  for (auto& source : sources) source_runtimes.push_back(impl.add_source(std::move(source)));
  impl.live_sources = source_runtimes;
  for (const auto& m : impl.all_metrics) impl.live_metrics.push_back(m.get());
  impl.workers.publish(impl.assemble(std::move(source_runtimes), std::move(transform_runtimes),
                                     std::move(sink_runtimes), 1));
}

Pipeline::~Pipeline() = default;

std::vector<TapComponent> Pipeline::tap_components() const {
  std::shared_ptr<const RoutingTable> table = impl_->workers.table();
  std::vector<TapComponent> components;
  // A source a reload stopped keeps its slot while it drains, unrouted: it is no longer running.
  for (size_t i = 0; i < table->sources.size(); ++i) {
    if (table->source_plans[i] != RoutingTable::kUnrouted) {
      components.push_back({table->sources[i]->spec.name, "source"});
    }
  }
  for (const auto& transform : table->transforms) {
    components.push_back({transform->spec.name, "transform"});
  }
  return components;
}

TapOpened Pipeline::open_tap(const TapRequest& request) {
  return impl_->taps.open(request, tap_components(), monotonic_ns());
}

namespace {

// `transforms`: what the running transforms dropped on purpose (throttle), and `sources`: what
// the running sources did (lines of excluded pods), added to `dropped`.
void log_component_totals(const std::vector<std::unique_ptr<ComponentMetrics>>& metrics,
                          const std::vector<std::pair<std::string, TransformCounters>>& transforms,
                          const std::vector<PipelineSnapshot::SourceState>& sources) {
  for (const auto& m : metrics) {
    uint64_t dropped = m->dropped.load();
    if (m->kind == "transform") {
      for (const auto& [name, counters] : transforms) {
        if (name != m->name) continue;
        for (const auto& reason : counters.dropped) dropped += reason.second;
      }
    } else if (m->kind == "source") {
      for (const auto& source : sources) {
        if (source.name != m->name) continue;
        for (const auto& reason : source.dropped) dropped += reason.second;
      }
    }
    log::info("component totals", "component", m->name, "kind", m->kind, "events_in",
              m->events_in.load(), "events_out", m->events_out.load(), "bytes_in",
              m->bytes_in.load(), "bytes_out", m->bytes_out.load(), "dropped", dropped,
              "parse_errors", m->parse_errors.load(), "split", m->split.load());
  }
}

}  // namespace

int Pipeline::run() {
  Impl& impl = *impl_;
  if (!impl.ready_to_run()) return 1;
  std::shared_ptr<const RoutingTable> table = impl.workers.table();
  for (const auto& sink : table->sinks) impl.start_sink_thread(*sink);
  int start_failure = impl.start_sources();
  impl.workers.start(impl.options.workers);
  for (SourceRuntime* source : impl.live_sources) impl.start_source_thread(*source);
  {
    std::lock_guard lock(impl.lifecycle_mutex);
    impl.accepting_reloads = true;
  }
  impl.supervise();
  {
    // Waits for a reload under way: the drain works on the topology it leaves.
    std::lock_guard lock(impl.lifecycle_mutex);
    impl.accepting_reloads = false;
  }
  impl.heartbeats.stopping();
  impl.settle_deadline();
  Impl::DrainOutcome drain = impl.drain();
  int exit_code = impl.exit_code(start_failure, drain.complete);
  uint64_t unacknowledged = impl.report_undelivered(drain.complete);
  log_component_totals(impl.all_metrics, transform_counters(), snapshot().sources);
  if (!drain.complete || unacknowledged > 0) {
    log::error("shutdown deadline passed before everything was delivered", "unacked_batches",
               unacknowledged);
    // Threads may still be blocked on a sink that cannot make progress: leave without joining.
    std::_Exit(exit_code != 0 ? exit_code : 1);
  }
  log::info("stopped", "exit_code", exit_code);
  // Sinks a reload removed while their destination was down had the shutdown time too.
  bool removed_sinks_done = true;
  for (const auto& sink : impl.abandoned_sinks) {
    while (!sink->done.load() && monotonic_ns() < impl.shutdown_deadline.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    removed_sinks_done = removed_sinks_done && sink->done.load();
  }
  // A sink thread still blocked on its destination cannot be joined.
  if (drain.abandoned_sinks || !removed_sinks_done) std::_Exit(exit_code);
  for (const auto& sink : impl.abandoned_sinks) sink->thread.join();
  for (const auto& sink : impl.workers.table()->sinks) sink->thread.join();
  return exit_code;
}

bool Pipeline::Impl::ready_to_run() const {
  const PipelinePlan& plan = workers.table()->plan;
  for (const std::string& error : plan.errors) log::error("topology cannot run", "error", error);
  if (!disk_error.empty()) log::error("disk buffer cannot be opened", "error", disk_error);
  return plan.ok() && disk_error.empty();
}

void Pipeline::Impl::start_sink_thread(SinkRuntime& sink) {
  sink.thread = std::thread([s = &sink] { s->loop(); });
}

int Pipeline::Impl::start_sources() {
  int failure = 0;
  for (SourceRuntime* source : live_sources) {
    std::string error;
    if (!source->spec.source->start(&error)) {
      log::error("source failed to start", "source", source->spec.name, "error", error);
      failure = 127;
      source->finished = true;
    }
  }
  return failure;
}

void Pipeline::Impl::start_source_thread(SourceRuntime& source) {
  if (source.finished) return;
  sources_running.fetch_add(1);
  source.thread = std::thread([this, s = &source] {
    s->spec.source->run(*s);
    s->finished = true;
    sources_running.fetch_sub(1);
    uint64_t one = 1;
    (void)!::write(wake_fd, &one, sizeof one);
  });
}

// Until every source has ended, or the shutdown deadline has passed.
void Pipeline::Impl::supervise() {
  // Signals arrive through a signalfd (they are blocked in every thread), so one poll waits
  // for a signal or for a source to finish.
  SignalWatcher signals;
  while (sources_running.load() > 0) {
    heartbeats.supervisor_beat(monotonic_ns());
    pollfd fds[2] = {{signals.fd(), POLLIN, 0}, {wake_fd, POLLIN, 0}};
    (void)::poll(fds, 2, 100);
    if (fds[1].revents & POLLIN) {
      uint64_t drained;
      (void)!::read(wake_fd, &drained, sizeof drained);
    }
    if (int sig = signals.next(); sig > 0) handle_signal(sig);
    int64_t deadline = shutdown_deadline.load(std::memory_order_acquire);
    if (deadline == 0) continue;
    // Leave the last quarter of the deadline (at most 1 s) to drain what the sources read.
    int64_t margin = std::min<int64_t>(1'000'000'000, options.shutdown_timeout_ns / 4);
    if (!sources_stopped && monotonic_ns() >= deadline - margin) stop_sources_near_deadline();
    if (monotonic_ns() >= deadline) break;
  }
}

void Pipeline::Impl::handle_signal(int sig) {
  if (sig == SIGTERM || sig == SIGINT) {
    log::info("shutdown requested", "signal", strsignal(sig));
    if (shutdown_deadline.load() == 0) {
      shutdown_deadline.store(monotonic_ns() + options.shutdown_timeout_ns,
                              std::memory_order_release);
    }
  } else if (sig == SIGHUP) {
    log::info("SIGHUP: reopening files");
    for (const auto& sink : workers.table()->sinks) sink->reopen_requested = true;
    if (hangup_handler) hangup_handler();
  }
  // Each source decides what a signal means to it (Source::on_signal): most stop on SIGTERM
  // and SIGINT; a source wrapping a process forwards the signals its `forward_signals` lists.
  std::lock_guard lock(components_mutex);
  for (SourceRuntime* source : live_sources) source->spec.source->on_signal(sig);
}

// A source still running this close to the deadline must end now, so that what it read can
// be delivered in the time left (exec kills a child that ignored the forwarded signal).
void Pipeline::Impl::stop_sources_near_deadline() {
  std::lock_guard lock(components_mutex);
  for (SourceRuntime* source : live_sources) source->spec.source->stop();
  sources_stopped = true;
}

// When input simply ended (no signal), the drain gets the shutdown timeout from now.
void Pipeline::Impl::settle_deadline() {
  if (shutdown_deadline.load() != 0) return;
  shutdown_deadline.store(monotonic_ns() + options.shutdown_timeout_ns, std::memory_order_release);
}

Pipeline::Impl::DrainOutcome Pipeline::Impl::drain() {
  int64_t deadline = shutdown_deadline.load(std::memory_order_acquire);
  DrainOutcome outcome;
  if (sources_running.load() != 0) return outcome;
  for (const auto& source : all_sources) {
    if (source->thread.joinable()) source->thread.join();
  }
  if (!workers.finish(deadline)) return outcome;
  outcome.complete = true;
  std::shared_ptr<const RoutingTable> table = workers.table();
  for (const auto& sink : table->sinks) sink->queue.push_control(Delivery());
  for (const auto& sink : table->sinks) wait_for_sink(*sink, deadline, outcome);
  return outcome;
}

void Pipeline::Impl::wait_for_sink(SinkRuntime& sink, int64_t deadline_ns, DrainOutcome& outcome) {
  // Bounded: a sink stuck retrying (disk full) must not outlive the deadline, and
  // atomic::wait has no timeout.
  while (!sink.done.load() && monotonic_ns() < deadline_ns) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (sink.done.load()) return;
  if (!sink.disk) {
    outcome.complete = false;
    return;
  }
  // Its sources were acknowledged when the records reached the disk: nothing is lost, the
  // next start delivers what the sink did not confirm.
  log::warn(
      "sink did not finish before the shutdown deadline; what it did not deliver stays in its "
      "disk buffer",
      "sink", sink.spec.name);
  sink.disk->close();
  outcome.abandoned_sinks = true;
}

int Pipeline::Impl::exit_code(int start_failure, bool drained) const {
  int code = start_failure;
  // Sources a reload replaced are left out: they ended on purpose.
  for (const SourceRuntime* source : live_sources) {
    if (std::optional<int> decided = source->spec.source->exit_code()) code = *decided;
  }
  for (const SourceRuntime* source : live_sources) {
    // It said why (a final checkpoint not written); a run that leaves a restart to read
    // delivered data again is not a success.
    if (drained && !source->spec.source->saved_final_state() && code == 0) {
      log::error("exiting with status 1: a source could not save its final state", "source",
                 source->spec.name);
      code = 1;
    }
  }
  return code;
}

// Says exactly what may be lost: per source, the events not yet acknowledged by every sink.
// Returns the batches not acknowledged.
uint64_t Pipeline::Impl::report_undelivered(bool drained) const {
  uint64_t batches = 0;
  for (const auto& source : all_sources) batches += source->batches_unacknowledged();
  if (drained && batches == 0) return 0;
  for (const auto& source : all_sources) {
    uint64_t events = source->pushed_events() - source->acked_events();
    if (events > 0) {
      log::error("events not confirmed delivered to every sink", "source", source->spec.name,
                 "events", events);
    }
  }
  return batches;
}

void Pipeline::on_hangup(std::function<void()> handler) {
  impl_->hangup_handler = std::move(handler);
}

Pipeline::ReloadOutcome Pipeline::reload(std::vector<SourceSpec> sources,
                                         std::vector<TransformSpec> transforms,
                                         std::vector<SinkSpec> sinks) {
  return impl_->reload(std::move(sources), std::move(transforms), std::move(sinks));
}

ReloadStatus& Pipeline::reload_status() { return impl_->reload_status; }
const ReloadStatus& Pipeline::reload_status() const { return impl_->reload_status; }

std::vector<const ComponentMetrics*> Pipeline::metrics() const {
  std::lock_guard lock(impl_->components_mutex);
  return impl_->live_metrics;
}

std::vector<std::pair<std::string, TransformCounters>> Pipeline::transform_counters() const {
  std::shared_ptr<const RoutingTable> table = impl_->workers.table();
  std::vector<std::pair<std::string, TransformCounters>> out;
  for (const auto& transform : table->transforms) {
    TransformCounters counters;
    transform->spec.transform->read_counters(counters);
    if (counters.dropped.empty() && counters.families.empty()) continue;
    out.emplace_back(transform->spec.name, std::move(counters));
  }
  return out;
}

LivenessStatus Pipeline::liveness(int64_t now_ns) const {
  return impl_->heartbeats.check(now_ns, impl_->options.liveness_stall_ns);
}

PipelineSnapshot Pipeline::snapshot() const {
  PipelineSnapshot snap;
  {
    std::lock_guard lock(impl_->components_mutex);
    for (const SourceRuntime* source : impl_->live_sources) {
      PipelineSnapshot::SourceState state;
      state.name = source->spec.name;
      state.pushed_events = source->pushed_events();
      state.acked_events = source->acked_events();
      state.finished = source->finished.load(std::memory_order_relaxed);
      state.files = source->spec.source->file_status();
      state.kubernetes = source->spec.source->kubernetes_status();
      state.dropped = source->spec.source->dropped_events();
      snap.sources.push_back(std::move(state));
    }
  }
  for (const auto& sink : impl_->workers.table()->sinks) {
    PipelineSnapshot::SinkState state;
    state.name = sink->spec.name;
    state.queue_bytes = sink->queue.used();
    state.queue_capacity = sink->queue.max_cost();
    state.retries = sink->spec.sink->status().retries.load(std::memory_order_relaxed);
    state.dead_lettered = sink->spec.sink->status().dead_lettered.load(std::memory_order_relaxed);
    state.failing_since_ns =
        sink->spec.sink->status().failing_since_ns.load(std::memory_order_relaxed);
    state.done = sink->done.load(std::memory_order_relaxed);
    if (SinkDiskBuffer* disk = sink->ready_disk()) {
      state.disk = disk->stats();
      state.disk_capacity = disk->options().max_bytes;
      state.queue_bytes = disk->in_flight_bytes();
      state.queue_capacity = disk->read_ahead_bytes();
    }
    snap.sinks.push_back(std::move(state));
  }
  return snap;
}

}  // namespace sluice
