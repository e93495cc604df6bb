#pragma once
// `elasticsearch`: writes events to Elasticsearch (or OpenSearch) through the `_bulk` API, over
// HTTP/1.1 keep-alive connections (the shared HTTP client, net/http_client.hpp).
//
// Options: the descriptor's schema in elasticsearch_config.cpp (`sluice describe
// sink/elasticsearch`, the README's table).
//
// Delivery: events of several batches go into one bulk request, and a batch may straddle two
// requests. A batch is acknowledged once each of its events is stored (2xx), already present
// (409 on `create` with an id) or dead-lettered. Per item of an answer with `errors: true`:
// 429 and 5xx are sent again, alone (a new request with only those items), after a backoff;
// any other failure (e.g. 400 mapper_parsing_exception) goes to the dead-letter file
// `<data_dir>/dead-letter/<sink>.jsonl` with the item's `error.type: error.reason`, and is
// counted. A whole request that fails (no answer, 429, 5xx, an answer that is not a bulk answer)
// is sent again after a backoff, for as long as it takes: a cluster that is down holds the sink,
// and the pipeline's `when_full` applies. 413 splits the request in halves; a single event still
// too large is dead-lettered. Other 4xx for the whole request (401, 403, 404, ...) are logged as
// errors and retried too: a misconfiguration must not lose data; /health turns failing.
//
// Memory: at most `concurrency` requests are outstanding, plus the one being filled; consume()
// waits for answers when a full request cannot go out, so memory stays near concurrency ×
// max_batch_bytes (twice with gzip) plus the batches held. The batches held count against the
// sink's `buffer.max_bytes` until their requests are answered; without one set, the buffer is
// sized for `concurrency` full requests in flight plus one filling (buffer_bytes_needed()):
// with the pipeline's usual 8 MiB, two requests of 5 MiB could never be in flight together.
//
// Threads: the sink thread builds and sends requests and handles answers; the HTTP client's
// thread only hands each answer over (mutex + condition variable); with gzip, a GzipPool
// compresses each request and hands it to the transport.
//
// Shutdown: what is pending is sent and answers are awaited until most of
// SLUICE_SHUTDOWN_TIMEOUT_SECONDS has passed; events still unconfirmed then are logged and left
// unacknowledged, so that the pipeline reports them and sources do not checkpoint past them.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/backoff.hpp"
#include "base/log.hpp"
#include "core/template.hpp"
#include "net/gzip_body.hpp"
#include "net/http_client.hpp"
#include "sinks/dead_letter.hpp"
#include "sinks/elasticsearch/bulk_request.hpp"
#include "sinks/elasticsearch/bulk_response.hpp"
#include "sinks/elasticsearch/es_endpoint.hpp"
#include "sluice/sink.hpp"

namespace sluice {

struct ElasticsearchSinkOptions {
  std::string name;
  std::string data_dir;  // the dead-letter file goes below it
  net::HttpClientOptions transport;
  Template index;                       // rendered per event unless static
  std::optional<Template> id_template;  // `id: "{{ field }}"`
  es::ActionSpec action;                // slots are set by the sink's constructor
  std::string pipeline;
  bool gzip = false;
  bool dedot =
      true;  // EncodingSpec::dedot_map_keys: `app.kubernetes.io/name` → `app_kubernetes_io/name`
  size_t max_batch_bytes = 5 << 20;
  size_t max_batch_events = 10'000;
  int64_t flush_interval_ns = 1'000'000'000;
  size_t concurrency = 2;
  int64_t retry_backoff_min_ns = 100'000'000;
  int64_t retry_backoff_max_ns = 30'000'000'000;
  int64_t flush_timeout_ns = 8'000'000'000;  // shutdown: how long to wait for answers
};

class ElasticsearchSink final : public Sink {
 public:
  explicit ElasticsearchSink(ElasticsearchSinkOptions options);
  ~ElasticsearchSink() override;
  ElasticsearchSink(const ElasticsearchSink&) = delete;
  ElasticsearchSink& operator=(const ElasticsearchSink&) = delete;

  [[nodiscard]] EncodingSpec encoding() const override {
    EncodingSpec spec{EncodingSpec::Kind::Json};
    spec.dedot_map_keys = options_.dedot;
    return spec;
  }
  [[nodiscard]] std::vector<const Template*> templates() const override;
  [[nodiscard]] bool wants_event_ids() const override {
    return options_.action.id == es::IdMode::Auto;
  }
  void consume(Delivery delivery) override;
  void tick(int64_t now_ns) override;
  void shutdown() override;

