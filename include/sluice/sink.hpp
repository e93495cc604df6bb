#pragma once
// A sink takes encoded batches on its own thread and acknowledges each once it is durable.
#include <atomic>
#include <cstdint>
#include <string_view>
#include <vector>

#include "sluice/ack.hpp"
#include "sluice/byte_buffer.hpp"
#include "sluice/encoding.hpp"

namespace sluice {

class Template;

// A deterministic 128-bit identity of an event's origin (src/core/event_id.hpp): the same input
// read again after a crash gets the same id, so a destination can overwrite instead of
// duplicating (Elasticsearch `_id`).
struct EventId {
  uint64_t hi = 0;
  uint64_t lo = 0;
  bool operator==(const EventId&) const = default;
};

// The events of one source batch that reached a sink, already encoded. Shared (read-only) by
// every sink that asked for the same encoding.
struct EncodedBatch {
  ByteBuffer data;                      // encoded events, each ending in '\n'
  std::vector<uint32_t> ends;           // end offset in `data` of each event
  ByteBuffer rendered;                  // per-event template renderings (Sink::templates())
  std::vector<uint32_t> rendered_ends;  // event-major: [event][template] end offsets
  uint32_t templates_per_event = 0;
  std::vector<EventId> ids;  // one per event when the sink wants_event_ids(), else empty
  uint32_t source_index = 0;
  uint64_t seq = 0;
  AckToken* ack = nullptr;
  std::atomic<int> refs{0};

  [[nodiscard]] size_t count() const { return ends.size(); }
  [[nodiscard]] std::string_view event(size_t i) const {
    uint32_t begin = i == 0 ? 0 : ends[i - 1];
    return {data.data() + begin, ends[i] - begin};
  }
  [[nodiscard]] std::string_view rendered_value(size_t event_index, size_t template_index) const {
    size_t k = event_index * templates_per_event + template_index;
    uint32_t begin = k == 0 ? 0 : rendered_ends[k - 1];
    return {rendered.data() + begin, rendered_ends[k] - begin};
  }
  void reset() {
    data.clear();
    ends.clear();
    rendered.clear();
    rendered_ends.clear();
    ids.clear();
    templates_per_event = 0;
    ack = nullptr;
  }
};

// One sink's hold on an encoded batch. done() must be called exactly once: it acknowledges the
// events to their source and returns the memory to the pool and the sink's buffer.
class Delivery {
 public:
  Delivery() = default;
  Delivery(EncodedBatch* batch, class DeliveryOwner* owner, int64_t cost)
      : batch_(batch), owner_(owner), cost_(cost) {}
  [[nodiscard]] const EncodedBatch& batch() const { return *batch_; }
  [[nodiscard]] bool valid() const { return batch_ != nullptr; }
  void done();

 private:
  EncodedBatch* batch_ = nullptr;
  class DeliveryOwner* owner_ = nullptr;
  int64_t cost_ = 0;
};

class DeliveryOwner {
 public:
  virtual ~DeliveryOwner() = default;
  virtual void finished(EncodedBatch* batch, int64_t cost) = 0;
};

inline void Delivery::done() {
  if (batch_) owner_->finished(batch_, cost_);
  batch_ = nullptr;
}

// A sink's delivery health, written by the sink thread, read by /metrics and /health.
struct SinkStatus {
  std::atomic<uint64_t> retries{0};
  std::atomic<int64_t> failing_since_ns{0};  // monotonic; 0 while deliveries succeed
  std::atomic<uint64_t> dead_lettered{0};    // events the destination refused for good
};

class Sink {
 public:
  virtual ~Sink() = default;
  [[nodiscard]] const SinkStatus& status() const { return status_; }
  [[nodiscard]] virtual EncodingSpec encoding() const = 0;
  // Templates the workers render per event into EncodedBatch::rendered (e.g. a file path).
  [[nodiscard]] virtual std::vector<const Template*> templates() const { return {}; }
  // True: the workers fill EncodedBatch::ids.
  [[nodiscard]] virtual bool wants_event_ids() const { return false; }
  // The pipeline buffer (`buffer.max_bytes`) this sink needs at least when the config sets none,
  // and for the read-back of a disk buffer: what it holds in flight. 0: the pipeline's default.
  [[nodiscard]] virtual int64_t buffer_bytes_needed() const { return 0; }
  // Sink thread. Takes ownership of the delivery; calls done() once it is durable.
  virtual void consume(Delivery delivery) = 0;
  // Sink thread, at least every 200 ms: timers (rotation by time, fsync interval).
  virtual void tick(int64_t now_ns) {}
  // Sink thread, after SIGHUP: reopen files (logrotate).
  virtual void reopen() {}
  // Sink thread, at the end: write and flush everything, then done() every delivery held.
  virtual void shutdown() = 0;

 protected:
  // A delivery attempt failed and will be retried.
  void note_retry(int64_t now_monotonic_ns) {
    status_.retries.fetch_add(1, std::memory_order_relaxed);
    int64_t expected = 0;
    status_.failing_since_ns.compare_exchange_strong(expected, now_monotonic_ns,
                                                     std::memory_order_relaxed);
  }
  // An event the destination refused for good went to the dead-letter file.
  void note_dead_lettered() { status_.dead_lettered.fetch_add(1, std::memory_order_relaxed); }
  // A delivery attempt succeeded: the sink is healthy again.
  void note_success() {
    if (status_.failing_since_ns.load(std::memory_order_relaxed) != 0)
      status_.failing_since_ns.store(0, std::memory_order_relaxed);
  }

 private:
  SinkStatus status_;
};

}  // namespace sluice
