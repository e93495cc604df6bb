#pragma once
// `kafka`: produces every event as one Kafka message with librdkafka (idempotent producer,
// acks=all and lz4 by default). Topic, key and headers come from per-event templates that the
// workers render.
//
// Delivery: a batch is acknowledged once every one of its messages has a final outcome —
// delivered (a delivery report without error), or rejected for good (too large, unknown topic,
// not authorised) and written to the dead-letter file `<data_dir>/dead-letter/<sink>.jsonl`.
// Messages point into the batch's memory (no copy): the delivery keeps it alive until done().
//
// Retries: librdkafka retries transient errors itself (reconnects, leader changes, timeouts of
// requests), in order and without duplicates (idempotent producer). By default it never gives
// up (message.timeout.ms = 0): an outage holds the sink back, and the pipeline's `when_full`
// applies. With a finite message.timeout.ms (or after a fatal idempotence error, when the
// producer is recreated), a message that comes back with a transient error is produced again
// by the sink after a capped exponential backoff with jitter (base/backoff.hpp), in order: the sink
// stops producing as soon as a message comes back, purges what librdkafka has not sent yet (those
// messages come back too), waits until nothing is in flight, then produces everything that came
// back in the original order (batch order, then event order) before it takes anything new.
// It also produces nothing new while a message it holds may be past its timeout without a
// report yet (librdkafka reports timeouts late), so a new message cannot overtake one that is
// about to come back. What remains possible with a finite timeout: a message produced shortly
// after another, before that one's timeout, may be sent by librdkafka if the broker returns
// between the two timeouts; and a message whose fate was unknown when it timed out in flight
// may be written twice. Keyless messages produced again may land on another partition.
//
// Threads: the sink thread produces and runs the retry logic. A poll thread of the sink serves
// librdkafka's callbacks at once (the sink thread may sit in its queue for 100 ms while every
// batch it holds waits for delivery reports): successes and dead letters finish batches there
// (Delivery::done() is safe from any thread: SinkRuntime::finished() only touches atomics, the
// lock-free pool and the AckToken); transient failures are handed to the sink thread.
#include <librdkafka/rdkafka.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/backoff.hpp"
#include "base/log.hpp"
#include "core/template.hpp"
#include "sinks/dead_letter.hpp"
#include "sluice/sink.hpp"

namespace sluice {

struct KafkaSinkOptions {
  enum class TooLarge { DeadLetter, Truncate };

  std::string name;
  std::string data_dir;         // the dead-letter file goes below it
  Template topic;               // static, or rendered per event
  std::string default_topic;    // used when the topic template misses a field
  std::optional<Template> key;  // none: librdkafka's partitioner spreads the events
  std::vector<std::pair<std::string, Template>> headers;  // header name → rendered value
  EncodingSpec encoding;
  TooLarge too_large = TooLarge::DeadLetter;
  // librdkafka properties in the order they are applied: sluice's defaults, then the options
  // above, then the `librdkafka:` map. Validated at config time.
  std::vector<std::pair<std::string, std::string>> librdkafka;
  int64_t flush_timeout_ns = 8'000'000'000;  // shutdown: how long to wait for delivery reports
  int64_t retry_backoff_min_ns = 500'000'000;
  int64_t retry_backoff_max_ns = 30'000'000'000;
};

// The value a template renders for a missing field when the sink asks for it to be marked
// (a control character cannot come from an event: the renderer replaces those).
inline constexpr std::string_view kKafkaMissingField = "\x01";

// Builds a librdkafka configuration from `settings`; on error returns nullptr and sets `error`
// and `failed_key`.
rd_kafka_conf_t* make_kafka_conf(const std::vector<std::pair<std::string, std::string>>& settings,
                                 std::string* failed_key, std::string* error);

class KafkaSink final : public Sink {
 public:
  explicit KafkaSink(KafkaSinkOptions options);
  ~KafkaSink() override;
  KafkaSink(const KafkaSink&) = delete;
  KafkaSink& operator=(const KafkaSink&) = delete;

  [[nodiscard]] EncodingSpec encoding() const override { return options_.encoding; }
  [[nodiscard]] std::vector<const Template*> templates() const override;
  void consume(Delivery delivery) override;
  void tick(int64_t now_ns) override;
  void shutdown() override;

  struct Totals {
    uint64_t delivered = 0;
    uint64_t dead_lettered = 0;
    uint64_t truncated = 0;
    uint64_t requeued = 0;  // messages produced again after a transient failure
  };
  [[nodiscard]] Totals totals() const;
  [[nodiscard]] const KafkaSinkOptions& options() const { return options_; }

