#pragma once
// `throttle`: passes on at most `events_per_second` events per key on average, with bursts of
// up to `burst` events, and drops the rest (token buckets, transforms/token_buckets.hpp). The
// key is a template (`{{ kubernetes.namespace }}/{{ kubernetes.pod.name }}`); without one, all
// events share one bucket. Events matching the `exclude` condition pass untouched.
//
// Drops are never silent: sluice_component_dropped_events_total{reason="throttled"}, per key in
// sluice_throttled_events_total{key=...} (capped, see TokenBuckets), and a rate-limited log
// line naming the key when a key starts being throttled.
//
// Per batch, the keys are rendered into a reused per-thread buffer without the lock; then the
// lock is taken once and each event is decided by a lookup that allocates nothing once its key
// has a bucket.
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "base/log.hpp"
#include "core/template.hpp"
#include "sluice/transform.hpp"
#include "transforms/condition.hpp"
#include "transforms/token_buckets.hpp"

namespace sluice {

struct ThrottleOptions {
  std::string name;                    // the component's, for the log line
  std::optional<Template> key;         // none: one bucket for every event
  std::unique_ptr<Condition> exclude;  // events that are never throttled
  TokenBuckets::Limits limits;
  // Monotonic time in ns; tests inject theirs.
  std::function<int64_t()> clock;
};

class ThrottleTransform final : public Transform {
 public:
  // Rendered keys longer than this are cut: a key's memory is bounded whatever the events hold.
  static constexpr size_t kMaxKeyBytes = 256;

  explicit ThrottleTransform(ThrottleOptions options);
  void apply(Batch& batch, const SourceMeta& meta, std::span<const Event> in,
             std::vector<Event>& out) const override;
  void read_counters(TransformCounters& counters) const override;

  // For tests.
  [[nodiscard]] size_t live_keys() const;
  [[nodiscard]] const TokenBuckets::Limits& limits() const { return options_.limits; }

 private:
  void log_first_drop(std::string_view key) const;

  ThrottleOptions options_;
  mutable std::mutex mutex_;
  mutable TokenBuckets buckets_;  // guarded by mutex_
  mutable log::RateLimit first_drop_log_;
};

}  // namespace sluice
