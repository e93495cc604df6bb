#include "core/sink_runtime.hpp"

#include <algorithm>
#include <chrono>

#include "base/clock.hpp"

namespace sluice {

namespace {
constexpr auto kSinkTick = std::chrono::milliseconds(100);

void release_shared(EncodedBatch* batch, Pool<EncodedBatch>* pool) {
  if (batch->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    batch->reset();
    pool->release(batch);
  }
}
}  // namespace

int64_t memory_cost(const EncodedBatch& batch) {
  return static_cast<int64_t>(batch.data.capacity() + batch.rendered.capacity() +
                              (batch.ends.capacity() + batch.rendered_ends.capacity()) *
                                  sizeof(uint32_t) +
                              batch.ids.capacity() * sizeof(EventId)) +
         1;
}

SinkRuntime::~SinkRuntime() {
  // The sink first: it may still hold those batches, and may finish some as it goes.
  spec.sink.reset();
  for (EncodedBatch* batch : released_) release_shared(batch, pool);
}

void SinkRuntime::finished(EncodedBatch* batch, int64_t cost) {
  {
    std::lock_guard lock(held_mutex_);
    auto held = std::find(held_.begin(), held_.end(), batch);
    if (held != held_.end()) {
      held_.erase(held);
    } else if (auto released = std::find(released_.begin(), released_.end(), batch);
               released != released_.end()) {
      // abandon() acknowledged it and gave its room in the queue back already; only the
      // memory was still the sink's.
      released_.erase(released);
      release_shared(batch, pool);
      return;
    }
  }
  metrics->add(metrics->events_out, batch->count());
  metrics->add(metrics->bytes_out, batch->data.size());
  queue.release(cost);
  AckToken* ack = batch->ack;
  release_shared(batch, pool);
  ack->done();
}

void SinkRuntime::consume(Delivery delivery) {
  auto* batch = const_cast<EncodedBatch*>(&delivery.batch());
  {
    std::lock_guard lock(held_mutex_);
    if (!abandoned_.load(std::memory_order_relaxed)) {
      held_.push_back(batch);
      batch = nullptr;
    }
  }
  if (batch) {
    drop_for_reload(batch, memory_cost(*batch));
    return;
  }
  metrics->add(metrics->events_in, delivery.batch().count());
  metrics->add(metrics->bytes_in, delivery.batch().data.size());
  spec.sink->consume(delivery);
}

void SinkRuntime::drop_for_reload(EncodedBatch* batch, int64_t cost) {
  dropped_on_reload.fetch_add(batch->count(), std::memory_order_relaxed);
  metrics->add(metrics->dropped, batch->count());
  queue.release(cost);
  skipped(batch);
}

uint64_t SinkRuntime::abandon() {
  std::vector<AckToken*> acks;
  uint64_t events = 0;
  {
    std::lock_guard lock(held_mutex_);
    abandoned_.store(true, std::memory_order_release);
    for (EncodedBatch* batch : held_) {
      events += batch->count();
      acks.push_back(batch->ack);
      released_.push_back(batch);
      // A worker may wait for room in the queue to hand over a batch routed before the
      // reload: what the sink holds must stop counting against the bound.
      queue.release(memory_cost(*batch));
    }
    held_.clear();
  }
  dropped_on_reload.fetch_add(events, std::memory_order_relaxed);
  metrics->add(metrics->dropped, events);
  for (AckToken* ack : acks) ack->done();
  return events + drop_queued();
}

// Also called again while a worker may still be adding to the queue (its batch was routed by
// the table that still had this sink).
uint64_t SinkRuntime::drop_queued() {
  uint64_t events = 0;
  bool marker = false;
  Delivery delivery;
  while (queue.try_pop(delivery)) {
    if (!delivery.valid()) {
      marker = true;
      continue;
    }
    auto* batch = const_cast<EncodedBatch*>(&delivery.batch());
    events += batch->count();
    drop_for_reload(batch, memory_cost(*batch));
  }
  // The sink thread ends at the marker, should its destination come back.
  if (marker) queue.push_control(Delivery());
  return events;
}

void SinkRuntime::skipped(EncodedBatch* batch) {
  AckToken* ack = batch->ack;
  release_shared(batch, pool);
  ack->done();
}

void SinkRuntime::count_drop(const EncodedBatch& batch) {
  metrics->add(metrics->dropped, batch.count());
  uint64_t suppressed = 0;
  if (drop_log.allow(&suppressed)) {
    log::warn("sink buffer full, dropping newest events", "sink", spec.name, "events",
              batch.count(), "policy", "drop_newest", "dropped_total", metrics->dropped.load(),
              "suppressed_logs", suppressed);
  }
}

void SinkRuntime::accept(EncodedBatch* batch, BoundedQueue<Delivery>::Token& token) {
  if (batch->count() == 0) {
    skipped(batch);
    return;
  }
  if (abandoned_.load(std::memory_order_acquire)) {
    drop_for_reload(batch, 0);
    return;
  }
  if (spec.disk) {
    SinkDiskBuffer* target = ready_disk();
    std::shared_lock<std::shared_mutex> handover;
    if (!target) {  // a reload's handover, or a buffer that could not be opened
      handover = std::shared_lock(handover_mutex_);
      DiskState state = disk_state_.load(std::memory_order_acquire);
      target = state == DiskState::Open      ? disk.get()
               : state == DiskState::Awaited ? interim_disk_
                                             : nullptr;
    }
    if (!target) {
      drop_for_reload(batch, 0);
      return;
    }
    AckToken* ack = batch->ack;
    if (target->store(*batch, spec.when_full, ack)) {
      // The disk buffer completes the acknowledgement once the record is durable.
      release_shared(batch, pool);
    } else {
      count_drop(*batch);
      skipped(batch);
    }
    return;
  }
  int64_t cost = memory_cost(*batch);
  Delivery delivery(batch, this, cost);
  if (spec.when_full == WhenFull::Block) {
    queue.push(delivery, cost, token);
  } else if (!queue.try_push(delivery, cost, token)) {
    count_drop(*batch);
    skipped(batch);
  }
}

void SinkRuntime::attach_disk(std::unique_ptr<SinkDiskBuffer> buffer) {
  disk = std::move(buffer);
  disk_state_.store(DiskState::Open, std::memory_order_release);
}

void SinkRuntime::fail_disk() { disk_state_.store(DiskState::Failed, std::memory_order_release); }

void SinkRuntime::loop() {
  if (disk) {
    disk_loop();
    return;
  }
  bool closing = false;
  while (true) {
    Delivery delivery;
    // After the end marker only what is already queued remains (every producer has stopped);
    // it may sit in other producers' sub-queues, behind the marker.
    bool got = closing ? queue.try_pop(delivery) : queue.pop(delivery, kSinkTick);
    if (closing && !got) break;
    // Before consuming: what arrives after a SIGHUP goes to the reopened files.
    if (reopen_requested.exchange(false)) spec.sink->reopen();
    if (got) {
      if (!delivery.valid()) {
        closing = true;
        continue;
      }
      consume(delivery);
    }
    spec.sink->tick(wall_clock_ns());
  }
  spec.sink->shutdown();
  done.store(true);
  done.notify_all();
}

void SinkRuntime::disk_loop() {
  bool closing = false;
  int64_t drain_until = 0;
  while (true) {
    Delivery marker;
    if (!closing && queue.try_pop(marker) && !marker.valid()) {
      closing = true;
      // Drain until shortly before the deadline: the sink's own shutdown (flushing what it
      // holds) needs the rest. What is not delivered by then stays on disk for the next start.
      int64_t now = monotonic_ns();
      int64_t deadline = shutdown_deadline ? shutdown_deadline->load() : 0;
      if (deadline <= now) deadline = now + shutdown_timeout_ns;
      drain_until = deadline - std::min<int64_t>(shutdown_timeout_ns / 4, 2'000'000'000);
      if (handing_over.load()) drain_until = now;
    }
    Delivery delivery;
    if (disk->next(&delivery)) {
      metrics->add(metrics->events_in, delivery.batch().count());
      metrics->add(metrics->bytes_in, delivery.batch().data.size());
      spec.sink->consume(delivery);
    } else {
      if (closing && disk->caught_up()) break;
      disk->wait(closing ? std::chrono::milliseconds(10) : kSinkTick);
    }
    if (closing) {
      // A destination that is down will not take the backlog now; the next start sends it.
      bool failing = spec.sink->status().failing_since_ns.load(std::memory_order_relaxed) != 0;
      if (failing || monotonic_ns() >= drain_until) break;
    }
    if (reopen_requested.exchange(false)) spec.sink->reopen();
    spec.sink->tick(wall_clock_ns());
  }
  spec.sink->shutdown();
  if (!handing_over.load()) disk->close();
  done.store(true);
  done.notify_all();
}

}  // namespace sluice
