#include "core/pipeline.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "base/clock.hpp"
#include "base/log.hpp"
#include "core/bounded_queue.hpp"
#include "core/encoder.hpp"
#include "core/event_id.hpp"
#include "core/event_view.hpp"
#include "core/pool.hpp"
#include "core/process_signals.hpp"
#include "core/sink_runtime.hpp"
#include "core/template.hpp"

namespace sluice {

namespace {

// Queues are bounded by the memory their items hold, not by the bytes in use: a batch from a
// small pipe read still owns a full-size buffer.
int64_t memory_cost(const Batch& batch) {
  return static_cast<int64_t>(batch.bytes.capacity() + batch.events.capacity() * sizeof(Event) +
                              batch.fields.capacity() * sizeof(Field)) +
         1;
}

}  // namespace

// Encoded output of one node of a source's plan, shared by the sinks that want the same bytes.
struct PlanOutput {
  EncodingSpec encoding;
  std::vector<const Template*> templates;
  bool ids = false;  // EncodedBatch::ids wanted
  std::vector<SinkRuntime*> sinks;
};

struct PlanNode {
  const Transform* transform = nullptr;
  ComponentMetrics* metrics = nullptr;
  std::vector<PlanOutput> outputs;
  std::vector<PlanNode> children;
};

struct SourceRuntime final : AckReceiver, SourceContext {
  SourceRuntime(Pipeline::Impl* owner, uint32_t i, SourceSpec s, ComponentMetrics* m)
      : impl(owner), index(i), spec(std::move(s)), metrics(m), id_seed(id_seed_for(spec.name)) {}

  Batch* acquire() override;
  void push(Batch* batch) override;
  void release(Batch* batch) override;

  void acknowledged(uint64_t seq, uint64_t events, uint64_t checkpoint) override {
    {
      // Acks complete out of order (sinks run independently); the checkpoint only advances
      // over a contiguous run of acknowledged batches.
      std::lock_guard lock(ack_mutex);
      if (seq == next_ack_seq) {
        acked_checkpoint.store(checkpoint, std::memory_order_release);
        ++next_ack_seq;
        for (auto it = acked_ahead.begin(); it != acked_ahead.end() && it->first == next_ack_seq;
             it = acked_ahead.erase(it)) {
          acked_checkpoint.store(it->second, std::memory_order_release);
          ++next_ack_seq;
        }
      } else {
        acked_ahead.emplace(seq, checkpoint);
      }
    }
    acked_events.fetch_add(events, std::memory_order_relaxed);
    acked.fetch_add(1, std::memory_order_acq_rel);
    acked.notify_all();
  }

  int64_t shutdown_deadline_ns() const override;

  uint64_t acknowledged_checkpoint() const override {
    return acked_checkpoint.load(std::memory_order_acquire);
  }

  bool wait_for_acks(int64_t deadline_ns) override {
    uint64_t target = pushed.load(std::memory_order_acquire);
    while (acked.load(std::memory_order_acquire) < target) {
      if (monotonic_ns() >= deadline_ns) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
  }

  Pipeline::Impl* impl;
  uint32_t index;
  SourceSpec spec;
  ComponentMetrics* metrics;
  uint64_t id_seed;  // event ids (EncodedBatch::ids) start from it
  PlanNode plan;
  int deliveries = 0;
  uint64_t next_seq = 0;  // source thread only
  std::atomic<uint64_t> next_commit{0};
  std::atomic<uint64_t> pushed{0};
  std::atomic<uint64_t> acked{0};
  std::atomic<uint64_t> pushed_events{0};
  std::atomic<uint64_t> acked_events{0};
  std::mutex ack_mutex;
  uint64_t next_ack_seq = 0;
  std::map<uint64_t, uint64_t> acked_ahead;  // seq → checkpoint, acknowledged out of order
  std::atomic<uint64_t> acked_checkpoint{0};
  std::atomic<bool> finished{false};
  std::thread thread;
};

struct Pipeline::Impl {
  PipelineOptions options;
  std::vector<std::unique_ptr<SourceRuntime>> sources;
  std::vector<TransformSpec> transforms;
  std::vector<std::unique_ptr<SinkRuntime>> sinks;
  BoundedQueue<Batch*> work_queue;
  Pool<Batch> batch_pool{128};
  Pool<EncodedBatch> encoded_pool{256};
  std::vector<std::thread> workers;
  std::atomic<int> sources_running{0};
  std::atomic<int> workers_running{0};
  int wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);  // a source finished
  std::atomic<int64_t> shutdown_deadline{0};             // monotonic ns; 0 = not shutting down
  std::string disk_error;  // a disk buffer that could not be opened: run() fails
  PipelineHeartbeats heartbeats;

