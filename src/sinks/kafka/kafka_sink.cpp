#include "sinks/kafka/kafka_sink.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "base/clock.hpp"

namespace sluice {

namespace {

constexpr int kPollWaitMs = 50;
// The first wait after the producer failed to start (or to be recreated).
constexpr int64_t kRestartBackoffMinNs =
    1'000'000'000;  // queue full / draining: wait this long for reports at a time
// Per-message framing that counts against message.max.bytes besides key, value and headers
// (record batch header and record fields), rounded up.
constexpr size_t kRecordOverhead = 128;

// Errors that another attempt cannot fix: the message goes to the dead-letter file.
bool is_permanent(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_INVALID_TIMESTAMP:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR_INVALID_REQUIRED_ACKS:
    case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    case RD_KAFKA_RESP_ERR__BAD_MSG:
      return true;
    default:
      return false;
  }
}

std::string describe(rd_kafka_resp_err_t err) {
  return std::string(rd_kafka_err2name(err)) + ": " + rd_kafka_err2str(err);
}

// Sleeps until `wake_ns` (monotonic).
void sleep_until(int64_t wake_ns) {
  for (int64_t now = monotonic_ns(); now < wake_ns; now = monotonic_ns()) {
    std::this_thread::sleep_for(
        std::chrono::nanoseconds(std::min<int64_t>(wake_ns - now, 100'000'000)));
  }
}

std::string_view without_newline(std::string_view event) {
  if (!event.empty() && event.back() == '\n') event.remove_suffix(1);
  return event;
}

}  // namespace

rd_kafka_conf_t* make_kafka_conf(const std::vector<std::pair<std::string, std::string>>& settings,
                                 std::string* failed_key, std::string* error) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char errstr[512];
  for (const auto& [key, value] : settings) {
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK) {
      *failed_key = key;
      *error = errstr;
      rd_kafka_conf_destroy(conf);
      return nullptr;
    }
  }
  return conf;
}

KafkaSink::KafkaSink(KafkaSinkOptions options)
    : options_(std::move(options)),
      backoff_(options_.retry_backoff_min_ns, options_.retry_backoff_max_ns),
      dead_letters_(options_.data_dir, options_.name) {
  vu_.reserve(8 + options_.headers.size());
}

KafkaSink::~KafkaSink() { stop_producer(); }

std::vector<const Template*> KafkaSink::templates() const {
  // The order here is the order of EncodedBatch::rendered_value(event, i) below.
  std::vector<const Template*> out;
  if (!options_.topic.is_static()) out.push_back(&options_.topic);
  if (options_.key && !options_.key->is_static()) out.push_back(&*options_.key);
  for (const auto& [name, value] : options_.headers) out.push_back(&value);
  return out;
}

KafkaSink::Totals KafkaSink::totals() const {
  return {delivered_.load(), dead_lettered_.load(), truncated_.load(), requeued_.load()};
}

// --- the producer instance ----------------------------------------------------------------------

bool KafkaSink::start(std::string* error) {
  std::string key;
  rd_kafka_conf_t* conf = make_kafka_conf(options_.librdkafka, &key, error);
  if (conf == nullptr) return false;
  rd_kafka_conf_set_opaque(conf, this);
  rd_kafka_conf_set_dr_msg_cb(conf, &KafkaSink::delivery_callback);
  rd_kafka_conf_set_error_cb(conf, &KafkaSink::error_callback);
  rd_kafka_conf_set_log_cb(conf, &KafkaSink::log_callback);
  char value[64];
  size_t size = sizeof value;
  if (rd_kafka_conf_get(conf, "message.max.bytes", value, &size) == RD_KAFKA_CONF_OK) {
    message_max_bytes_ = static_cast<size_t>(std::strtoull(value, nullptr, 10));
  }
  size = sizeof value;
  if (rd_kafka_conf_get(conf, "message.timeout.ms", value, &size) == RD_KAFKA_CONF_OK) {
    message_timeout_ns_ = std::strtoll(value, nullptr, 10) * 1'000'000;
  }
  char errstr[512];
  rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (rk_ == nullptr) {  // on failure the conf is still ours
    rd_kafka_conf_destroy(conf);
    *error = errstr;
    return false;
  }
  fatal_ = false;
  stop_polling_ = false;
  poller_ = std::thread([this] { poll_loop(); });
  return true;
}

