#include "sources/kafka/kafka_source.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstring>
#include <thread>

#include "base/clock.hpp"
#include "base/log.hpp"

namespace sluice {

namespace {

// A batch is handed on at this size, after kMaxFlushDelayNs, or as soon as the consumer queue
// runs dry: big batches under load, millisecond latency for a trickle.
constexpr size_t kBatchBytes = 256 * 1024;
constexpr int64_t kMaxFlushDelayNs = 20'000'000;
constexpr size_t kMessagesPerPoll = 2048;
// With nothing collected a poll may wait this long (it is also how late a stop() that races
// with the queue wakeup is noticed); with a batch filling, only briefly.
constexpr int kIdlePollMs = 100;
constexpr int kFillingPollMs = 2;
// How long periodic commits wait for a rebalance to finish at most (it ends sooner with the
// rebalance callback).
constexpr int64_t kRebalancePauseNs = 10'000'000'000;
// How long the commit of revoked partitions may take (the group waits for it).
constexpr int64_t kRevokeCommitTimeoutNs = 5'000'000'000;

// sluice's defaults for librdkafka; `librdkafka:` overrides any of them.
// The rebalance protocol stays librdkafka's eager default (range,roundrobin): every member
// gives up its partitions, committing what was delivered, before the group re-forms. The
// incremental `cooperative-sticky` would move fewer partitions, but librdkafka before 2.6
// declares the whole assignment lost when a manual commit meets a rebalance (confluentinc/
// librdkafka#4059), which turns every join into re-reads.
constexpr std::pair<const char*, const char*> kDefaults[] = {
    // An idle partition answers a fetch within 100 ms instead of 500 ms.
    {"fetch.wait.max.ms", "100"},
    // Prefetched messages are bounded by bytes, 32 MiB (librdkafka: 64 MiB), not by count: once
    // a limit is reached librdkafka 2.0 looks again only about once a second, so the queue must
    // hold a good part of a second's events (the count limit, 100000, is ~20 MB of small log
    // lines and halves the throughput). Raising the byte limit buys throughput for memory.
    {"queued.min.messages", "1000000"},
    {"queued.max.messages.kbytes", "32768"},
    // Fewer log lines for a broker that is down: librdkafka retries it anyway.
    {"log.connection.close", "false"},
};

// Moves `cut` back over UTF-8 continuation bytes so a piece does not end inside a character.
size_t utf8_boundary(const char* data, size_t begin, size_t cut) {
  for (size_t back = 0; back < 4 && cut - back > begin; ++back) {
    auto c = static_cast<unsigned char>(data[cut - back]);
    if ((c & 0xC0) != 0x80) return cut - back;
  }
  return cut;
}

std::string describe(const rd_kafka_topic_partition_list_t* list) {
  std::string out;
  for (int i = 0; i < list->cnt; ++i) {
    if (!out.empty()) out += ',';
    out += list->elems[i].topic;
    out += '/';
    out += std::to_string(list->elems[i].partition);
  }
  return out;
}

log::RateLimit& error_limit() {
  static log::RateLimit limit;
  return limit;
}

}  // namespace

// --- KafkaSource --------------------------------------------------------------------------------

KafkaSource::KafkaSource(KafkaSourceOptions options) : options_(std::move(options)) {}

KafkaSource::~KafkaSource() {
  if (queue_) rd_kafka_queue_destroy(queue_);
  if (rk_) {
    // Without run() there is no thread to serve a rebalance: leave the group by session timeout.
    if (closed_) {
      rd_kafka_destroy(rk_);
    } else {
      rd_kafka_destroy_flags(rk_, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    }
  }
}

bool KafkaSource::start(std::string* error) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char errstr[512];
  auto set = [&](const std::string& key, const std::string& value) {
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), errstr, sizeof errstr) ==
        RD_KAFKA_CONF_OK) {
      return true;
    }
    *error = "librdkafka property `" + key + "`: " + errstr;
    return false;
  };
  bool ok = set("client.id", "sluice-" + options_.name);
  for (const auto& [key, value] : kDefaults) ok = ok && set(key, value);
  for (const auto& [key, value] : options_.librdkafka) ok = ok && set(key, value);
  ok = ok && set("bootstrap.servers", options_.brokers) && set("group.id", options_.group_id) &&
       set("enable.auto.commit", "false") && set("enable.auto.offset.store", "false") &&
       set("auto.offset.reset", options_.from_earliest ? "earliest" : "latest");
  if (!ok) {
    rd_kafka_conf_destroy(conf);
    return false;
  }
  rd_kafka_conf_set_opaque(conf, this);
  rd_kafka_conf_set_rebalance_cb(conf, &KafkaSource::rebalance_cb);
  rd_kafka_conf_set_offset_commit_cb(conf, &KafkaSource::commit_cb);
  rd_kafka_conf_set_error_cb(conf, &KafkaSource::error_cb);
  rd_kafka_conf_set_log_cb(conf, &KafkaSource::log_cb);

  rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
  if (!rk_) {
    rd_kafka_conf_destroy(conf);  // still ours when rd_kafka_new fails
    *error = std::string("cannot create the Kafka consumer: ") + errstr;
    return false;
  }
  // Errors and commit results are served by the same poll as the messages, on run()'s thread.
  rd_kafka_poll_set_consumer(rk_);
  queue_ = rd_kafka_queue_get_consumer(rk_);

  rd_kafka_topic_partition_list_t* topics =
      rd_kafka_topic_partition_list_new(static_cast<int>(options_.topics.size()));
  for (const std::string& topic : options_.topics) {
    rd_kafka_topic_partition_list_add(topics, topic.c_str(), RD_KAFKA_PARTITION_UA);
  }
  rd_kafka_resp_err_t err = rd_kafka_subscribe(rk_, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    *error = std::string("cannot subscribe: ") + rd_kafka_err2str(err);
    return false;
  }
  for (const auto& [key, value] : options_.librdkafka) {
    if (key == "partition.assignment.strategy" && value.find("cooperative") != std::string::npos &&
        rd_kafka_version() < 0x020600ff) {
      log::warn(
          "cooperative rebalancing with this librdkafka declares assignments lost when a "
          "commit meets a rebalance (librdkafka#4059): expect events read twice on every "
          "rebalance",
          "source", options_.name, "librdkafka", rd_kafka_version_str());
    }
  }
  std::string topic_list;
  for (const auto& t : options_.topics) topic_list += (topic_list.empty() ? "" : ",") + t;
  log::info("kafka consumer started", "source", options_.name, "brokers", options_.brokers,
            "group_id", options_.group_id, "topics", topic_list);
  return true;
}