  explicit Impl(PipelineOptions o)
      : options(o),
        work_queue(o.worker_queue_bytes),
        heartbeats(static_cast<size_t>(o.workers), monotonic_ns()) {}
  ~Impl() { ::close(wake_fd); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  void worker_loop(size_t index);
  void process(Batch* batch, struct WorkerScratch& scratch);
  void route(Batch& batch, SourceRuntime& source, const PlanNode& node,
             std::span<const Event> events, size_t depth, WorkerScratch& scratch);
  void commit(SourceRuntime& source, uint64_t seq, WorkerScratch& scratch);
};

struct WorkerScratch {
  size_t worker = 0;  // index for the heartbeats
  std::vector<std::vector<Event>> levels;
  std::vector<std::pair<SinkRuntime*, EncodedBatch*>> deliveries;
};

int64_t SourceRuntime::shutdown_deadline_ns() const {
  int64_t deadline = impl->shutdown_deadline.load(std::memory_order_acquire);
  return deadline != 0 ? deadline : monotonic_ns() + impl->options.shutdown_timeout_ns;
}

Batch* SourceRuntime::acquire() {
  Batch* batch = impl->batch_pool.acquire();
  batch->source_index = index;
  return batch;
}

void SourceRuntime::release(Batch* batch) {
  batch->reset();
  impl->batch_pool.release(batch);
}

void SourceRuntime::push(Batch* batch) {
  // Bytes were read even when every line is kept back (a multiline record still collecting).
  metrics->add(metrics->bytes_in, batch->bytes.size());
  if (batch->events.empty()) {
    release(batch);
    return;
  }
  batch->source_index = index;
  batch->seq = next_seq++;
  if (batch->read_time_ns == 0) batch->read_time_ns = wall_clock_ns();
  batch->ack = new AckToken(this, batch->seq, batch->events.size(), batch->checkpoint, deliveries);
  metrics->add(metrics->events_out, batch->events.size());
  pushed_events.fetch_add(batch->events.size(), std::memory_order_relaxed);
  pushed.fetch_add(1, std::memory_order_acq_rel);
  impl->work_queue.push(batch, memory_cost(*batch));
}

void Pipeline::Impl::worker_loop(size_t index) {
  WorkerScratch scratch;
  scratch.worker = index;
  bool closing = false;
  int others_markers = 0;  // end markers meant for other workers, taken while draining
  while (true) {
    Batch* batch = nullptr;
    // After the end marker, batches may still sit in other sources' sub-queues: drain them.
    if (closing) {
      if (!work_queue.try_pop(batch)) break;
    } else {
      work_queue.pop(batch);
    }
    if (batch == nullptr) {
      if (closing) ++others_markers;
      closing = true;
      continue;
    }
    int64_t cost = memory_cost(*batch);
    process(batch, scratch);
    work_queue.release(cost);
  }
  // Give back the markers taken from other workers, or they would wait in pop() forever.
  for (int i = 0; i < others_markers; ++i) work_queue.push_control(nullptr);
  workers_running.fetch_sub(1);
  workers_running.notify_all();
}

void Pipeline::Impl::process(Batch* batch, WorkerScratch& scratch) {
  SourceRuntime& source = *sources[batch->source_index];
  // Busy while parsing, transforming and encoding; idle again before commit(), which may wait
  // on a full sink queue (backpressure is not a stall).
  heartbeats.worker_busy(scratch.worker, monotonic_ns());
  source.spec.parser->parse(*batch, wall_clock_ns());
  uint64_t parse_errors = 0, split = 0;
  for (const Event& e : batch->events) {
    parse_errors += (e.flags & kFlagParseError) ? 1 : 0;
    split += (e.flags & kFlagSplit) ? 1 : 0;
  }
  if (parse_errors) source.metrics->add(source.metrics->parse_errors, parse_errors);
  if (split) source.metrics->add(source.metrics->split, split);

  scratch.deliveries.clear();
  route(*batch, source, source.plan, batch->events, 0, scratch);
  heartbeats.worker_idle(scratch.worker);
  commit(source, batch->seq, scratch);
  batch->reset();
  batch_pool.release(batch);
}

void Pipeline::Impl::route(Batch& batch, SourceRuntime& source, const PlanNode& node,
                           std::span<const Event> events, size_t depth, WorkerScratch& scratch) {
  for (const PlanOutput& output : node.outputs) {
    EncodedBatch* encoded = encoded_pool.acquire();
    encoded->source_index = source.index;
    encoded->seq = batch.seq;
    encoded->ack = batch.ack;
    encoded->templates_per_event = static_cast<uint32_t>(output.templates.size());
    encoded->refs.store(static_cast<int>(output.sinks.size()), std::memory_order_relaxed);
    encoded->ends.reserve(events.size());
    if (output.ids) encoded->ids.reserve(events.size());
    for (const Event& event : events) {
      if (output.ids) encoded->ids.push_back(event_id(source.id_seed, batch, event));
      encode_event(batch, event, source.spec.meta, output.encoding, encoded->data);
      encoded->ends.push_back(static_cast<uint32_t>(encoded->data.size()));
      if (!output.templates.empty()) {
        EventView view(batch, event, source.spec.meta);
        for (const Template* t : output.templates) {
          t->render(view, event.timestamp_ns, t->sink_render_options(), encoded->rendered);
          encoded->rendered_ends.push_back(static_cast<uint32_t>(encoded->rendered.size()));
        }
      }
    }
    for (SinkRuntime* sink : output.sinks) scratch.deliveries.emplace_back(sink, encoded);
  }
  if (node.children.empty()) return;
  if (scratch.levels.size() <= depth) scratch.levels.resize(depth + 1);
  for (const PlanNode& child : node.children) {
    std::vector<Event>& out = scratch.levels[depth];
    out.clear();
    child.metrics->add(child.metrics->events_in, events.size());
    child.transform->apply(batch, source.spec.meta, events, out);
    child.metrics->add(child.metrics->events_out, out.size());
    route(batch, source, child, out, depth + 1, scratch);
  }
}

void Pipeline::Impl::commit(SourceRuntime& source, uint64_t seq, WorkerScratch& scratch) {
  // Wait for the previous batch of this source to be handed over: sinks see read order.
  uint64_t turn = source.next_commit.load(std::memory_order_acquire);
  while (turn != seq) {
    source.next_commit.wait(turn, std::memory_order_acquire);
    turn = source.next_commit.load(std::memory_order_acquire);
  }
  for (auto [sink, encoded] : scratch.deliveries) {
    sink->accept(encoded, *sink->source_tokens[source.index]);
  }
  source.next_commit.store(seq + 1, std::memory_order_release);
  source.next_commit.notify_all();
}

Pipeline::Pipeline(PipelineOptions options, std::vector<SourceSpec> sources,
                   std::vector<TransformSpec> transforms, std::vector<SinkSpec> sinks)
    : impl_(std::make_unique<Impl>(options)) {
  auto add_metrics = [&](const std::string& name, const char* kind) {
    metrics_.push_back(std::make_unique<ComponentMetrics>());
    metrics_.back()->name = name;
    metrics_.back()->kind = kind;
    return metrics_.back().get();
  };
  for (auto& sink : sinks) {
    ComponentMetrics* m = add_metrics(sink.name, "sink");
    impl_->sinks.push_back(std::make_unique<SinkRuntime>(std::move(sink), m, &impl_->encoded_pool));
  }
  for (auto& sink : impl_->sinks) {
    if (!sink->spec.disk || !impl_->disk_error.empty()) continue;
    std::string error;
    auto buffer = DiskBuffer::open(*sink->spec.disk, &error);
    if (!buffer) {
      impl_->disk_error = "sink `" + sink->spec.name + "`: " + error;
      continue;
    }
    sink->disk = std::make_unique<SinkDiskBuffer>(std::move(buffer), sink->spec.name, sink->metrics,
                                                  sink->spec.buffer_max_bytes);
    sink->shutdown_deadline = &impl_->shutdown_deadline;
    sink->shutdown_timeout_ns = options.shutdown_timeout_ns;
  }
  std::vector<ComponentMetrics*> transform_metrics;
  transform_metrics.reserve(transforms.size());
  for (auto& t : transforms) transform_metrics.push_back(add_metrics(t.name, "transform"));
  impl_->transforms = std::move(transforms);

  // A plan per source: the tree of transforms and sinks its events flow through.
  auto uses = [](const std::vector<std::string>& inputs, const std::string& name) {
    return std::find(inputs.begin(), inputs.end(), name) != inputs.end();
  };
  std::function<PlanNode(const std::string&, int&)> build = [&](const std::string& name,
                                                                int& deliveries) {
    PlanNode node;
    for (size_t i = 0; i < impl_->transforms.size(); ++i) {
      if (!uses(impl_->transforms[i].inputs, name)) continue;
      PlanNode child = build(impl_->transforms[i].name, deliveries);
      child.transform = impl_->transforms[i].transform.get();
      child.metrics = transform_metrics[i];
      node.children.push_back(std::move(child));
    }
    for (auto& sink : impl_->sinks) {
      if (!uses(sink->spec.inputs, name)) continue;
      ++deliveries;
      auto shared =
          std::find_if(node.outputs.begin(), node.outputs.end(), [&](const PlanOutput& o) {
            return o.templates.empty() && sink->templates.empty() && !o.ids && !sink->wants_ids &&
                   o.encoding == sink->encoding;
          });
      if (shared != node.outputs.end()) {
        shared->sinks.push_back(sink.get());
      } else {
        node.outputs.push_back(
            PlanOutput{sink->encoding, sink->templates, sink->wants_ids, {sink.get()}});
      }
    }
    return node;
  };
  for (auto& sink : impl_->sinks) {
    for (size_t i = 0; i < sources.size(); ++i)
      sink->source_tokens.push_back(sink->queue.make_token());
  }
  uint32_t index = 0;
  for (auto& source : sources) {
    ComponentMetrics* m = add_metrics(source.name, "source");
    auto rt = std::make_unique<SourceRuntime>(impl_.get(), index++, std::move(source), m);
    rt->plan = build(rt->spec.name, rt->deliveries);
    impl_->sources.push_back(std::move(rt));
  }
}

Pipeline::~Pipeline() = default;

namespace {

bool wait_until(std::atomic<int>& counter, int64_t deadline_ns) {
  while (true) {
    int v = counter.load();
    if (v == 0) return true;
    if (monotonic_ns() >= deadline_ns) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace

int Pipeline::run() {
  Impl& impl = *impl_;
  if (!impl.disk_error.empty()) {
    log::error("disk buffer cannot be opened", "error", impl.disk_error);
    return 1;
  }
  for (auto& sink : impl.sinks) {
    sink->thread = std::thread([s = sink.get()] { s->loop(); });
  }
  int start_failure = 0;
  for (auto& source : impl.sources) {
    std::string error;
    if (!source->spec.source->start(&error)) {
      log::error("source failed to start", "source", source->spec.name, "error", error);
      start_failure = 127;
      source->finished = true;
    }
  }
  impl.workers_running = impl.options.workers;
  for (int i = 0; i < impl.options.workers; ++i) {
    impl.workers.emplace_back([&impl, i] { impl.worker_loop(static_cast<size_t>(i)); });
  }
  for (auto& source : impl.sources) {
    if (source->finished) continue;
    impl.sources_running.fetch_add(1);
    source->thread = std::thread([&impl, s = source.get()] {
      s->spec.source->run(*s);
      s->finished = true;
      impl.sources_running.fetch_sub(1);
      uint64_t one = 1;
      (void)!::write(impl.wake_fd, &one, sizeof one);
    });
  }

  // Signals arrive through a signalfd (they are blocked in every thread), so one poll waits
  // for a signal or for a source to finish.
  SignalWatcher signals;
  int64_t deadline = 0;  // shutdown requested: everything must be done by then
  bool children_killed = false;
  auto reap_children = [&] {
    reap_exited_children([&](pid_t pid, int status) {
      for (auto& source : impl.sources) {
        if (source->spec.source->child_pid() == pid) source->spec.source->child_exited(status);
      }
    });
  };
  auto forward = [&](int sig) {
    for (auto& source : impl.sources) source->spec.source->forward_signal(sig);
  };
  while (impl.sources_running.load() > 0) {
    impl.heartbeats.supervisor_beat(monotonic_ns());
    pollfd fds[2] = {{signals.fd(), POLLIN, 0}, {impl.wake_fd, POLLIN, 0}};
    (void)::poll(fds, 2, 100);
    if (fds[1].revents & POLLIN) {
      uint64_t drained;
      (void)!::read(impl.wake_fd, &drained, sizeof drained);
    }
    int sig = signals.next();
    if (sig == SIGCHLD) {
      reap_children();
    } else if (sig == SIGTERM || sig == SIGINT) {
      log::info("shutdown requested", "signal", strsignal(sig));
      if (deadline == 0) deadline = monotonic_ns() + impl.options.shutdown_timeout_ns;
      impl.shutdown_deadline.store(deadline, std::memory_order_release);
      forward(sig);
      for (auto& source : impl.sources) {
        if (source->spec.source->child_pid() < 0) source->spec.source->stop();
      }
    } else if (sig == SIGHUP) {
      log::info("SIGHUP: reopening files");
      for (auto& sink : impl.sinks) sink->reopen_requested = true;
      forward(sig);
    } else if (sig > 0) {
      forward(sig);
    }
    reap_children();
    if (deadline != 0 && !children_killed) {
      // Leave the last quarter of the deadline (at most 1 s) to drain what the child wrote.
      int64_t margin = std::min<int64_t>(1'000'000'000, impl.options.shutdown_timeout_ns / 4);
      if (monotonic_ns() >= deadline - margin) {
        for (auto& source : impl.sources) {
          if (source->spec.source->child_pid() > 0) {
            log::warn("child did not exit in time, killing it", "source", source->spec.name);
            source->spec.source->forward_signal(SIGKILL);
          }
          source->spec.source->stop();
        }
        children_killed = true;
      }
    }
    if (deadline != 0 && monotonic_ns() >= deadline) break;
  }
  impl.heartbeats.stopping();
  reap_children();
  if (children_killed) {
    // SIGKILL takes effect asynchronously: wait (briefly, in case the child is stuck in the
    // kernel) for the killed child, so the exit code is 128+9 rather than "still running".
    for (auto& source : impl.sources) {
      pid_t pid = source->spec.source->child_pid();
      for (int i = 0; pid > 0 && i < 200; ++i) {
        int status = 0;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) source->spec.source->child_exited(status);
        if (r != 0) break;  // reaped now, or already reaped (ECHILD)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }
  }

  if (deadline == 0) deadline = monotonic_ns() + impl.options.shutdown_timeout_ns;
  impl.shutdown_deadline.store(deadline, std::memory_order_release);
  bool drained = impl.sources_running.load() == 0;
  bool abandoned_sinks = false;  // disk-buffered sinks still busy at the deadline
  if (drained) {
    for (auto& source : impl.sources) {
      if (source->thread.joinable()) source->thread.join();
    }
    for (int i = 0; i < impl.options.workers; ++i) impl.work_queue.push_control(nullptr);
    drained = wait_until(impl.workers_running, deadline);
  }
  if (drained) {
    for (auto& w : impl.workers) w.join();
    for (auto& sink : impl.sinks) sink->queue.push_control(Delivery());
    for (auto& sink : impl.sinks) {
      // Bounded: a sink stuck retrying (disk full) must not outlive the deadline, and
      // atomic::wait has no timeout.
      while (!sink->done.load() && monotonic_ns() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      if (sink->done.load()) continue;
      if (sink->disk) {
        // Its sources were acknowledged when the records reached the disk: nothing is lost,
        // the next start delivers what the sink did not confirm.
        log::warn(
            "sink did not finish before the shutdown deadline; what it did not deliver "
            "stays in its disk buffer",
            "sink", sink->spec.name);
        sink->disk->close();
        abandoned_sinks = true;
      } else {
        drained = false;
      }
    }
  }

  int exit_code = start_failure;
  for (auto& source : impl.sources) {
    if (source->spec.source->child_pid() > 0) exit_code = source->spec.source->child_exit_code();
  }
  for (auto& source : impl.sources) {
    // It said why (a final checkpoint not written); a run that leaves a restart to read
    // delivered data again is not a success.
    if (drained && !source->spec.source->saved_final_state() && exit_code == 0) {
      log::error("exiting with status 1: a source could not save its final state", "source",
                 source->spec.name);
      exit_code = 1;
    }
  }
  uint64_t pending = 0;
  for (auto& source : impl.sources) pending += source->pushed.load() - source->acked.load();
  if (!drained || pending > 0) {
    // Say exactly what may be lost: per source, the events not yet acknowledged by every sink.
    for (auto& source : impl.sources) {
      uint64_t events = source->pushed_events.load() - source->acked_events.load();
      if (events > 0) {
        log::error("events not confirmed delivered to every sink", "source", source->spec.name,
                   "events", events);
      }
    }
  }
  for (const auto& m : metrics_) {
    log::info("component totals", "component", m->name, "kind", m->kind, "events_in",
              m->events_in.load(), "events_out", m->events_out.load(), "bytes_in",
              m->bytes_in.load(), "bytes_out", m->bytes_out.load(), "dropped", m->dropped.load(),
              "parse_errors", m->parse_errors.load(), "split", m->split.load());
  }
  if (!drained || pending > 0) {
    log::error("shutdown deadline passed before everything was delivered", "unacked_batches",
               pending);
    // Threads may still be blocked on a sink that cannot make progress: leave without joining.
    std::_Exit(exit_code != 0 ? exit_code : 1);
  }
  log::info("stopped", "exit_code", exit_code);
  // A sink thread still blocked on its destination cannot be joined.
  if (abandoned_sinks) std::_Exit(exit_code);
  for (auto& sink : impl.sinks) sink->thread.join();
  return exit_code;
}

LivenessStatus Pipeline::liveness(int64_t now_ns) const {
  return impl_->heartbeats.check(now_ns, impl_->options.liveness_stall_ns);
}

PipelineSnapshot Pipeline::snapshot() const {
  PipelineSnapshot snap;
  for (const auto& source : impl_->sources) {
    PipelineSnapshot::SourceState state;
    state.name = source->spec.name;
    state.pushed_events = source->pushed_events.load(std::memory_order_relaxed);
    state.acked_events = source->acked_events.load(std::memory_order_relaxed);
    state.finished = source->finished.load(std::memory_order_relaxed);
    state.files = source->spec.source->file_status();
    snap.sources.push_back(std::move(state));
  }
  for (const auto& sink : impl_->sinks) {
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