  struct Totals {
    uint64_t stored = 0;
    uint64_t already_present = 0;  // 409 on `create` with an id
    uint64_t dead_lettered = 0;
    uint64_t retried_items = 0;    // items sent again (alone, or with their whole request)
    uint64_t requests = 0;         // bulk requests sent, retries included
    uint64_t failed_requests = 0;  // whole requests that failed and were retried
  };
  [[nodiscard]] Totals totals() const {
    Totals t = totals_;
    t.stored = stored_.load(std::memory_order_relaxed);
    return t;
  }
  [[nodiscard]] const ElasticsearchSinkOptions& options() const { return options_; }
  [[nodiscard]] const std::string& target() const { return target_; }
  // The pipeline buffer (`buffer.max_bytes`) this sink needs by default: the batches held by
  // `concurrency` full requests plus the one filling, plus the usual 8 MiB of queue in front.
  [[nodiscard]] int64_t buffer_bytes_needed() const override;

 private:
  // One consumed delivery: done() once each of its events is done.
  struct Held {
    Delivery delivery;
    std::atomic<uint32_t> unfinished{0};  // the transport thread finishes events too
  };
  struct Item {
    Held* held;
    uint32_t index;
  };
  struct Request {
    std::vector<Item> items;
    ByteBuffer body;        // NDJSON
    ByteBuffer compressed;  // gzip of body, when configured
    bool sealed = false;    // compressed when configured (or gzip failed): ready to go out
    uint32_t attempt = 0;   // failures so far
    int64_t opened_ns = 0;  // monotonic: the first event went in
    int64_t not_before_ns = 0;
  };
  struct Completion {
    Request* request;
    net::HttpResult result;
  };

  // Sink thread.
  bool ensure_transport(bool wait);
  void add(Held* held, uint32_t index);
  // Queues the open request for sending; waits while `concurrency` are outstanding if `wait`.
  void close_open(bool wait);
  void send_due();
  // Counts the request in flight, then compresses it (GzipPool) when configured and not yet
  // sealed, else transmits it.
  void send(Request* request);
  void transmit(Request* request);  // sink or gzip thread: hands it to the transport
  // Waits for an answer (at most until `deadline_ns`, or the next retry), then handles answers.
  void wait_for_answers(int64_t deadline_ns);
  void handle_answers();
  // Transport thread: an `errors: false` answer finishes its request there, so that batches
  // are acknowledged (and the pipeline's buffer freed) without waiting for the sink thread,
  // which may sit in its queue for a while. False: hand the answer over.
  bool finish_on_transport(Request* request, net::HttpResult& result);
  void handle(Request* request, net::HttpResult& result);
  void read_items(Request* request, const net::HttpResult& result);
  void retry_whole(Request* request, std::string_view why, int status, size_t endpoint);
  void schedule(Request* request, uint32_t attempt);  // into waiting_, after the backoff
  Request* rebuild(const Item* begin, const Item* end, uint32_t attempt);
  [[nodiscard]] size_t outstanding() const {
    return waiting_.size() + in_flight_.load(std::memory_order_acquire);
  }
  [[nodiscard]] bool has_id(const Item& item) const;
  void finish(const Item& item);
  void dead_letter(const Item& item, std::string_view reason);
  Request* acquire_request();
  void release_request(Request* request);
  Held* acquire_held();
  [[nodiscard]] uint64_t unconfirmed_events() const;

  ElasticsearchSinkOptions options_;
  std::string target_;
  es::BulkBodyBuilder builder_;
  es::BulkResponseParser parser_;
  std::unique_ptr<net::GzipPool> gzip_;  // with `compression: gzip`
  DeadLetterWriter dead_letters_;
  Backoff retry_backoff_;  // delay_for_attempt(): each request counts its own failures

  Request* open_ = nullptr;        // being filled
  std::vector<Request*> waiting_;  // sealed, to be sent once their not_before_ns has come
  std::atomic<size_t> in_flight_{0};
  bool consumed_since_tick_ = false;
  bool transport_failed_logged_ = false;

  mutable std::mutex pool_mutex_;  // guards the pools: both threads finish and release
  std::vector<std::unique_ptr<Request>> requests_;  // pooled
  std::vector<Request*> free_requests_;
  std::vector<std::unique_ptr<Held>> helds_;  // pooled
  std::vector<Held*> free_helds_;

  std::mutex answers_mutex_;  // guards answers_ and answers_epoch_ (the transport thread adds)
  std::condition_variable answers_cv_;
  std::vector<Completion> answers_;
  uint64_t answers_epoch_ = 0;               // counts answers, also those finished there
  es::BulkResponseParser transport_parser_;  // used on the transport thread only
  std::vector<Completion> handling_;         // swapped with answers_, reused

  Totals totals_;  // sink thread, except `stored`:
  std::atomic<uint64_t> stored_{0};
  log::RateLimit request_log_;
  log::RateLimit item_log_;
  log::RateLimit dead_letter_log_;

  // Last: stopped before the rest goes (the gzip threads first, they hand requests to it).
  std::unique_ptr<net::HttpClient> transport_;
};

}  // namespace sluice
