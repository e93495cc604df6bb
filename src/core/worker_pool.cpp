#include "core/worker_pool.hpp"

#include <chrono>

#include "base/clock.hpp"
#include "core/encoder.hpp"
#include "core/event_id.hpp"
#include "core/event_view.hpp"
#include "core/template.hpp"

namespace sluice {

struct WorkerPool::Scratch {
  size_t worker = 0;  // index for the heartbeats
  std::vector<std::vector<Event>> levels;
  std::vector<std::pair<SinkRuntime*, EncodedBatch*>> deliveries;
  EncodeMemo memo;  // layouts of the events of the output being encoded (core/encode_memo.hpp)
  // Monotonic time of the current batch when someone taps (see core/tap.hpp), else 0: then the
  // batch is offered to the taps after each component's output.
  int64_t tap_now_ns = 0;
};

WorkerPool::WorkerPool(BoundedQueue<Batch*>& work_queue, Pool<Batch>& batch_pool,
                       Pool<EncodedBatch>& encoded_pool, PipelineHeartbeats& heartbeats,
                       TapRegistry& taps)
    : work_queue_(work_queue),
      batch_pool_(batch_pool),
      encoded_pool_(encoded_pool),
      heartbeats_(heartbeats),
      taps_(taps) {}

void WorkerPool::publish(std::shared_ptr<const RoutingTable> table) {
  table_.store(std::move(table));
}

bool WorkerPool::none_older_than(uint64_t generation) const {
  for (size_t i = 0; i < threads_.size(); ++i) {
    uint64_t in_use = in_use_[i].load();
    if (in_use == kLoading || (in_use != 0 && in_use < generation)) return false;
  }
  return true;
}

WorkerPool::~WorkerPool() {
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

void WorkerPool::start(int workers) {
  running_ = workers;
  in_use_ = std::make_unique<std::atomic<uint64_t>[]>(static_cast<size_t>(workers));
  for (int i = 0; i < workers; ++i) {
    threads_.emplace_back([this, i] { loop(static_cast<size_t>(i)); });
  }
}

bool WorkerPool::finish(int64_t deadline_ns) {
  // One end marker per worker: each ends once the queue holds nothing else.
  for (size_t i = 0; i < threads_.size(); ++i) work_queue_.push_control(nullptr);
  while (running_.load() != 0) {
    if (monotonic_ns() >= deadline_ns) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  for (auto& thread : threads_) thread.join();
  return true;
}

void WorkerPool::loop(size_t index) {
  Scratch scratch;
  scratch.worker = index;
  bool closing = false;
  int others_markers = 0;  // end markers meant for other workers, taken while draining
  while (true) {
    Batch* batch = nullptr;
    // After the end marker, batches may still sit in other sources' sub-queues: drain them.
    if (closing) {
      if (!work_queue_.try_pop(batch)) break;
    } else {
      work_queue_.pop(batch);
    }
    if (batch == nullptr) {
      if (closing) ++others_markers;
      closing = true;
      continue;
    }
    int64_t cost = memory_cost(*batch);
    process(batch, scratch);
    work_queue_.release(cost);
  }
  // Give back the markers taken from other workers, or they would wait in pop() forever.
  for (int i = 0; i < others_markers; ++i) work_queue_.push_control(nullptr);
  running_.fetch_sub(1);
}

void WorkerPool::process(Batch* batch, Scratch& scratch) {
  // Marked before the table is loaded: a reload that sees this worker idle after publishing a
  // table knows it will load that one (sequentially consistent order).
  std::atomic<uint64_t>& in_use = in_use_[scratch.worker];
  in_use.store(kLoading);
  std::shared_ptr<const RoutingTable> table = table_.load();
  in_use.store(table->generation);
  SourceRuntime& source = *table->sources[batch->source_index];
  // Busy while parsing, transforming and encoding; idle again before commit(), which may wait
  // on a full sink queue (backpressure is not a stall).
  heartbeats_.worker_busy(scratch.worker, monotonic_ns());
  const EventParser& parser =
      batch->origin && batch->origin->parser ? *batch->origin->parser : *source.spec.parser;
  parser.parse(*batch, wall_clock_ns());
  uint64_t parse_errors = 0, split = 0;
  for (const Event& e : batch->events) {
    parse_errors += (e.flags & kFlagParseError) ? 1 : 0;
    split += (e.flags & kFlagSplit) ? 1 : 0;
  }
  if (parse_errors) source.metrics->add(source.metrics->parse_errors, parse_errors);
  if (split) source.metrics->add(source.metrics->split, split);
  // With nobody tapping, this one relaxed load is all that taps cost a batch; the tapped branch
  // is laid out of the way of the worker's own code.
  scratch.tap_now_ns = 0;
  if (taps_.active()) [[unlikely]] {
    scratch.tap_now_ns = monotonic_ns();
    taps_.offer(source.spec.name, *batch, batch->events, source.spec.meta, scratch.tap_now_ns);
  }

  scratch.deliveries.clear();
  size_t plan = table->source_plans[batch->source_index];
  if (plan != RoutingTable::kUnrouted) {
    route(*table, *batch, source, table->plan.sources[plan].root, batch->events, 0, scratch);
  }
  heartbeats_.worker_idle(scratch.worker);
  commit(*batch, source, scratch);
  in_use.store(0);
  batch->reset();
  batch_pool_.release(batch);
}

void WorkerPool::route(const RoutingTable& table, Batch& batch, SourceRuntime& source,
                       const PlanNode& node, std::span<const Event> events, size_t depth,
                       Scratch& scratch) {
  static const std::vector<const Template*> kNoTemplates;
  for (const PlanOutput& output : node.outputs) {
    const std::vector<const Template*>& templates =
        output.templated ? table.sinks[output.sinks.front()]->templates : kNoTemplates;
    EncodedBatch* encoded = encoded_pool_.acquire();
    encoded->source_index = source.index;
    encoded->seq = batch.seq;
    encoded->ack = batch.ack;
    encoded->templates_per_event = static_cast<uint32_t>(templates.size());
    encoded->refs.store(static_cast<int>(output.sinks.size()), std::memory_order_relaxed);
    encoded->ends.reserve(events.size());
    if (output.ids) encoded->ids.reserve(events.size());
    scratch.memo.reset();
    for (const Event& event : events) {
      if (output.ids) encoded->ids.push_back(event_id(source.id_seed, batch, event));
      encode_event(batch, event, source.spec.meta, output.encoding, encoded->data, scratch.memo);
      encoded->ends.push_back(static_cast<uint32_t>(encoded->data.size()));
      if (!templates.empty()) {
        EventView view(batch, event, source.spec.meta);
        for (const Template* t : templates) {
          t->render(view, event.timestamp_ns, t->sink_render_options(), encoded->rendered);
          encoded->rendered_ends.push_back(static_cast<uint32_t>(encoded->rendered.size()));
        }
      }
    }
    for (size_t sink : output.sinks) {
      scratch.deliveries.emplace_back(table.sinks[sink].get(), encoded);
    }
  }
  if (node.children.empty()) return;
  if (scratch.levels.size() <= depth) scratch.levels.resize(depth + 1);
  for (const PlanNode& child : node.children) {
    std::vector<Event>& out = scratch.levels[depth];
    out.clear();
    const TransformRuntime& transform = *table.transforms[child.transform];
    transform.metrics->add(transform.metrics->events_in, events.size());
    transform.spec.transform->apply(batch, source.spec.meta, events, out);
    transform.metrics->add(transform.metrics->events_out, out.size());
    if (scratch.tap_now_ns != 0) [[unlikely]] {
      taps_.offer(transform.spec.name, batch, out, source.spec.meta, scratch.tap_now_ns);
    }
    route(table, batch, source, child, out, depth + 1, scratch);
  }
}

void WorkerPool::commit(Batch& batch, SourceRuntime& source, Scratch& scratch) {
  // Wait for the previous batch of this source to be handed over: sinks see read order.
  uint64_t seq = batch.seq;
  uint64_t turn = source.next_commit.load(std::memory_order_acquire);
  while (turn != seq) {
    source.next_commit.wait(turn, std::memory_order_acquire);
    turn = source.next_commit.load(std::memory_order_acquire);
  }
  // The token holds one delivery for the routing (SourceRuntime::push): the sinks this table
  // reaches are added before any of them can finish, then the routing's own is released.
  AckToken* ack = batch.ack;
  ack->add(static_cast<int>(scratch.deliveries.size()));
  for (auto [sink, encoded] : scratch.deliveries) {
    sink->accept(encoded, sink->source_token(source.index));
  }
  source.next_commit.store(seq + 1, std::memory_order_release);
  source.next_commit.notify_all();
  ack->done();
}

}  // namespace sluice
