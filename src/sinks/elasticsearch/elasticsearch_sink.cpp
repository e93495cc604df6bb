#include "sinks/elasticsearch/elasticsearch_sink.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

#include "base/clock.hpp"

namespace sluice {

namespace {

constexpr std::string_view kContentType = "application/x-ndjson";
// The longest a wait for answers sleeps: timers (flush, retries) are looked at this often.
constexpr int64_t kMaxWaitNs = 100'000'000;
// The first wait after the transport failed to start (e.g. an unreadable TLS file).
constexpr int64_t kRestartBackoffMinNs = 1'000'000'000;

}  // namespace

ElasticsearchSink::ElasticsearchSink(ElasticsearchSinkOptions options)
    : options_(std::move(options)),
      target_(es::bulk_target(options_.pipeline)),
      builder_(es::ActionSpec{}),
      dead_letters_(options_.data_dir, options_.name),
      retry_backoff_(options_.retry_backoff_min_ns, options_.retry_backoff_max_ns) {
  // The HTTP client's log messages and thread are named after the sink type.
  options_.transport.name = "elasticsearch";
  options_.transport.thread_name = "sluice-es-http";
  // The slots follow the order of templates().
  int slot = 0;
  options_.action.index_slot = options_.index.is_static() ? -1 : slot++;
  options_.action.value_leads = options_.index.text().rfind("{{", 0) == 0;
  if (options_.index.is_static() && options_.action.static_index.empty()) {
    options_.action.static_index = options_.index.text();
  }
  options_.action.id_slot = options_.id_template ? slot++ : -1;
  builder_ = es::BulkBodyBuilder(options_.action);
  if (options_.gzip) {
    // More threads than requests outstanding would have nothing to do.
    size_t cores = std::max<size_t>(1, std::thread::hardware_concurrency());
    gzip_ = std::make_unique<net::GzipPool>(std::min(options_.concurrency, cores));
  }
}

ElasticsearchSink::~ElasticsearchSink() {
  // The gzip threads hand requests to the transport; answers of requests still in flight run
  // (cancelled) on the transport thread, which touches answers_: stop both before the rest goes.
  gzip_.reset();
  if (transport_) transport_->stop();
}

int64_t ElasticsearchSink::buffer_bytes_needed() const {
  // A batch costs the buffer its memory: its encoded events (less than their bulk body, which
  // adds an action line per event) in buffers grown in steps, plus rendered templates and
  // offsets; 1.5 × the body covers it (measured: ~1.2 for 200-byte events with `id: auto`).
  constexpr int64_t kQueueBytes = 8 << 20;  // the pipeline's default buffer
  auto requests = static_cast<int64_t>(options_.concurrency + 1);
  return kQueueBytes + requests * static_cast<int64_t>(options_.max_batch_bytes) * 3 / 2;
}

std::vector<const Template*> ElasticsearchSink::templates() const {
  std::vector<const Template*> out;
  if (!options_.index.is_static()) out.push_back(&options_.index);
  if (options_.id_template) out.push_back(&*options_.id_template);
  return out;
}

// --- pools --------------------------------------------------------------------------------------

ElasticsearchSink::Request* ElasticsearchSink::acquire_request() {
  Request* request;
  {
    std::lock_guard lock(pool_mutex_);
    if (free_requests_.empty()) {
      request = requests_.emplace_back(std::make_unique<Request>()).get();
    } else {
      request = free_requests_.back();
      free_requests_.pop_back();
    }
  }

  request->items.clear();
  request->body.clear();
  request->compressed.clear();
  request->sealed = false;
  request->attempt = 0;
  request->opened_ns = monotonic_ns();
  request->not_before_ns = 0;
  return request;
}

void ElasticsearchSink::release_request(Request* request) {
  std::lock_guard lock(pool_mutex_);
  free_requests_.push_back(request);
}

ElasticsearchSink::Held* ElasticsearchSink::acquire_held() {
  std::lock_guard lock(pool_mutex_);
  if (free_helds_.empty()) return helds_.emplace_back(std::make_unique<Held>()).get();
  Held* held = free_helds_.back();
  free_helds_.pop_back();
  return held;
}

void ElasticsearchSink::finish(const Item& item) {
  Held* held = item.held;
  if (held->unfinished.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  held->delivery.done();
  std::lock_guard lock(pool_mutex_);
  free_helds_.push_back(held);
}

uint64_t ElasticsearchSink::unconfirmed_events() const {
  // A pooled Held that is free has nothing unfinished.
  uint64_t events = 0;
  std::lock_guard lock(pool_mutex_);
  for (const auto& held : helds_) events += held->unfinished.load();
  return events;
}

bool ElasticsearchSink::has_id(const Item& item) const {
  const EncodedBatch& batch = item.held->delivery.batch();
  switch (options_.action.id) {
    case es::IdMode::None:
      return false;
    case es::IdMode::Auto:
      return item.index < batch.ids.size();
    case es::IdMode::Template:
      return batch.rendered_value(item.index, static_cast<size_t>(options_.action.id_slot))
                 .find(es::kMissingField) == std::string_view::npos;
  }
  return false;
}

// --- building and sending -----------------------------------------------------------------------

bool ElasticsearchSink::ensure_transport(bool wait) {
  Backoff backoff(kRestartBackoffMinNs,
                  std::max(kRestartBackoffMinNs, options_.retry_backoff_max_ns));
  while (!transport_) {
    std::string error;
    transport_ = net::HttpClient::create(options_.transport, &error);
    if (transport_) break;
    // Config was validated; what fails here is the environment (e.g. a TLS file).
    note_retry(monotonic_ns());
    if (!transport_failed_logged_) {
      log::error("elasticsearch transport could not start, retrying", "sink", options_.name,
                 "error", error);
      transport_failed_logged_ = true;
    }
    if (!wait) return false;
    std::this_thread::sleep_for(std::chrono::nanoseconds(backoff.next_delay()));
  }
  return true;
}

void ElasticsearchSink::add(Held* held, uint32_t index) {
  const EncodedBatch& batch = held->delivery.batch();
  if (open_ == nullptr) open_ = acquire_request();
  size_t before = open_->body.size();
  builder_.append(open_->body, batch, index);
  if (open_->body.size() > options_.max_batch_bytes && !open_->items.empty()) {
    // It does not fit: it opens the next request.
    open_->body.resize(before);
    close_open(true);
    open_ = acquire_request();
    builder_.append(open_->body, batch, index);
  }
  open_->items.push_back({held, index});
  if (open_->items.size() >= options_.max_batch_events ||
      open_->body.size() >= options_.max_batch_bytes) {
    close_open(true);
  }
}

void ElasticsearchSink::close_open(bool wait) {
  if (open_ == nullptr) return;
  if (open_->items.empty()) {
    release_request(open_);
    open_ = nullptr;
    return;
  }
  // Backpressure: while `concurrency` requests are outstanding, the next one waits here, and
  // the pipeline's queue fills up behind this thread.
  while (wait && outstanding() >= options_.concurrency) wait_for_answers(INT64_MAX);
  Request* request = open_;
  open_ = nullptr;
  waiting_.push_back(request);
  send_due();
}

void ElasticsearchSink::send_due() {
  if (waiting_.empty() || !transport_) return;
  int64_t now = monotonic_ns();
  size_t kept = 0;
  for (Request* request : waiting_) {
    if (in_flight_ < options_.concurrency && request->not_before_ns <= now) {
      send(request);
    } else {
      waiting_[kept++] = request;
    }
  }
  waiting_.resize(kept);
}

void ElasticsearchSink::send(Request* request) {
  in_flight_.fetch_add(1, std::memory_order_relaxed);
  ++totals_.requests;
  if (!gzip_ || request->sealed) {
    transmit(request);
    return;
  }
  // Compressed once: a request retried whole is sent again as it is.
  gzip_->submit(request->body.view(), &request->compressed,
                [this, request](bool ok, const std::string& error) {
                  request->sealed = true;
                  if (!ok) {
                    // Sent uncompressed instead (compressed left empty): nothing is lost.
                    request->compressed.clear();
                    uint64_t suppressed = 0;
                    if (request_log_.allow(&suppressed)) {
                      log::error("elasticsearch: gzip failed, sending uncompressed", "sink",
                                 options_.name, "error", error, "suppressed_logs", suppressed);
                    }
                  }
                  transmit(request);
                });
}

void ElasticsearchSink::transmit(Request* request) {
  net::HttpRequest http;
  http.target = target_;
  http.content_type = kContentType;
  if (!request->compressed.empty()) {
    http.content_encoding = "gzip";
    http.body = request->compressed.view();
  } else {
    http.body = request->body.view();
  }
  transport_->send(std::move(http), [this, request](net::HttpResult result) {
    bool finished = finish_on_transport(request, result);
    {
      std::lock_guard lock(answers_mutex_);
      if (!finished) answers_.push_back({request, std::move(result)});
      ++answers_epoch_;
    }
    answers_cv_.notify_one();
  });
}

bool ElasticsearchSink::finish_on_transport(Request* request, net::HttpResult& result) {
  if (result.cancelled ||
      es::request_fate(result.responded, result.status) != es::RequestFate::ReadItems ||
      !transport_parser_.all_stored(result.body)) {
    return false;
  }
  for (const Item& item : request->items) finish(item);
  stored_.fetch_add(request->items.size(), std::memory_order_relaxed);
  note_success();
  release_request(request);
  in_flight_.fetch_sub(1, std::memory_order_acq_rel);
  return true;
}

// --- answers ------------------------------------------------------------------------------------

void ElasticsearchSink::wait_for_answers(int64_t deadline_ns) {
  int64_t now = monotonic_ns();
  int64_t wake = std::min(deadline_ns, now + kMaxWaitNs);
  for (const Request* request : waiting_) {
    if (in_flight_ < options_.concurrency) wake = std::min(wake, request->not_before_ns);
  }
  {
    std::unique_lock lock(answers_mutex_);
    uint64_t seen = answers_epoch_;
    if (answers_.empty() && wake > now) {
      answers_cv_.wait_for(lock, std::chrono::nanoseconds(wake - now),
                           [&] { return !answers_.empty() || answers_epoch_ != seen; });
    }
  }
  handle_answers();
  send_due();
}

void ElasticsearchSink::handle_answers() {
  {
    std::lock_guard lock(answers_mutex_);
    if (answers_.empty()) return;
    std::swap(handling_, answers_);
  }
  for (Completion& completion : handling_) {
    in_flight_.fetch_sub(1, std::memory_order_acq_rel);
    handle(completion.request, completion.result);
  }
  handling_.clear();
}

void ElasticsearchSink::handle(Request* request, net::HttpResult& result) {
  // The transport was stopped (shutdown deadline): the events stay unacknowledged.
  if (result.cancelled) return;
  switch (es::request_fate(result.responded, result.status)) {
    case es::RequestFate::ReadItems: {
      es::BulkParse parse = parser_.parse(result.body, request->items.size());
      if (parse.kind == es::BulkParse::Kind::Malformed) {
        retry_whole(request, "the answer is not a valid bulk answer: " + parse.error, result.status,
                    result.endpoint);
        return;
      }
      if (parse.kind == es::BulkParse::Kind::AllStored) {  // normally finished on the transport
        for (const Item& item : request->items) finish(item);
        stored_.fetch_add(request->items.size(), std::memory_order_relaxed);
        note_success();
        release_request(request);
        return;
      }
      read_items(request, result);
      return;
    }
    case es::RequestFate::Retry:
      retry_whole(request, result.responded ? "elasticsearch is busy or failing" : result.error,
                  result.status, result.endpoint);
      return;
    case es::RequestFate::Misconfigured:
      retry_whole(request,
                  "elasticsearch refused the request (check endpoint, credentials, permissions, "
                  "pipeline): " +
                      es::body_excerpt(result.body),
                  result.status, result.endpoint);
      return;
    case es::RequestFate::Split:
      if (request->items.size() == 1) {
        dead_letter(request->items[0],
                    "413 Request Entity Too Large: the event alone exceeds "
                    "Elasticsearch's http.max_content_length");
        finish(request->items[0]);
        release_request(request);
        return;
      }
      {
        const Item* begin = request->items.data();
        const Item* middle = begin + request->items.size() / 2;
        const Item* end = begin + request->items.size();
        // Sent at once: a smaller request is a new attempt, not a repeat.
        Request* first = rebuild(begin, middle, request->attempt);
        Request* second = rebuild(middle, end, request->attempt);
        waiting_.push_back(first);
        waiting_.push_back(second);
        log::warn("elasticsearch: request too large (413), sending it in halves", "sink",
                  options_.name, "events", request->items.size(), "bytes", request->body.size());
        release_request(request);
      }
      return;
  }
}

void ElasticsearchSink::read_items(Request* request, const net::HttpResult& result) {
  const std::vector<es::ItemResult>& items = parser_.items();
  bool create = options_.action.action == es::Action::Create;
  // Items to send again are moved to the front of request->items, in order.
  size_t retry = 0;
  size_t done = 0;
  int retry_status = 0;
  for (size_t k = 0; k < items.size(); ++k) {
    const Item item = request->items[k];
    switch (es::item_fate(items[k].status, create && has_id(item))) {
      case es::ItemFate::Stored:
        stored_.fetch_add(1, std::memory_order_relaxed);
        ++done;
        finish(item);
        break;
      case es::ItemFate::AlreadyPresent:
        ++totals_.already_present;
        ++done;
        finish(item);
        break;
      case es::ItemFate::Retry:
        retry_status = items[k].status;
        request->items[retry++] = item;
        break;
      case es::ItemFate::DeadLetter: {
        std::string reason = items[k].error;
        if (reason.empty()) reason = "status " + std::to_string(items[k].status);
        dead_letter(item, reason);
        finish(item);
        break;
      }
    }
  }
  if (retry > 0) {
    note_retry(monotonic_ns());
    totals_.retried_items += retry;
    uint64_t suppressed = 0;
    if (item_log_.allow(&suppressed)) {
      log::warn("elasticsearch: items rejected for now, sending them again", "sink", options_.name,
                "items", retry, "of", items.size(), "status", retry_status, "endpoint",
                options_.transport.endpoints[result.endpoint].url, "suppressed_logs", suppressed);
    }
    schedule(rebuild(request->items.data(), request->items.data() + retry, 0),
             request->attempt + 1);
  }
  if (done > 0) note_success();
  release_request(request);
}

void ElasticsearchSink::retry_whole(Request* request, std::string_view why, int status,
                                    size_t endpoint) {
  note_retry(monotonic_ns());
  ++totals_.failed_requests;
  totals_.retried_items += request->items.size();
  uint64_t suppressed = 0;
  if (request_log_.allow(&suppressed)) {
    std::string_view url = endpoint < options_.transport.endpoints.size()
                               ? std::string_view(options_.transport.endpoints[endpoint].url)
                               : std::string_view();
    auto severity =
        status >= 300 && status < 500 && status != 429 ? log::Severity::Error : log::Severity::Warn;
    log::write(severity, "elasticsearch bulk request failed, retrying", "sink", options_.name,
               "status", status, "error", why, "endpoint", url, "events", request->items.size(),
               "attempt", request->attempt + 1, "suppressed_logs", suppressed);
  }
  schedule(request, request->attempt + 1);
}

void ElasticsearchSink::schedule(Request* request, uint32_t attempt) {
  request->attempt = attempt;
  // Capped exponential backoff with jitter, so that many senders do not hammer a recovering
  // cluster in step. Each request counts its own failures: one that keeps failing waits longer
  // while a fresh one (the failed items of an answer) starts short.
  request->not_before_ns = monotonic_ns() + retry_backoff_.delay_for_attempt(attempt);
  waiting_.push_back(request);
}

ElasticsearchSink::Request* ElasticsearchSink::rebuild(const Item* begin, const Item* end,
                                                       uint32_t attempt) {
  Request* request = acquire_request();
  request->attempt = attempt;
  for (const Item* item = begin; item != end; ++item) {
    builder_.append(request->body, item->held->delivery.batch(), item->index);
    request->items.push_back(*item);
  }
  return request;
}

void ElasticsearchSink::dead_letter(const Item& item, std::string_view reason) {
  const EncodedBatch& batch = item.held->delivery.batch();
  std::string index = builder_.index_of(batch, item.index);
  dead_letters_.write_until_stored("index", index, reason, batch.event(item.index),
                                   [&] { note_retry(monotonic_ns()); });
  ++totals_.dead_lettered;
  note_dead_lettered();
  uint64_t suppressed = 0;
  if (dead_letter_log_.allow(&suppressed)) {
    log::error("elasticsearch rejected an event, written to the dead-letter file", "sink",
               options_.name, "index", index, "error", reason, "path", dead_letters_.path(),
               "dead_lettered", totals_.dead_lettered, "suppressed_logs", suppressed);
  }
}

// --- the Sink interface (sink thread) -----------------------------------------------------------

void ElasticsearchSink::consume(Delivery delivery) {
  consumed_since_tick_ = true;
  ensure_transport(true);
  handle_answers();
  send_due();
  auto count = static_cast<uint32_t>(delivery.batch().count());
  Held* held = acquire_held();
  held->delivery = delivery;
  // +1: the delivery cannot finish before every event was added.
  held->unfinished = count + 1;
  for (uint32_t i = 0; i < count; ++i) add(held, i);
  finish(Item{held, 0});
  if (open_ != nullptr && monotonic_ns() - open_->opened_ns >= options_.flush_interval_ns) {
    close_open(true);
  }
}

void ElasticsearchSink::tick(int64_t /*now_ns*/) {
  // Called after every consume() too: a tick without a consume() since the last one means the
  // queue was empty for a while (the sink thread waited for it).
  bool idle = !consumed_since_tick_;
  consumed_since_tick_ = false;
  if (open_ == nullptr && outstanding() == 0) return;
  if (!ensure_transport(false)) return;
  handle_answers();
  send_due();
  // A partial request goes out when the queue is idle or it is old enough, but without
  // waiting here: with every slot taken it goes once an answer frees one.
  if (open_ != nullptr && outstanding() < options_.concurrency &&
      (idle || monotonic_ns() - open_->opened_ns >= options_.flush_interval_ns)) {
    close_open(false);
  }
}

void ElasticsearchSink::shutdown() {
  int64_t deadline = monotonic_ns() + options_.flush_timeout_ns;
  if (open_ != nullptr) {
    // Everything pending is queued at once; send_due() still keeps `concurrency` in flight.
    Request* request = open_;
    open_ = nullptr;
    if (request->items.empty()) {
      release_request(request);
    } else {
      waiting_.push_back(request);
    }
  }
  if (outstanding() > 0) {
    ensure_transport(false);
    send_due();
    while (outstanding() > 0 && monotonic_ns() < deadline) wait_for_answers(deadline);
  }
  uint64_t unconfirmed = unconfirmed_events();
  if (transport_) transport_->stop();
  handle_answers();  // cancelled: nothing changes
  if (unconfirmed > 0) {
    // Not acknowledged: the pipeline reports the events as unconfirmed, and sources keep their
    // checkpoints before them (a restart sends them again; with `id: auto` without duplicates).
    log::error("elasticsearch: events not confirmed before the shutdown deadline", "sink",
               options_.name, "events", unconfirmed, "requests", outstanding());
  }
  log::info("elasticsearch sink totals", "sink", options_.name, "stored", stored_.load(),
            "already_present", totals_.already_present, "dead_lettered", totals_.dead_lettered,
            "retried_items", totals_.retried_items, "requests", totals_.requests, "failed_requests",
            totals_.failed_requests);
}

}  // namespace sluice