void KafkaSink::poll_loop() {
  while (!stop_polling_.load(std::memory_order_relaxed)) {
    // Only the sink thread purges, and only once it has stopped producing: a purge running
    // while it produces would take back a message but not the ones produced right after it.
    if (rd_kafka_poll(rk_, 100) > 0) {
      {
        std::lock_guard lock(reports_mutex_);
        ++reports_epoch_;
      }
      reports_cv_.notify_all();
    }
  }
}

void KafkaSink::stop_producer() {
  if (rk_ == nullptr) return;
  stop_polling_ = true;
  if (poller_.joinable()) poller_.join();
  // Whatever is still queued is reported (and ignored: closing_) before the handle goes.
  closing_ = true;
  rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_poll(rk_, 0);
  for (auto& [name, rkt] : topics_) rd_kafka_topic_destroy(rkt);
  topics_.clear();
  last_topic_ = nullptr;
  last_topic_name_.clear();
  rd_kafka_destroy(rk_);
  rk_ = nullptr;
  closing_ = false;
}

rd_kafka_topic_t* KafkaSink::topic_handle(std::string_view name) {
  if (last_topic_ != nullptr && name == last_topic_name_) return last_topic_;
  auto it = topics_.find(name);
  if (it == topics_.end()) {
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk_, std::string(name).c_str(), nullptr);
    if (rkt == nullptr) return nullptr;  // invalid name: the caller dead-letters
    it = topics_.emplace(std::string(name), rkt).first;
  }
  last_topic_ = it->second;
  last_topic_name_.assign(name);
  return last_topic_;
}

// --- batches ------------------------------------------------------------------------------------

KafkaSink::InFlight* KafkaSink::acquire() {
  live_.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(pool_mutex_);
  if (free_.empty()) {
    InFlight* batch = all_.emplace_back(std::make_unique<InFlight>()).get();
    batch->live.store(true, std::memory_order_release);
    return batch;
  }
  InFlight* batch = free_.back();
  free_.pop_back();
  batch->live.store(true, std::memory_order_release);
  return batch;
}

void KafkaSink::release(InFlight* batch) {
  batch->delivery = Delivery();
  batch->live.store(false, std::memory_order_release);
  live_.fetch_sub(1, std::memory_order_relaxed);
  std::lock_guard lock(pool_mutex_);
  free_.push_back(batch);
}