void KafkaSource::stop() {
  stopping_.store(true);
  if (queue_) rd_kafka_queue_yield(queue_);
}

int64_t KafkaSource::stop_deadline_ns(StopPhase phase) const {
  // Leave the last quarter of the time left (at most 1 s) to commit and to leave the group.
  const int64_t deadline = ctx_->shutdown_deadline_ns();
  const int64_t margin =
      std::min<int64_t>(1'000'000'000, std::max<int64_t>(0, deadline - monotonic_ns()) / 4);
  switch (phase) {
    case StopPhase::Acks:
      return deadline - margin;
    case StopPhase::Commit:
      return deadline - margin / 2;
    case StopPhase::Close:
      break;
  }
  return deadline - margin / 8;
}

void KafkaSource::run(SourceContext& ctx) {
  ctx_ = &ctx;
  messages_.resize(kMessagesPerPoll);
  int64_t next_commit_ns = monotonic_ns() + options_.commit_interval_ns;
  while (!stopping_.load(std::memory_order_relaxed) && !fatal_.load(std::memory_order_relaxed)) {
    const bool filling = batch_ != nullptr && !batch_->events.empty();
    ssize_t n = rd_kafka_consume_batch_queue(queue_, filling ? kFillingPollMs : kIdlePollMs,
                                             messages_.data(), messages_.size());
    if (n < 0) {
      log::error("kafka consume failed; the source stops", "source", options_.name, "error",
                 rd_kafka_err2str(rd_kafka_last_error()));
      break;
    }
    for (ssize_t i = 0; i < n; ++i) {
      rd_kafka_message_t* m = messages_[static_cast<size_t>(i)];
      if (m->err) {
        handle_error_message(m);
      } else {
        add_message(m);
      }
      rd_kafka_message_destroy(m);
    }
    const int64_t now = monotonic_ns();
    if (batch_ != nullptr && !batch_->events.empty() &&
        (n == 0 || batch_->bytes.size() >= kBatchBytes ||
         now - batch_started_ns_ >= kMaxFlushDelayNs)) {
      push_batch();
    }
    apply_acks();
    if (now >= next_commit_ns && !commit_in_flight_ && now >= commits_paused_until_ns_) {
      commit(0);
      next_commit_ns = now + options_.commit_interval_ns;
    }
  }

  // Stopping: what was read is handed on; once it is delivered, its offsets are committed.
  push_batch();
  const bool all = ctx.wait_for_acks(stop_deadline_ns(StopPhase::Acks));
  apply_acks();
  if (!fatal_.load()) commit(stop_deadline_ns(StopPhase::Commit));
  if (!all) {
    log::warn(
        "stopping before every event was acknowledged; their offsets are not committed "
        "and a restart reads them again",
        "source", options_.name);
  }
  // Revokes the assignment (on_revoke finds nothing left to wait for) and leaves the group, so
  // the partitions move to the other members at once.
  close_consumer(stop_deadline_ns(StopPhase::Close));
  if (batch_ != nullptr) {
    ctx.release(batch_);
    batch_ = nullptr;
  }
  ctx_ = nullptr;
  log::info("kafka consumer closed", "source", options_.name);
}

void KafkaSource::add_message(const rd_kafka_message_t* m) {
  const char* topic = rd_kafka_topic_name(m->rkt);
  KafkaOffsets::Partition* p = last_partition_;
  if (p == nullptr || p->id != m->partition || p->topic != topic) {
    p = offsets_.find(topic, m->partition);
    last_partition_ = p;
  }
  if (p == nullptr || !p->assigned) {
    // Fetched before its partition was revoked: not ours to deliver or commit any more; its
    // new owner reads it from the committed offset.
    return;
  }
  if (batch_ == nullptr) {
    batch_ = ctx_->acquire();
    batch_->bytes.reserve(kBatchBytes + kReadPadding);
  }
  const size_t len = m->len;
  // Events point into the buffer, so it must not grow under them: a message that does not fit
  // goes to the next batch.
  if (batch_->bytes.size() + len + kReadPadding > batch_->bytes.capacity()) {
    if (!batch_->events.empty()) {
      push_batch();
      batch_ = ctx_->acquire();
      batch_->bytes.reserve(kBatchBytes + kReadPadding);
    }
    batch_->bytes.reserve(len + kReadPadding);
  }
  if (batch_->events.empty()) batch_started_ns_ = monotonic_ns();
  const size_t start = batch_->bytes.size();
  if (len > 0) batch_->bytes.append(std::string_view(static_cast<const char*>(m->payload), len));
  const char* text = batch_->bytes.data() + start;

  const auto meta_first = static_cast<uint32_t>(batch_->meta.size());
  batch_->meta.push_back(Field{"kafka.topic", Value{ValueKind::String, true, p->topic}});
  batch_->meta.push_back(Field{"kafka.partition", Value{ValueKind::Number, true, p->id_text}});
  char* digits = batch_->arena.allocate(20);
  auto [end, ec] = std::to_chars(digits, digits + 20, m->offset);
  batch_->meta.push_back(Field{
      "kafka.offset",
      Value{ValueKind::Number, true, std::string_view(digits, static_cast<size_t>(end - digits))}});
  if (m->key != nullptr) {
    std::string_view key(static_cast<const char*>(m->key), m->key_len);
    batch_->meta.push_back(Field{
        "kafka.key", Value{ValueKind::String, false, key.empty() ? key : batch_->arena.copy(key)}});
  }
  const auto meta_count = static_cast<uint16_t>(batch_->meta.size() - meta_first);

  rd_kafka_timestamp_type_t type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
  const int64_t ms = rd_kafka_message_timestamp(m, &type);
  const int64_t timestamp_ns =
      type != RD_KAFKA_TIMESTAMP_NOT_AVAILABLE && ms > 0 ? ms * 1'000'000 : 0;

  // One message is one event, newlines included; only one longer than max_line_bytes is cut,
  // into pieces flagged split that share the message's metadata.
  const size_t max = options_.framer.max_line_bytes;
  size_t pos = 0;
  do {
    size_t cut = len;
    if (len - pos > max) cut = utf8_boundary(text, pos, pos + max);
    Event event;
    event.line = std::string_view(text + pos, cut - pos);
    event.timestamp_ns = timestamp_ns;
    event.offset = static_cast<uint64_t>(m->offset);
    event.flags = len > max ? kFlagSplit : 0;
    event.meta_first = meta_first;
    event.meta_count = meta_count;
    batch_->events.push_back(event);
    pos = cut;
  } while (pos < len);
  offsets_.add(*p, m->offset);
}

void KafkaSource::handle_error_message(const rd_kafka_message_t* m) {
  if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return;  // `enable.partition.eof` events
  if (m->err == RD_KAFKA_RESP_ERR__FATAL) fatal_ = true;   // error_cb says why
  uint64_t suppressed = 0;
  if (error_limit().allow(&suppressed)) {
    log::warn("kafka consumer error; librdkafka retries", "source", options_.name, "topic",
              m->rkt ? rd_kafka_topic_name(m->rkt) : "", "partition", m->partition, "error",
              rd_kafka_message_errstr(m), "suppressed", suppressed);
  }
}

void KafkaSource::push_batch() {
  if (batch_ == nullptr || batch_->events.empty()) return;
  batch_->checkpoint = offsets_.seal();
  Batch* batch = batch_;
  batch_ = nullptr;
  ctx_->push(batch);
}

void KafkaSource::apply_acks() { offsets_.apply(ctx_->acknowledged_checkpoint()); }

void KafkaSource::commit(int64_t deadline_ns, const std::vector<KafkaOffsets::Partition*>* only) {
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(8);
  auto consider = [&](KafkaOffsets::Partition& p) {
    if (!p.assigned || p.acked_next <= p.committed_next) return;
    rd_kafka_topic_partition_list_add(list, p.topic.c_str(), p.id)->offset = p.acked_next;
    // Marked at once so the next interval does not send it again; a failed commit unmarks it.
    p.committed_next = p.acked_next;
  };
  if (only != nullptr) {
    for (KafkaOffsets::Partition* p : *only) consider(*p);
  } else {
    for (KafkaOffsets::Partition& p : offsets_.partitions()) consider(p);
  }
  if (list->cnt == 0) {
    rd_kafka_topic_partition_list_destroy(list);
    return;
  }
  if (deadline_ns == 0) {
    commit_in_flight_ = true;
    rd_kafka_resp_err_t err = rd_kafka_commit(rk_, list, 1);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) on_commit_result(err, list);  // refused at once
    rd_kafka_topic_partition_list_destroy(list);
    return;
  }
  // Blocking, but never past the deadline: rd_kafka_commit() itself may wait for a coordinator
  // that is down for much longer than a shutdown may take. The result comes to a queue of its
  // own (never served once it is destroyed, so the callback cannot outlive `done`).
  struct Pending {
    KafkaSource* self;
    bool done;
  } pending{this, false};
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk_);
  rd_kafka_resp_err_t err = rd_kafka_commit_queue(
      rk_, list, queue,
      [](rd_kafka_t*, rd_kafka_resp_err_t e, rd_kafka_topic_partition_list_t* offsets,
         void* opaque) {
        auto* p = static_cast<Pending*>(opaque);
        p->self->on_commit_result(e, offsets);
        p->done = true;
      },
      &pending);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    on_commit_result(err, list);
    pending.done = true;
  }
  while (!pending.done) {
    const int64_t left_ms = (deadline_ns - monotonic_ns()) / 1'000'000;
    if (left_ms <= 0) {
      on_commit_result(RD_KAFKA_RESP_ERR__TIMED_OUT, list);
      break;
    }
    if (rd_kafka_event_t* event =
            rd_kafka_queue_poll(queue, static_cast<int>(std::min<int64_t>(left_ms, 100)))) {
      if (rd_kafka_event_type(event) == RD_KAFKA_EVENT_OFFSET_COMMIT) {
        on_commit_result(rd_kafka_event_error(event), rd_kafka_event_topic_partition_list(event));
        pending.done = true;
      }
      rd_kafka_event_destroy(event);
    }
  }
  rd_kafka_queue_destroy(queue);
  rd_kafka_topic_partition_list_destroy(list);
}

