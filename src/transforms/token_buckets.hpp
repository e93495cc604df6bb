#pragma once
// The state of the `throttle` transform: one token bucket per key, refilled continuously at
// `events_per_second` up to `burst` tokens; an event takes a token or is dropped. Time is
// passed in (a monotonic clock in ns), so the buckets know no clock of their own.
//
// Memory is bounded twice over. A bucket unused for burst / events_per_second seconds is full
// again, the same as a bucket never made: forget_idle() drops those, oldest first. And at most
// `max_keys` buckets live at once: a new key beyond that evicts the least recently used bucket
// (whose key then starts afresh with a full bucket if it comes back). A recycled bucket keeps
// its map node and key string, so churning keys allocate nothing once warm; so do the nodes of
// forgotten buckets (up to kMaxSpareNodes of them), so that a quiet key, whose bucket is forgotten
// between two of its events, does not allocate for each event either.
//
// Drops are counted per key for /metrics, for at most `max_metric_keys` keys (the first ones
// throttled); the drops of any other key are summed under `kOtherKey`. Those counts outlive
// the buckets: a key forgotten and throttled again keeps adding to its own series.
//
// The keys come from log content, so whoever writes the logs chooses them: the tables hash them
// with SipHash-1-3 under a random key drawn per instance (base/siphash.hpp), so that keys chosen
// to collide in one bucket of the table (hash flooding, each lookup then walking them all) can
// only be found by someone who knows that key. max_keys bounds the table either way.
//
// Not thread-safe: the transform holds its lock around every call.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/siphash.hpp"

namespace sluice {

class TokenBuckets {
 public:
  struct Limits {
    double events_per_second = 1;
    double burst = 1;  // tokens a bucket holds when full, ≥ 1
    size_t max_keys = 10'000;
    size_t max_metric_keys = 100;
  };
  static constexpr std::string_view kOtherKey = "_other";
  // Nodes of forgotten buckets kept for new keys: at most 256 × (~100 bytes + the key).
  static constexpr size_t kMaxSpareNodes = 256;

  explicit TokenBuckets(Limits limits);

  enum class Verdict {
    Pass,
    Drop,
    FirstDrop,  // dropped, and the key had not been dropping since its bucket was last full
  };
  // One event of `key` at `now_ns` (never earlier than a previous call's).
  Verdict take(std::string_view key, int64_t now_ns);
  // Forgets the buckets that have been idle long enough to be full again.
  void forget_idle(int64_t now_ns);

  [[nodiscard]] size_t live_keys() const { return buckets_.size(); }
  [[nodiscard]] uint64_t dropped() const { return dropped_; }
  [[nodiscard]] uint64_t evicted() const { return evicted_; }
  // Drops per key: at most max_metric_keys keys in the order they were first throttled, then
  // kOtherKey when any key went over the cap.
  [[nodiscard]] std::vector<std::pair<std::string, uint64_t>> dropped_per_key() const;
  [[nodiscard]] const Limits& limits() const { return limits_; }
  // The hash of `key` in this instance's tables (tests: it depends on the instance's random key).
  [[nodiscard]] size_t key_hash(std::string_view key) const {
    return buckets_.hash_function()(key);
  }

 private:
  struct Bucket {
    double tokens = 0;
    int64_t updated_ns = 0;
    // The usage list, most recently used first (map nodes do not move).
    Bucket* newer = nullptr;
    Bucket* older = nullptr;
    const std::string* key = nullptr;  // the map's own key
    int32_t series = kNoSeries;        // index in series_, or kOtherSeries
    bool dropping = false;
  };
  static constexpr int32_t kNoSeries = -1;
  static constexpr int32_t kOtherSeries = -2;

  // Transparent hashing, so that a rendered key is looked up as a string_view, keyed per
  // instance (see above).
  struct KeyHash {
    using is_transparent = void;
    SipKey key;
    size_t operator()(std::string_view s) const { return static_cast<size_t>(siphash13(key, s)); }
  };
  using BucketMap = std::unordered_map<std::string, Bucket, KeyHash, std::equal_to<>>;

  Bucket& find_or_add(std::string_view key, int64_t now_ns);
  // Inserts `node` (an evicted or forgotten bucket's) again under `key`, with a fresh bucket.
  BucketMap::iterator reuse(BucketMap::node_type node, std::string_view key);
  void unlink(Bucket& bucket);
  void link_newest(Bucket& bucket);
  void count_drop(Bucket& bucket);

  Limits limits_;
  int64_t refill_ns_;  // time an empty bucket takes to be full again
  BucketMap buckets_;
  std::vector<BucketMap::node_type> spare_;  // forgotten buckets' nodes, at most kMaxSpareNodes
  Bucket* newest_ = nullptr;
  Bucket* oldest_ = nullptr;
  // The bucket of the previous take(): the events of a batch mostly come from one file, one
  // key, and comparing the key with its bucket's is cheaper than hashing it. Reset whenever a
  // bucket is erased.
  Bucket* last_ = nullptr;

  struct Series {
    std::string key;
    uint64_t dropped = 0;
  };
  std::vector<Series> series_;
  std::unordered_map<std::string, int32_t, KeyHash, std::equal_to<>> series_of_key_;
  uint64_t other_dropped_ = 0;
  uint64_t dropped_ = 0;
  uint64_t evicted_ = 0;
};

}  // namespace sluice
