// The pipeline's lifecycle: assemble the running topology from the plan, start it, supervise it
// (signals, finished sources, the shutdown deadline), drain it and report how it ended.
#include "core/pipeline.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <csignal>
#include <cstring>

#include <algorithm>
#include <chrono>
#include <thread>

#include "base/clock.hpp"
#include "base/log.hpp"
#include "core/process_signals.hpp"
#include "core/worker_pool.hpp"

namespace sluice {

struct Pipeline::Impl {
  explicit Impl(PipelineOptions o)
      : options(o),
        work_queue(o.worker_queue_bytes),
        heartbeats(static_cast<size_t>(o.workers), monotonic_ns()),
        workers(topology, work_queue, batch_pool, encoded_pool, heartbeats),
        source_shared{batch_pool, work_queue, shutdown_deadline, o.shutdown_timeout_ns} {}
  ~Impl() { ::close(wake_fd); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  void open_disk_buffers();  // for the sinks with `buffer.type: disk`; else sets disk_error

  // The phases of run(), in order.
  [[nodiscard]] bool ready_to_run() const;
  void start_sinks();
  int start_sources();  // the exit code a source that cannot start asks for (0: all started)
  void start_source_threads();
  void supervise();
  void settle_deadline();
  struct DrainOutcome {
    bool complete = false;         // every source, worker and sink finished in time
    bool abandoned_sinks = false;  // disk-buffered sinks left busy at the deadline
  };
  DrainOutcome drain();
  void wait_for_sink(SinkRuntime& sink, int64_t deadline_ns, DrainOutcome& outcome);
  [[nodiscard]] int exit_code(int start_failure, bool drained) const;
  [[nodiscard]] uint64_t report_undelivered(bool drained) const;

  // Supervision.
  void handle_signal(int sig);
  void stop_sources_near_deadline();

  PipelineOptions options;
  RunningTopology topology;
  BoundedQueue<Batch*> work_queue;
  Pool<Batch> batch_pool{128};
  Pool<EncodedBatch> encoded_pool{256};
  PipelineHeartbeats heartbeats;
  WorkerPool workers;
  std::atomic<int64_t> shutdown_deadline{0};  // monotonic ns; 0 = not shutting down
  SourceRuntimeShared source_shared;
  std::atomic<int> sources_running{0};
  int wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);  // a source finished
  bool sources_stopped = false;
  std::string disk_error;  // a disk buffer that could not be opened: run() fails
};

Pipeline::Pipeline(PipelineOptions options, std::vector<SourceSpec> sources,
                   std::vector<TransformSpec> transforms, std::vector<SinkSpec> sinks)
    : impl_(std::make_unique<Impl>(options)) {
  Impl& impl = *impl_;
  RunningTopology& topology = impl.topology;
  topology.plan = build_pipeline_plan(wiring_of(sources, transforms, sinks));
  auto add_metrics = [&](const std::string& name, const char* kind) {
    metrics_.push_back(std::make_unique<ComponentMetrics>());
    metrics_.back()->name = name;
    metrics_.back()->kind = kind;
    return metrics_.back().get();
  };
  for (auto& sink : sinks) {
    ComponentMetrics* m = add_metrics(sink.name, "sink");
    topology.sinks.push_back(std::make_unique<SinkRuntime>(std::move(sink), m, &impl.encoded_pool));
    // One producer token per source: a source's batches reach the queue from several workers.
    for (size_t i = 0; i < sources.size(); ++i) {
      topology.sinks.back()->source_tokens.push_back(topology.sinks.back()->queue.make_token());
    }
  }
  impl.open_disk_buffers();
  for (auto& t : transforms) topology.transform_metrics.push_back(add_metrics(t.name, "transform"));
  topology.transforms = std::move(transforms);
  for (uint32_t i = 0; i < sources.size(); ++i) {
    ComponentMetrics* m = add_metrics(sources[i].name, "source");
    topology.sources.push_back(std::make_unique<SourceRuntime>(
        impl.source_shared, i, std::move(sources[i]), m, topology.plan.sources[i].deliveries));
  }
}

Pipeline::~Pipeline() = default;

void Pipeline::Impl::open_disk_buffers() {
  for (auto& sink : topology.sinks) {
    if (!sink->spec.disk || !disk_error.empty()) continue;
    std::string error;
    auto buffer = DiskBuffer::open(*sink->spec.disk, &error);
    if (!buffer) {
      disk_error = "sink `" + sink->spec.name + "`: " + error;
      continue;
    }
    sink->disk = std::make_unique<SinkDiskBuffer>(std::move(buffer), sink->spec.name, sink->metrics,
                                                  sink->spec.buffer_max_bytes);
    sink->shutdown_deadline = &shutdown_deadline;
    sink->shutdown_timeout_ns = options.shutdown_timeout_ns;
  }
}

namespace {

void log_component_totals(const std::vector<std::unique_ptr<ComponentMetrics>>& metrics) {
  for (const auto& m : metrics) {
    log::info("component totals", "component", m->name, "kind", m->kind, "events_in",
              m->events_in.load(), "events_out", m->events_out.load(), "bytes_in",
              m->bytes_in.load(), "bytes_out", m->bytes_out.load(), "dropped", m->dropped.load(),
              "parse_errors", m->parse_errors.load(), "split", m->split.load());
  }
}

}  // namespace

int Pipeline::run() {
  Impl& impl = *impl_;
  if (!impl.ready_to_run()) return 1;
  impl.start_sinks();
  int start_failure = impl.start_sources();
  impl.workers.start(impl.options.workers);
  impl.start_source_threads();
  impl.supervise();
  impl.heartbeats.stopping();
  impl.settle_deadline();
  Impl::DrainOutcome drain = impl.drain();
  int exit_code = impl.exit_code(start_failure, drain.complete);
  uint64_t unacknowledged = impl.report_undelivered(drain.complete);
  log_component_totals(metrics_);
  if (!drain.complete || unacknowledged > 0) {
    log::error("shutdown deadline passed before everything was delivered", "unacked_batches",
               unacknowledged);
    // Threads may still be blocked on a sink that cannot make progress: leave without joining.
    std::_Exit(exit_code != 0 ? exit_code : 1);
  }
  log::info("stopped", "exit_code", exit_code);
  // A sink thread still blocked on its destination cannot be joined.
  if (drain.abandoned_sinks) std::_Exit(exit_code);
  for (auto& sink : impl.topology.sinks) sink->thread.join();
  return exit_code;
}

bool Pipeline::Impl::ready_to_run() const {
  for (const std::string& error : topology.plan.errors) {
    log::error("topology cannot run", "error", error);
  }
  if (!disk_error.empty()) log::error("disk buffer cannot be opened", "error", disk_error);
  return topology.plan.ok() && disk_error.empty();
}

void Pipeline::Impl::start_sinks() {
  for (auto& sink : topology.sinks) {
    sink->thread = std::thread([s = sink.get()] { s->loop(); });
  }
}

int Pipeline::Impl::start_sources() {
  int failure = 0;
  for (auto& source : topology.sources) {
    std::string error;
    if (!source->spec.source->start(&error)) {
      log::error("source failed to start", "source", source->spec.name, "error", error);
      failure = 127;
      source->finished = true;
    }
  }
  return failure;
}

void Pipeline::Impl::start_source_threads() {
  for (auto& source : topology.sources) {
    if (source->finished) continue;
    sources_running.fetch_add(1);
    source->thread = std::thread([this, s = source.get()] {
      s->spec.source->run(*s);
      s->finished = true;
      sources_running.fetch_sub(1);
      uint64_t one = 1;
      (void)!::write(wake_fd, &one, sizeof one);
    });
  }
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
    for (auto& sink : topology.sinks) sink->reopen_requested = true;
  }
  // Each source decides what a signal means to it (Source::on_signal): most stop on SIGTERM
  // and SIGINT; a source wrapping a process forwards every signal to it.
  for (auto& source : topology.sources) source->spec.source->on_signal(sig);
}