void KafkaSource::close_consumer(int64_t deadline_ns) {
  // rd_kafka_consumer_close() may block for a session timeout when the coordinator is down;
  // the asynchronous close is served here until the deadline instead.
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk_);
  if (rd_kafka_error_t* e = rd_kafka_consumer_close_queue(rk_, queue)) {
    log::warn("kafka consumer close failed", "source", options_.name, "error",
              rd_kafka_error_string(e));
    rd_kafka_error_destroy(e);
  } else {
    while (!rd_kafka_consumer_closed(rk_)) {
      const int64_t left_ms = (deadline_ns - monotonic_ns()) / 1'000'000;
      if (left_ms <= 0) {
        log::warn(
            "leaving the kafka group did not finish in time; the group notices by session "
            "timeout",
            "source", options_.name);
        break;
      }
      rd_kafka_event_t* event =
          rd_kafka_queue_poll(queue, static_cast<int>(std::min<int64_t>(left_ms, 100)));
      if (event == nullptr) continue;
      if (rd_kafka_event_type(event) == RD_KAFKA_EVENT_REBALANCE) {
        rebalance_cb(rk_, rd_kafka_event_error(event), rd_kafka_event_topic_partition_list(event),
                     this);
      }
      rd_kafka_event_destroy(event);
    }
  }
  closed_ = rd_kafka_consumer_closed(rk_) != 0;
  rd_kafka_queue_destroy(queue);
}

