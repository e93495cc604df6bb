#include "transforms/token_buckets.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace sluice {

namespace {

// Refills are computed in floating point: a bucket within this much of a whole token has it
// (20 refills of 0.05 must make 1).
constexpr double kTokenEpsilon = 1e-9;

// A refill time beyond this (146 years) is as good as never.
constexpr int64_t kLongestRefillNs = std::numeric_limits<int64_t>::max() / 2;

}  // namespace

TokenBuckets::TokenBuckets(Limits limits)
    : limits_(limits),
      buckets_(0, KeyHash{random_sip_key()}),
      series_of_key_(0, buckets_.hash_function()) {
  const double refill_ns = limits_.burst / limits_.events_per_second * 1e9;
  refill_ns_ = refill_ns >= static_cast<double>(kLongestRefillNs)
                   ? kLongestRefillNs
                   : static_cast<int64_t>(std::ceil(refill_ns));
  series_.reserve(limits_.max_metric_keys);
  spare_.reserve(std::min(limits_.max_keys, kMaxSpareNodes));
}

void TokenBuckets::unlink(Bucket& bucket) {
  (bucket.newer ? bucket.newer->older : newest_) = bucket.older;
  (bucket.older ? bucket.older->newer : oldest_) = bucket.newer;
  bucket.newer = bucket.older = nullptr;
}

void TokenBuckets::link_newest(Bucket& bucket) {
  bucket.newer = nullptr;
  bucket.older = newest_;
  (newest_ ? newest_->newer : oldest_) = &bucket;
  newest_ = &bucket;
}

TokenBuckets::Bucket& TokenBuckets::find_or_add(std::string_view key, int64_t now_ns) {
  if (auto it = buckets_.find(key); it != buckets_.end()) {
    Bucket& bucket = it->second;
    if (newest_ != &bucket) {
      unlink(bucket);
      link_newest(bucket);
    }
    return bucket;
  }
  BucketMap::iterator added;
  if (buckets_.size() >= limits_.max_keys && oldest_ != nullptr) {
    // At the bound: the least recently used bucket makes room, and its node (key string
    // included) is reused for the new key.
    Bucket* victim = oldest_;
    unlink(*victim);
    ++evicted_;
    added = reuse(buckets_.extract(buckets_.find(std::string_view(*victim->key))), key);
  } else if (!spare_.empty()) {
    BucketMap::node_type node = std::move(spare_.back());
    spare_.pop_back();
    added = reuse(std::move(node), key);
  } else {
    added = buckets_.try_emplace(std::string(key)).first;
  }
  Bucket& bucket = added->second;
  bucket.key = &added->first;
  bucket.tokens = limits_.burst;
  bucket.updated_ns = now_ns;
  link_newest(bucket);
  return bucket;
}

TokenBuckets::BucketMap::iterator TokenBuckets::reuse(BucketMap::node_type node,
                                                      std::string_view key) {
  node.key().assign(key);
  node.mapped() = Bucket{};
  return buckets_.insert(std::move(node)).position;
}

void TokenBuckets::count_drop(Bucket& bucket) {
  ++dropped_;
  if (bucket.series == kNoSeries) {
    // Once per bucket: the key's series, made while there is room.
    if (auto it = series_of_key_.find(std::string_view(*bucket.key)); it != series_of_key_.end()) {
      bucket.series = it->second;
    } else if (series_.size() < limits_.max_metric_keys) {
      bucket.series = static_cast<int32_t>(series_.size());
      series_.push_back(Series{*bucket.key, 0});
      series_of_key_.emplace(*bucket.key, bucket.series);
    } else {
      bucket.series = kOtherSeries;
    }
  }
  if (bucket.series == kOtherSeries) {
    ++other_dropped_;
  } else {
    ++series_[static_cast<size_t>(bucket.series)].dropped;
  }
}

TokenBuckets::Verdict TokenBuckets::take(std::string_view key, int64_t now_ns) {
  // The previous event's bucket is the newest already: nothing to relink.
  Bucket& bucket = last_ != nullptr && *last_->key == key ? *last_ : find_or_add(key, now_ns);
  last_ = &bucket;
  if (now_ns > bucket.updated_ns) {
    const double elapsed = static_cast<double>(now_ns - bucket.updated_ns);
    bucket.tokens =
        std::min(limits_.burst, bucket.tokens + elapsed * limits_.events_per_second / 1e9);
    bucket.updated_ns = now_ns;
  }
  // Full again: whatever dropping it did is over, the next drop starts a new episode.
  if (bucket.tokens + kTokenEpsilon >= limits_.burst) bucket.dropping = false;
  if (bucket.tokens + kTokenEpsilon >= 1.0) {
    bucket.tokens = std::max(0.0, bucket.tokens - 1.0);
    return Verdict::Pass;
  }
  count_drop(bucket);
  if (bucket.dropping) return Verdict::Drop;
  bucket.dropping = true;
  return Verdict::FirstDrop;
}

void TokenBuckets::forget_idle(int64_t now_ns) {
  // Oldest first: the first bucket used too recently to be surely full ends the walk.
  while (oldest_ != nullptr && now_ns - oldest_->updated_ns >= refill_ns_) {
    Bucket* idle = oldest_;
    if (idle == last_) last_ = nullptr;
    unlink(*idle);
    BucketMap::node_type node = buckets_.extract(buckets_.find(std::string_view(*idle->key)));
    // Kept for the next new key while there is room (the capacity reserved at construction,
    // so keeping allocates nothing); otherwise freed here.
    if (spare_.size() < spare_.capacity()) spare_.push_back(std::move(node));
  }
}

std::vector<std::pair<std::string, uint64_t>> TokenBuckets::dropped_per_key() const {
  std::vector<std::pair<std::string, uint64_t>> out;
  out.reserve(series_.size() + 1);
  for (const Series& s : series_) out.emplace_back(s.key, s.dropped);
  if (other_dropped_ > 0) {
    out.emplace_back(std::string(kOtherKey), other_dropped_);
  }
  return out;
}

}  // namespace sluice