// A source still running this close to the deadline must end now, so that what it read can
// be delivered in the time left (exec kills a child that ignored the forwarded signal).
void Pipeline::Impl::stop_sources_near_deadline() {
  for (auto& source : topology.sources) source->spec.source->stop();
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
  for (auto& source : topology.sources) {
    if (source->thread.joinable()) source->thread.join();
  }
  if (!workers.finish(deadline)) return outcome;
  outcome.complete = true;
  for (auto& sink : topology.sinks) sink->queue.push_control(Delivery());
  for (auto& sink : topology.sinks) wait_for_sink(*sink, deadline, outcome);
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
  for (const auto& source : topology.sources) {
    if (std::optional<int> decided = source->spec.source->exit_code()) code = *decided;
  }
  for (const auto& source : topology.sources) {
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
  for (const auto& source : topology.sources) batches += source->batches_unacknowledged();
  if (drained && batches == 0) return 0;
  for (const auto& source : topology.sources) {
    uint64_t events = source->pushed_events() - source->acked_events();
    if (events > 0) {
      log::error("events not confirmed delivered to every sink", "source", source->spec.name,
                 "events", events);
    }
  }
  return batches;
}

LivenessStatus Pipeline::liveness(int64_t now_ns) const {
  return impl_->heartbeats.check(now_ns, impl_->options.liveness_stall_ns);
}

PipelineSnapshot Pipeline::snapshot() const {
  PipelineSnapshot snap;
  for (const auto& source : impl_->topology.sources) {
    PipelineSnapshot::SourceState state;
    state.name = source->spec.name;
    state.pushed_events = source->pushed_events();
    state.acked_events = source->acked_events();
    state.finished = source->finished.load(std::memory_order_relaxed);
    state.files = source->spec.source->file_status();
    snap.sources.push_back(std::move(state));
  }
  for (const auto& sink : impl_->topology.sinks) {
    PipelineSnapshot::SinkState state;
    state.name = sink->spec.name;
    state.queue_bytes = sink->queue.used();
    state.queue_capacity = sink->queue.max_cost();
    state.retries = sink->spec.sink->status().retries.load(std::memory_order_relaxed);
    state.dead_lettered = sink->spec.sink->status().dead_lettered.load(std::memory_order_relaxed);
    state.failing_since_ns =
        sink->spec.sink->status().failing_since_ns.load(std::memory_order_relaxed);
    state.done = sink->done.load(std::memory_order_relaxed);
    if (sink->disk) {
      state.disk = sink->disk->stats();
      state.disk_capacity = sink->disk->options().max_bytes;
      state.queue_bytes = sink->disk->in_flight_bytes();
      state.queue_capacity = sink->disk->read_ahead_bytes();
    }
    snap.sinks.push_back(std::move(state));
  }
  return snap;
}

}  // namespace sluice