void KafkaSource::on_commit_result(rd_kafka_resp_err_t err,
                                   const rd_kafka_topic_partition_list_t* offsets) {
  commit_in_flight_ = false;
  if (err == RD_KAFKA_RESP_ERR__NO_OFFSET) return;  // nothing was due
  if (err == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS ||
      err == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION || err == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID) {
    commits_paused_until_ns_ = monotonic_ns() + kRebalancePauseNs;
  }
  bool failed = false;
  for (int i = 0; offsets != nullptr && i < offsets->cnt; ++i) {
    const rd_kafka_topic_partition_t& tp = offsets->elems[i];
    rd_kafka_resp_err_t e = err != RD_KAFKA_RESP_ERR_NO_ERROR ? err : tp.err;
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    failed = true;
    // Sent again at the next interval, while the partition is still ours.
    KafkaOffsets::Partition* p = offsets_.find(tp.topic, tp.partition);
    if (p != nullptr && p->committed_next == tp.offset) p->committed_next = -1;
  }
  if (offsets == nullptr) {
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return;
  } else if (!failed && err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    log::debug("offsets committed", "source", options_.name, "partitions", describe(offsets));
    return;
  }
  uint64_t suppressed = 0;
  if (error_limit().allow(&suppressed)) {
    log::warn(
        "offset commit failed; retried while the partitions are assigned (at worst, "
        "events are read again)",
        "source", options_.name, "error", rd_kafka_err2str(err), "partitions",
        offsets ? describe(offsets) : "", "suppressed", suppressed);
  }
}