void KafkaSink::finish_one(InFlight* batch) {
  if (batch->unfinished.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  batch->delivery.done();
  release(batch);
}

void KafkaSink::dead_letter(InFlight* batch, uint32_t index, std::string_view topic,
                            std::string_view reason) {
  std::string_view event = batch->delivery.batch().event(index);
  std::lock_guard lock(dead_letter_mutex_);
  dead_letters_.write_until_stored("topic", topic, reason, event,
                                   [&] { note_retry(monotonic_ns()); });
  uint64_t total = dead_lettered_.fetch_add(1, std::memory_order_relaxed) + 1;
  note_dead_lettered();
  uint64_t suppressed = 0;
  if (dead_letter_log_.allow(&suppressed)) {
    log::error("kafka rejected an event, written to the dead-letter file", "sink", options_.name,
               "topic", topic, "error", reason, "path", dead_letters_.path(), "dead_lettered",
               total, "suppressed_logs", suppressed);
  }
}

// --- producing ----------------------------------------------------------------------------------

KafkaSink::Produced KafkaSink::produce(InFlight* batch, uint32_t index) {
  const EncodedBatch& encoded = batch->delivery.batch();
  std::string_view value = without_newline(encoded.event(index));
  size_t slot = 0;
  std::string_view topic = options_.topic.text();
  if (!options_.topic.is_static()) {
    topic = encoded.rendered_value(index, slot++);
    if (topic.find(kKafkaMissingField) != std::string_view::npos) topic = options_.default_topic;
  }
  std::string_view key;
  if (options_.key) {
    key = options_.key->is_static() ? std::string_view(options_.key->text())
                                    : encoded.rendered_value(index, slot++);
    if (key == kKafkaMissingField) key = {};
  }
  rd_kafka_topic_t* rkt = topic_handle(topic);
  if (rkt == nullptr) {
    dead_letter(batch, index, topic, "invalid topic name");
    finish_one(batch);
    return Produced::Yes;
  }
  vu_.clear();
  vu_.push_back({RD_KAFKA_VTYPE_RKT, {.rkt = rkt}});
  vu_.push_back({RD_KAFKA_VTYPE_PARTITION, {.i32 = RD_KAFKA_PARTITION_UA}});
  vu_.push_back({RD_KAFKA_VTYPE_OPAQUE, {.ptr = batch}});
  rd_kafka_vu_t entry{RD_KAFKA_VTYPE_VALUE, {}};
  // Zero copy: librdkafka reads the batch's memory until the delivery report.
  entry.u.mem = {const_cast<char*>(value.data()), value.size()};
  vu_.push_back(entry);
  constexpr size_t kValueSlot = 3;
  if (!key.empty()) {
    entry = {RD_KAFKA_VTYPE_KEY, {}};
    entry.u.mem = {const_cast<char*>(key.data()), key.size()};
    vu_.push_back(entry);
  }
  size_t headers_size = 0;
  for (const auto& header : options_.headers) {
    std::string_view v = encoded.rendered_value(index, slot++);
    if (v == kKafkaMissingField) continue;
    entry = {RD_KAFKA_VTYPE_HEADER, {}};
    entry.u.header = {header.first.c_str(), v.data(), static_cast<ssize_t>(v.size())};
    vu_.push_back(entry);
    headers_size += header.first.size() + v.size();
  }
  bool truncated = false;
  // Counted before the call: the delivery report may come (on the poll thread) before it returns.
  in_librdkafka_.fetch_add(1, std::memory_order_relaxed);
  while (true) {
    rd_kafka_error_t* error = rd_kafka_produceva(rk_, vu_.data(), vu_.size());
    if (error == nullptr) break;
    rd_kafka_resp_err_t code = rd_kafka_error_code(error);
    rd_kafka_error_destroy(error);
    if (code == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      // Backpressure: wait for delivery reports to make room; meanwhile the pipeline's queue
      // fills up behind us (when_full applies).
      wait_for_reports(kPollWaitMs);
      if (!collect_returned() && !must_hold_back(monotonic_ns())) continue;
      in_librdkafka_.fetch_sub(1, std::memory_order_relaxed);
      return Produced::Interrupted;
    }
    size_t overhead = key.size() + headers_size + kRecordOverhead;
    size_t limit = message_max_bytes_ > overhead ? message_max_bytes_ - overhead : 0;
    if (code == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE &&
        options_.too_large == KafkaSinkOptions::TooLarge::Truncate && !truncated && limit > 0 &&
        value.size() > limit) {
      value = value.substr(0, limit);
      vu_[kValueSlot].u.mem.size = value.size();
      truncated = true;
      continue;
    }
    in_librdkafka_.fetch_sub(1, std::memory_order_relaxed);
    if (is_permanent(code)) {
      dead_letter(batch, index, topic, describe(code));
      finish_one(batch);
      return Produced::Yes;
    }
    // Anything else is taken as transient (__FATAL: the producer is replaced first): produce
    // again after the backoff, in order.
    if (code == RD_KAFKA_RESP_ERR__FATAL) fatal_ = true;
    note_retry(monotonic_ns());
    requeue_.push_back({batch, index});
    return Produced::Requeued;
  }
  if (truncated) truncated_.fetch_add(1, std::memory_order_relaxed);
  return Produced::Yes;
}

bool KafkaSink::start_with_retry(int64_t deadline_ns, bool recreating) {
  Backoff backoff(kRestartBackoffMinNs,
                  std::max(kRestartBackoffMinNs, options_.retry_backoff_max_ns));
  std::string error;
  while (!start(&error)) {
    if (recreating) {
      log::error("kafka producer could not be recreated, retrying", "sink", options_.name, "error",
                 error);
    } else {
      note_retry(monotonic_ns());
      if (!start_failed_logged_) {
        log::error("kafka producer could not start, retrying", "sink", options_.name, "error",
                   error);
        start_failed_logged_ = true;
      }
    }
    if (monotonic_ns() >= deadline_ns) return false;
    sleep_until(std::min(monotonic_ns() + backoff.next_delay(), deadline_ns));
    error.clear();
  }
  return true;
}

bool KafkaSink::collect_returned() {
  std::lock_guard lock(reports_mutex_);
  if (!returned_.empty()) {
    requeue_.insert(requeue_.end(), returned_.begin(), returned_.end());
    returned_.clear();
  }
  returned_pending_.store(false, std::memory_order_relaxed);
  return !requeue_.empty();
}

void KafkaSink::wait_for_reports(int ms) {
  std::unique_lock lock(reports_mutex_);
  uint64_t seen = reports_epoch_;
  reports_cv_.wait_for(lock, std::chrono::milliseconds(ms), [&] { return reports_epoch_ != seen; });
}

// --- delivery reports (poll thread) -------------------------------------------------------------

void KafkaSink::delivery_callback(rd_kafka_t* /*rk*/, const rd_kafka_message_t* message,
                                  void* opaque) {
  static_cast<KafkaSink*>(opaque)->on_delivery(message);
}

void KafkaSink::on_delivery(const rd_kafka_message_t* message) {
  auto* batch = static_cast<InFlight*>(message->_private);
  if (closing_.load(std::memory_order_relaxed)) {
    in_librdkafka_.fetch_sub(1, std::memory_order_relaxed);
    return;  // the producer is being destroyed: these stay unacknowledged
  }
  if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    delivered_.fetch_add(1, std::memory_order_relaxed);
    delivered_since_backoff_.store(true, std::memory_order_relaxed);
    note_success();
    finish_one(batch);
  } else {
    // Which event: the payload points into the batch (no copy), and events are contiguous.
    const EncodedBatch& encoded = batch->delivery.batch();
    auto offset =
        static_cast<uint32_t>(static_cast<const char*>(message->payload) - encoded.data.data());
    auto index = static_cast<uint32_t>(
        std::upper_bound(encoded.ends.begin(), encoded.ends.end(), offset) - encoded.ends.begin());
    if (is_permanent(message->err)) {
      dead_letter(batch, index, rd_kafka_topic_name(message->rkt), describe(message->err));
      finish_one(batch);
    } else {
      if (message->err == RD_KAFKA_RESP_ERR__FATAL) fatal_ = true;
      // Purged by recover() itself: not a failure of its own, just back in line.
      if (message->err != RD_KAFKA_RESP_ERR__PURGE_QUEUE) {
        note_retry(monotonic_ns());
        uint64_t suppressed = 0;
        if (error_log_.allow(&suppressed)) {
          log::warn("kafka delivery failed, will produce again", "sink", options_.name, "topic",
                    rd_kafka_topic_name(message->rkt), "error", describe(message->err),
                    "suppressed_logs", suppressed);
        }
      }
      std::lock_guard lock(reports_mutex_);
      returned_.push_back({batch, index});
      returned_pending_.store(true, std::memory_order_relaxed);
    }
  }
  // Last: the sink thread may take "nothing in flight" as the end of this report.
  in_librdkafka_.fetch_sub(1, std::memory_order_release);
}