 private:
  // One consumed delivery: done() once every message has a final outcome.
  struct InFlight {
    Delivery delivery;
    uint64_t order = 0;                   // consume() sequence: the order of re-production
    int64_t produced_ns = 0;              // monotonic, when consume() produced it
    std::atomic<uint32_t> unfinished{0};  // messages not yet delivered or dead-lettered
    std::atomic<bool> live{false};        // held (between acquire() and release())
  };
  struct Requeue {
    InFlight* batch;
    uint32_t index;
  };
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  enum class Produced {
    Yes,          // handed to librdkafka, or finished at once (dead-lettered)
    Requeued,     // failed transiently: it is in requeue_, behind what is already there
    Interrupted,  // not produced: a transient failure came back meanwhile; recover() first
  };

  // Sink thread.
  bool start(std::string* error);
  // start() until it succeeds, waiting between tries (from 1 s, doubling up to
  // retry_backoff_max, jittered). The first start counts retries and logs once; recreating after
  // a fatal error logs every failure. False if the deadline (monotonic ns) passed first.
  bool start_with_retry(int64_t deadline_ns, bool recreating);
  void stop_producer();
  rd_kafka_topic_t* topic_handle(std::string_view name);
  // Produces event `index`; waits while librdkafka's queue is full.
  Produced produce(InFlight* batch, uint32_t index);
  // Moves what the poll thread handed back into requeue_; true when there is something to redo.
  bool collect_returned();
  // Waits until the poll thread served something, at most `ms`.
  void wait_for_reports(int ms);
  // With a finite message.timeout.ms: true while a message may be past its timeout without its
  // report yet, so that a new message could overtake it when it comes back.
  bool must_hold_back(int64_t now_ns) const;
  // Waits while must_hold_back(), until something comes back or the reports arrive.
  void hold_back();
  // Produces everything in requeue_ again, in order, after a backoff. False if the deadline
  // (monotonic ns) passed first.
  bool recover(int64_t deadline_ns);
  bool wait_until_nothing_in_flight(int64_t deadline_ns);
  InFlight* acquire();

  // Any thread.
  void finish_one(InFlight* batch);
  void release(InFlight* batch);
  void dead_letter(InFlight* batch, uint32_t index, std::string_view topic,
                   std::string_view reason);

  // Poll thread (librdkafka callbacks).
  void poll_loop();
  void on_delivery(const rd_kafka_message_t* message);
  void on_error(int code, const char* reason);
  static void delivery_callback(rd_kafka_t* rk, const rd_kafka_message_t* message, void* opaque);
  static void error_callback(rd_kafka_t* rk, int code, const char* reason, void* opaque);
  static void log_callback(const rd_kafka_t* rk, int level, const char* facility, const char* text);

  KafkaSinkOptions options_;
  rd_kafka_t* rk_ = nullptr;
  std::thread poller_;
  std::atomic<bool> stop_polling_{false};
  bool start_failed_logged_ = false;
  size_t message_max_bytes_ = 1'000'000;
  int64_t message_timeout_ns_ = 0;  // librdkafka's message.timeout.ms; 0 = never
  int64_t round_ns_ = 0;            // when the last recover() round produced again
  std::unordered_map<std::string, rd_kafka_topic_t*, StringHash, std::equal_to<>> topics_;
  rd_kafka_topic_t* last_topic_ = nullptr;
  std::string last_topic_name_;
  std::vector<rd_kafka_vu_t> vu_;  // produceva arguments, reused
  uint64_t next_order_ = 0;
  std::vector<Requeue> requeue_;
  std::vector<Requeue> reproducing_;
  Backoff backoff_;  // the wait before each recover() round

  std::atomic<int64_t> in_librdkafka_{0};  // produced, delivery report not yet served
  std::atomic<bool> fatal_{false};         // the producer instance must be replaced (idempotence)
  std::atomic<bool> closing_{false};       // reports of purged messages at the end are ignored
  std::atomic<bool> returned_pending_{false};         // returned_ is not empty
  std::atomic<bool> delivered_since_backoff_{false};  // a delivery resets backoff_

  std::mutex reports_mutex_;  // guards returned_ and reports_epoch_
  std::condition_variable reports_cv_;
  std::vector<Requeue> returned_;  // transient failures, from the poll thread
  uint64_t reports_epoch_ = 0;

  std::mutex pool_mutex_;
  std::vector<std::unique_ptr<InFlight>> all_;  // pooled: one per batch held, reused
  std::vector<InFlight*> free_;
  std::atomic<size_t> live_{0};  // batches held (not yet done())

  std::mutex dead_letter_mutex_;
  DeadLetterWriter dead_letters_;
  std::atomic<uint64_t> delivered_{0};
  std::atomic<uint64_t> dead_lettered_{0};
  std::atomic<uint64_t> truncated_{0};
  std::atomic<uint64_t> requeued_{0};
  log::RateLimit error_log_;
  log::RateLimit dead_letter_log_;
};

}  // namespace sluice