void KafkaSource::on_assign(rd_kafka_topic_partition_list_t* partitions) {
  for (int i = 0; i < partitions->cnt; ++i) {
    offsets_.assign(offsets_.get(partitions->elems[i].topic, partitions->elems[i].partition));
  }
  last_partition_ = nullptr;
  log::info("kafka partitions assigned", "source", options_.name, "partitions",
            describe(partitions));
  // Offsets are left unset: each partition resumes at the group's committed offset, else at
  // auto_offset_reset.
  if (std::strcmp(rd_kafka_rebalance_protocol(rk_), "COOPERATIVE") == 0) {
    if (rd_kafka_error_t* e = rd_kafka_incremental_assign(rk_, partitions)) {
      log::error("kafka incremental assign failed", "source", options_.name, "error",
                 rd_kafka_error_string(e));
      rd_kafka_error_destroy(e);
    }
  } else {
    rd_kafka_assign(rk_, partitions);
  }
}

void KafkaSource::on_revoke(rd_kafka_topic_partition_list_t* partitions) {
  std::vector<KafkaOffsets::Partition*> revoked;
  uint64_t needed = 0;
  for (int i = 0; i < partitions->cnt; ++i) {
    KafkaOffsets::Partition* p =
        offsets_.find(partitions->elems[i].topic, partitions->elems[i].partition);
    if (p == nullptr || !p->assigned) continue;
    revoked.push_back(p);
    needed = std::max(needed, p->last_checkpoint);
  }
  const bool lost = rd_kafka_assignment_lost(rk_) != 0;
  if (lost) {
    // Another member may own them already: a commit from us would be refused or wrong.
    log::warn(
        "kafka partitions lost (session timed out?); events not yet committed are read "
        "again by their new owner",
        "source", options_.name, "partitions", describe(partitions));
  } else if (ctx_ != nullptr && !revoked.empty()) {
    // Hand over cleanly: what was read from them is delivered, then committed, so the next
    // owner starts right after it.
    push_batch();
    int64_t deadline = monotonic_ns() + options_.revoke_timeout_ns;
    while (ctx_->acknowledged_checkpoint() < needed) {
      if (stopping_.load()) deadline = std::min(deadline, stop_deadline_ns(StopPhase::Acks));
      if (monotonic_ns() >= deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    apply_acks();
    if (ctx_->acknowledged_checkpoint() < needed) {
      log::warn(
          "kafka partitions handed over before every event read from them was "
          "acknowledged; their new owner reads those again",
          "source", options_.name, "partitions", describe(partitions));
    }
    int64_t commit_deadline = monotonic_ns() + kRevokeCommitTimeoutNs;
    if (stopping_.load())
      commit_deadline = std::min(commit_deadline, stop_deadline_ns(StopPhase::Commit));
    if (!fatal_.load()) commit(commit_deadline, &revoked);
  }
  for (KafkaOffsets::Partition* p : revoked) offsets_.revoke(*p);
  last_partition_ = nullptr;
  log::info("kafka partitions revoked", "source", options_.name, "partitions",
            describe(partitions));
  if (std::strcmp(rd_kafka_rebalance_protocol(rk_), "COOPERATIVE") == 0) {
    if (rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk_, partitions)) {
      log::error("kafka incremental unassign failed", "source", options_.name, "error",
                 rd_kafka_error_string(e));
      rd_kafka_error_destroy(e);
    }
  } else {
    rd_kafka_assign(rk_, nullptr);
  }
}

// --- librdkafka callbacks (served by rd_kafka_consume_batch_queue / close on run()'s thread) --

void KafkaSource::rebalance_cb(rd_kafka_t* /*rk*/, rd_kafka_resp_err_t err,
                               rd_kafka_topic_partition_list_t* partitions, void* opaque) {
  auto* self = static_cast<KafkaSource*>(opaque);
  self->commits_paused_until_ns_ = 0;  // the rebalance is done; the generation is current
  switch (err) {
    case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
      self->on_assign(partitions);
      break;
    case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
      self->on_revoke(partitions);
      break;
    default:
      log::error("kafka rebalance failed; dropping the assignment", "source", self->options_.name,
                 "error", rd_kafka_err2str(err));
      for (auto& p : self->offsets_.partitions()) {
        if (p.assigned) self->offsets_.revoke(p);
      }
      self->last_partition_ = nullptr;
      rd_kafka_assign(self->rk_, nullptr);
      break;
  }
}

void KafkaSource::commit_cb(rd_kafka_t* /*rk*/, rd_kafka_resp_err_t err,
                            rd_kafka_topic_partition_list_t* offsets, void* opaque) {
  static_cast<KafkaSource*>(opaque)->on_commit_result(err, offsets);
}

void KafkaSource::error_cb(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  auto* self = static_cast<KafkaSource*>(opaque);
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    char fatal[512];
    rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, fatal, sizeof fatal);
    log::error("kafka consumer failed fatally; the source stops", "source", self->options_.name,
               "error", rd_kafka_err2name(orig), "reason", fatal);
    self->fatal_ = true;
    return;
  }
  uint64_t suppressed = 0;
  if (error_limit().allow(&suppressed)) {
    log::warn("kafka error; librdkafka retries", "source", self->options_.name, "error",
              rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)), "reason", reason,
              "suppressed", suppressed);
  }
}

void KafkaSource::log_cb(const rd_kafka_t* rk, int level, const char* facility,
                         const char* message) {
  // librdkafka's own threads call this: sluice's log is thread-safe.
  const char* name = rk ? rd_kafka_name(rk) : "";
  if (level <= 4) {
    static log::RateLimit limit;
    uint64_t suppressed = 0;
    if (limit.allow(&suppressed)) {
      log::warn("librdkafka", "client", name, "facility", facility, "message", message,
                "suppressed", suppressed);
    }
  } else if (level <= 6) {
    log::info("librdkafka", "client", name, "facility", facility, "message", message);
  } else {
    log::debug("librdkafka", "client", name, "facility", facility, "message", message);
  }
}

}  // namespace sluice