void KafkaSink::error_callback(rd_kafka_t* /*rk*/, int code, const char* reason, void* opaque) {
  static_cast<KafkaSink*>(opaque)->on_error(code, reason);
}

void KafkaSink::on_error(int code, const char* reason) {
  auto err = static_cast<rd_kafka_resp_err_t>(code);
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    char text[512];
    rd_kafka_resp_err_t original = rd_kafka_fatal_error(rk_, text, sizeof text);
    log::error("kafka producer hit a fatal error, it will be recreated", "sink", options_.name,
               "error", describe(original), "reason", text);
    fatal_ = true;
    return;
  }
  // Connection trouble: librdkafka reconnects and retries by itself; count the attempt.
  note_retry(monotonic_ns());
  uint64_t suppressed = 0;
  if (error_log_.allow(&suppressed)) {
    log::warn("kafka error, librdkafka retries", "sink", options_.name, "error", describe(err),
              "reason", reason, "suppressed_logs", suppressed);
  }
}

void KafkaSink::log_callback(const rd_kafka_t* rk, int level, const char* facility,
                             const char* text) {
  // librdkafka logs from its own threads: forward warnings and errors, rate-limited.
  static log::RateLimit limit;
  uint64_t suppressed = 0;
  if (level > 4 || !limit.allow(&suppressed)) return;
  log::warn("librdkafka", "client", rd_kafka_name(rk), "facility", facility, "text", text,
            "suppressed_logs", suppressed);
}

