#include "core/source_runtime.hpp"

#include <chrono>

#include "base/clock.hpp"
#include "core/event_id.hpp"

namespace sluice {

int64_t memory_cost(const Batch& batch) {
  return static_cast<int64_t>(batch.bytes.capacity() + batch.arena.capacity() +
                              batch.events.capacity() * sizeof(Event) +
                              (batch.fields.capacity() + batch.meta.capacity()) * sizeof(Field)) +
         1;
}

SourceRuntime::SourceRuntime(const SourceRuntimeShared& shared, uint32_t index_in,
                             SourceSpec spec_in, ComponentMetrics* metrics_in)
    : index(index_in),
      spec(std::move(spec_in)),
      metrics(metrics_in),
      id_seed(id_seed_for(spec.name)),
      shared_(shared) {}

Batch* SourceRuntime::acquire() {
  Batch* batch = shared_.batch_pool.acquire();
  batch->source_index = index;
  return batch;
}

void SourceRuntime::release(Batch* batch) {
  batch->reset();
  shared_.batch_pool.release(batch);
}

void SourceRuntime::push(Batch* batch) {
  // Bytes were read even when every line is kept back (a multiline record still collecting).
  metrics->add(metrics->bytes_in, batch->bytes.size());
  if (batch->events.empty()) {
    release(batch);
    return;
  }
  batch->source_index = index;
  batch->seq = next_seq_++;
  if (batch->read_time_ns == 0) batch->read_time_ns = wall_clock_ns();
  batch->ack = new AckToken(this, batch->seq, batch->events.size(), batch->checkpoint, 1);
  metrics->add(metrics->events_out, batch->events.size());
  pushed_events_.fetch_add(batch->events.size(), std::memory_order_relaxed);
  pushed_.fetch_add(1, std::memory_order_acq_rel);
  shared_.work_queue.push(batch, memory_cost(*batch));
}

void SourceRuntime::acknowledged(uint64_t seq, uint64_t events, uint64_t checkpoint) {
  {
    // Acks complete out of order (sinks run independently); the checkpoint only advances
    // over a contiguous run of acknowledged batches.
    std::lock_guard lock(ack_mutex_);
    if (seq == next_ack_seq_) {
      acked_checkpoint_.store(checkpoint, std::memory_order_release);
      ++next_ack_seq_;
      for (auto it = acked_ahead_.begin(); it != acked_ahead_.end() && it->first == next_ack_seq_;
           it = acked_ahead_.erase(it)) {
        acked_checkpoint_.store(it->second, std::memory_order_release);
        ++next_ack_seq_;
      }
    } else {
      acked_ahead_.emplace(seq, checkpoint);
    }
  }
  acked_events_.fetch_add(events, std::memory_order_relaxed);
  acked_.fetch_add(1, std::memory_order_acq_rel);
  acked_.notify_all();
}

bool SourceRuntime::wait_for_acks(int64_t deadline_ns) {
  uint64_t target = pushed_.load(std::memory_order_acquire);
  while (acked_.load(std::memory_order_acquire) < target) {
    if (monotonic_ns() >= deadline_ns) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

int64_t SourceRuntime::shutdown_deadline_ns() const {
  int64_t deadline = shared_.shutdown_deadline.load(std::memory_order_acquire);
  return deadline != 0 ? deadline : monotonic_ns() + shared_.shutdown_timeout_ns;
}

}  // namespace sluice
