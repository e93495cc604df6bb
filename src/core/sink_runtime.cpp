#include "core/sink_runtime.hpp"

#include <chrono>

#include "core/clock.hpp"

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
                                  sizeof(uint32_t)) +
         1;
}

void SinkRuntime::finished(EncodedBatch* batch, int64_t cost) {
  metrics->add(metrics->events_out, batch->count());
  metrics->add(metrics->bytes_out, batch->data.size());
  queue.release(cost);
  AckToken* ack = batch->ack;
  release_shared(batch, pool);
  ack->done();
}

void SinkRuntime::skipped(EncodedBatch* batch) {
  AckToken* ack = batch->ack;
  release_shared(batch, pool);
  ack->done();
}

void SinkRuntime::loop() {
  bool closing = false;
  while (true) {
    Delivery delivery;
    // After the end marker only what is already queued remains (every producer has stopped);
    // it may sit in other producers' sub-queues, behind the marker.
    bool got = closing ? queue.try_pop(delivery) : queue.pop(delivery, kSinkTick);
    if (closing && !got) break;
    if (got) {
      if (!delivery.valid()) {
        closing = true;
        continue;
      }
      metrics->add(metrics->events_in, delivery.batch().count());
      metrics->add(metrics->bytes_in, delivery.batch().data.size());
      spec.sink->consume(delivery);
    }
    if (reopen_requested.exchange(false)) spec.sink->reopen();
    spec.sink->tick(wall_clock_ns());
  }
  spec.sink->shutdown();
  done.store(true);
  done.notify_all();
}

}  // namespace sluice