// --- transient failures: produce again, in order (sink thread) ----------------------------------

bool KafkaSink::wait_until_nothing_in_flight(int64_t deadline_ns) {
  while (in_librdkafka_.load(std::memory_order_acquire) > 0) {
    if (monotonic_ns() >= deadline_ns) return false;
    wait_for_reports(kPollWaitMs);
  }
  collect_returned();
  return true;
}

bool KafkaSink::must_hold_back(int64_t now_ns) const {
  if (message_timeout_ns_ <= 0) return false;
  // librdkafka retries everything transient until the timeout, so a message can only come back
  // from then on: the oldest possible timeout among the batches held decides. (Every message
  // outstanding was produced at or after its batch's consume() and the last recover() round:
  // the estimate is never later than the truth.) The sink thread alone grows all_.
  int64_t oldest = INT64_MAX;
  for (const auto& batch : all_) {
    if (batch->live.load(std::memory_order_acquire)) {
      oldest = std::min(oldest, std::max(batch->produced_ns, round_ns_));
    }
  }
  int64_t margin = std::min<int64_t>(1'000'000'000, message_timeout_ns_ / 10);
  return oldest != INT64_MAX && now_ns >= oldest + message_timeout_ns_ - margin;
}

void KafkaSink::hold_back() {
  while (!returned_pending_.load(std::memory_order_relaxed) && must_hold_back(monotonic_ns())) {
    wait_for_reports(kPollWaitMs);
  }
}

bool KafkaSink::recover(int64_t deadline_ns) {
  while (collect_returned()) {
    // Nothing new may overtake what came back: take back what librdkafka has not sent yet and
    // wait for the fate of what is in flight.
    // After a fatal error the instance sends nothing more: take back what is in flight too.
    rd_kafka_purge(
        rk_, fatal_ ? RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT : RD_KAFKA_PURGE_F_QUEUE);
    if (!wait_until_nothing_in_flight(deadline_ns)) return false;
    if (fatal_) {
      stop_producer();
      if (!start_with_retry(deadline_ns, /*recreating=*/true)) return false;
    }
    std::sort(requeue_.begin(), requeue_.end(), [](const Requeue& a, const Requeue& b) {
      return a.batch->order != b.batch->order ? a.batch->order < b.batch->order : a.index < b.index;
    });
    // Capped exponential backoff with jitter, so that many sinks do not hammer a recovering
    // cluster in step. A delivery in between resets it.
    if (delivered_since_backoff_.exchange(false, std::memory_order_relaxed)) backoff_.reset();
    sleep_until(std::min(monotonic_ns() + backoff_.next_delay(), deadline_ns));
    if (monotonic_ns() >= deadline_ns) return false;
    reproducing_.clear();
    std::swap(reproducing_, requeue_);
    round_ns_ = monotonic_ns();
    log::info("kafka: producing again after transient failures", "sink", options_.name, "messages",
              reproducing_.size());
    for (size_t k = 0; k < reproducing_.size(); ++k) {
      // A new failure (checked before each message, as in consume()): what is not produced yet
      // goes back in line, and the next round purges, waits and sorts everything again.
      Produced produced = returned_pending_.load(std::memory_order_relaxed)
                              ? Produced::Interrupted
                              : produce(reproducing_[k].batch, reproducing_[k].index);
      if (produced != Produced::Interrupted) requeued_.fetch_add(1, std::memory_order_relaxed);
      if (produced == Produced::Yes) continue;
      size_t rest = produced == Produced::Requeued ? k + 1 : k;
      requeue_.insert(requeue_.end(), reproducing_.begin() + static_cast<ptrdiff_t>(rest),
                      reproducing_.end());
      break;
    }
    reproducing_.clear();
  }
  return true;
}

// --- the Sink interface (sink thread) -----------------------------------------------------------

void KafkaSink::consume(Delivery delivery) {
  // Config was validated; what fails here is the environment (e.g. a TLS file).
  if (rk_ == nullptr) start_with_retry(INT64_MAX, /*recreating=*/false);
  // Nothing new while an older message may still time out and come back (finite timeouts).
  hold_back();
  InFlight* batch = acquire();
  batch->delivery = delivery;
  batch->order = next_order_++;
  batch->produced_ns = monotonic_ns();
  auto count = static_cast<uint32_t>(delivery.batch().count());
  // +1: the batch cannot finish before every message was handed over.
  batch->unfinished.store(count + 1, std::memory_order_relaxed);
  for (uint32_t i = 0; i < count;) {
    // Checked per event: once something came back, nothing new may be produced before it.
    if (returned_pending_.load(std::memory_order_relaxed) || !requeue_.empty()) {
      recover(INT64_MAX);
      continue;  // event i was not produced yet: it comes after everything requeued
    }
    if (produce(batch, i) == Produced::Interrupted) {
      hold_back();
    } else {
      ++i;
    }
  }
  finish_one(batch);
  if (collect_returned()) recover(INT64_MAX);
}

void KafkaSink::tick(int64_t /*now_ns*/) {
  if (rk_ != nullptr && collect_returned()) recover(INT64_MAX);
}

void KafkaSink::shutdown() {
  if (rk_ != nullptr) {
    int64_t deadline = monotonic_ns() + options_.flush_timeout_ns;
    while (monotonic_ns() < deadline) {
      if (collect_returned() && !recover(deadline)) break;
      if (in_librdkafka_.load(std::memory_order_acquire) == 0 && !collect_returned()) break;
      wait_for_reports(kPollWaitMs);
    }
    collect_returned();
    uint64_t undelivered = in_librdkafka_.load() + requeue_.size();
    if (undelivered > 0) {
      // Not acknowledged: the pipeline reports the events as unconfirmed and exits non-zero.
      // The producer stays: its messages point into batches that are never given back.
      log::error("kafka: messages not delivered before the shutdown deadline", "sink",
                 options_.name, "messages", undelivered, "batches", live_.load());
    } else {
      stop_producer();
    }
  }
  Totals t = totals();
  log::info("kafka sink totals", "sink", options_.name, "delivered", t.delivered, "dead_lettered",
            t.dead_lettered, "truncated", t.truncated, "requeued", t.requeued);
}

}  // namespace sluice
