#pragma once
// `kafka`: the aggregator tier. A consumer in a consumer group (librdkafka's high-level
// consumer) turns every message into one event for the normal parsing path, with the message's
// topic, partition, offset and key as `kafka.*` metadata and its timestamp as the fallback time.
//
// At-least-once: librdkafka never commits on its own. Each pushed batch records, per
// partition, the offset after its last message; once every sink has acknowledged that batch
// and all before it, those offsets become committable, and they are committed every
// `commit_interval`, when partitions are revoked, and at shutdown. A restart or a new owner of
// a partition resumes at the commit: events delivered after it are read again (duplicates),
// none is lost.
#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <librdkafka/rdkafka.h>

#include "parse/framer.hpp"
#include "sluice/source.hpp"

namespace sluice {

struct KafkaSourceOptions {
  std::string name;
  std::string brokers;  // bootstrap.servers
  std::string group_id;
  std::vector<std::string> topics;  // `^…` = a regex subscription (librdkafka's syntax)
  bool from_earliest = false;       // auto.offset.reset for partitions without a commit
  int64_t commit_interval_ns = 1'000'000'000;
  // How long a member losing partitions in a rebalance waits for their events to be
  // acknowledged before handing them over (what is not is read again by the next owner).
  int64_t revoke_timeout_ns = 10'000'000'000;
  // librdkafka properties, applied after sluice's defaults (TLS, SASL, session.timeout.ms...).
  std::vector<std::pair<std::string, std::string>> librdkafka;
  FramerOptions framer;  // max_line_bytes: longer messages are cut into pieces flagged split
};

// Which offsets may be committed, per partition. Batches are recorded as they are pushed;
// apply() moves each partition's committable offset over the batches the pipeline reports
// acknowledged. A partition's `epoch` changes when it is revoked (and again when assigned), so
// acknowledgements of batches read under an earlier assignment never move a commit: another
// member may own the partition now, and its commits must not be overwritten. Single-threaded.
class KafkaOffsets {
 public:
  struct Partition {
    std::string topic;
    int32_t id = 0;
    std::string id_text;  // `kafka.partition` of every event (stable storage)
    uint32_t epoch = 0;
    bool assigned = false;
    int64_t acked_next = -1;       // offset after the last acknowledged message; -1 = none
    int64_t committed_next = -1;   // what was last sent in a commit; -1 = nothing yet
    uint64_t last_checkpoint = 0;  // the newest recorded batch holding this partition's messages
  };

  // The partition's state, created on first use (addresses stay valid).
  Partition& get(std::string_view topic, int32_t id);
  [[nodiscard]] Partition* find(std::string_view topic, int32_t id);
  void assign(Partition& p);
  void revoke(Partition& p);

  // A message at `offset` of `p` went into the batch being built.
  void add(Partition& p, int64_t offset);
  // The batch being built is pushed: its checkpoint (0 when it holds no message).
  uint64_t seal();
  // Batches up to checkpoint `acknowledged` are delivered. True when an offset became
  // committable.
  bool apply(uint64_t acknowledged);
  // Partitions with an acknowledged offset not yet committed.
  [[nodiscard]] bool has_uncommitted() const;

  [[nodiscard]] const std::deque<Partition>& partitions() const { return partitions_; }
  std::deque<Partition>& partitions() { return partitions_; }

 private:
  struct Record {
    uint64_t checkpoint;
    Partition* partition;
    uint32_t epoch;
    int64_t next_offset;
  };
  struct Key {
    std::string_view topic;
    int32_t id;
    bool operator<(const Key& o) const { return topic != o.topic ? topic < o.topic : id < o.id; }
  };
  std::deque<Partition> partitions_;
  std::map<Key, Partition*> index_;                       // keys view into partitions_
  std::vector<std::pair<Partition*, int64_t>> building_;  // the batch being built
  std::deque<Record> records_;
  uint64_t next_checkpoint_ = 1;  // 0 means "nothing acknowledged yet"
};

class KafkaSource final : public Source {
 public:
  explicit KafkaSource(KafkaSourceOptions options);
  ~KafkaSource() override;
  KafkaSource(const KafkaSource&) = delete;
  KafkaSource& operator=(const KafkaSource&) = delete;

  // Creates the consumer and subscribes (joining the group happens once run() polls).
  bool start(std::string* error) override;
  void run(SourceContext& ctx) override;
  void stop() override;

  // librdkafka properties sluice sets itself (with the option that sets each), which the
  // `librdkafka:` map may not override; null when `key` is free to set.
  static const char* reserved_property(std::string_view key);
  // Checks `key: value` against librdkafka; false with `error` set when it is rejected.
  static bool check_property(const std::string& key, const std::string& value, std::string* error);

 private:
  // librdkafka callbacks (static trampolines pass `this` as the opaque).
  static void rebalance_cb(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t* partitions, void* opaque);
  static void commit_cb(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                        rd_kafka_topic_partition_list_t* offsets, void* opaque);
  static void error_cb(rd_kafka_t* rk, int err, const char* reason, void* opaque);
  static void log_cb(const rd_kafka_t* rk, int level, const char* facility, const char* message);

  void on_assign(rd_kafka_topic_partition_list_t* partitions);
  void on_revoke(rd_kafka_topic_partition_list_t* partitions);
  void on_commit_result(rd_kafka_resp_err_t err, const rd_kafka_topic_partition_list_t* offsets);
  void add_message(const rd_kafka_message_t* message);
  void handle_error_message(const rd_kafka_message_t* message);
  void push_batch();
  void apply_acks();
  // Commits every committable offset (of `only`, when given). With a deadline it waits for
  // the result until then (monotonic ns); 0 = asynchronously, the result comes to commit_cb.
  void commit(int64_t deadline_ns, const std::vector<KafkaOffsets::Partition*>* only = nullptr);
  // Leaves the group (revoking the assignment through on_revoke), bounded by `deadline_ns`.
  void close_consumer(int64_t deadline_ns);
  // Shutdown deadlines (monotonic ns): acks are awaited until the first, the commit until the
  // second, leaving the group until the third, all before the pipeline's own deadline.
  enum class StopPhase { Acks, Commit, Close };
  [[nodiscard]] int64_t stop_deadline_ns(StopPhase phase) const;

  KafkaSourceOptions options_;
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_queue_t* queue_ = nullptr;  // the consumer queue (everything is served from it)
  bool closed_ = false;
  bool commit_in_flight_ = false;  // an async commit has not reported yet
  // A commit was refused because the group is rebalancing: another one would likely carry a
  // generation that the coordinator has just replaced, and librdkafka would then declare the
  // assignment lost. Commits wait for the rebalance callback (or this monotonic time).
  int64_t commits_paused_until_ns_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> fatal_{false};

  SourceContext* ctx_ = nullptr;  // set while run() runs; callbacks run on its thread
  KafkaOffsets offsets_;
  Batch* batch_ = nullptr;
  int64_t batch_started_ns_ = 0;  // monotonic; when the batch got its first message
  // One-entry lookup cache: messages arrive in runs from one partition.
  KafkaOffsets::Partition* last_partition_ = nullptr;
  std::vector<rd_kafka_message_t*> messages_;  // consume buffer, allocated once
};

}  // namespace sluice
