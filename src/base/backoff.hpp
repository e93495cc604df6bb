#pragma once
// The one retry delay policy of sluice: capped exponential backoff with jitter. Every loop that
// waits before trying again (the file sink's writes, the dead-letter file, Kafka re-production
// and producer re-creation, Elasticsearch requests) draws its waits from here.
//
// The step starts at `min`, doubles after every delay handed out, and stops at `max`. Each delay
// is drawn uniformly from half to all of the current step ("equal jitter" in AWS's "Exponential
// Backoff and Jitter"). Why not "full jitter" (0 to the step), which spreads load a little
// better: a retry here usually holds a sink back against a destination that is down, and full
// jitter now and then draws a wait near zero, i.e. a retry at once against something that just
// failed. Half the step is a floor that keeps the documented growth of the waits (`retry_backoff_
// min` really is the shortest wait), while the other half still keeps many senders from
// retrying in step against a recovering cluster.
//
// Not thread-safe: one owner (a sink thread, one call of a retry loop).
#include <cstdint>

namespace sluice {

// `min` doubled `attempt - 1` times, never above `max` (attempt 1 → min; 0 counts as 1). No
// jitter: for pauses that are a state (an endpoint skipped for a while), not a retry time.
// Expects 0 < min <= max (a larger min is taken as max).
int64_t capped_doubling(int64_t min, int64_t max, uint32_t attempt);

class Backoff {
 public:
  // Seeded from the clock, so that sinks started together do not draw the same delays.
  Backoff(int64_t min, int64_t max);
  // A fixed seed: the same delays every run (tests).
  Backoff(int64_t min, int64_t max, uint64_t seed);

  // The wait before the next try: uniform in [step / 2, step]. The step then doubles (up to max).
  int64_t next_delay();
  // After a success: the next delay is drawn from `min` again.
  void reset() { step_ = min_; }

  // The wait before try `attempt + 1` of something that counts its own failures (a request
  // retried by a sink that holds many): uniform in [s / 2, s] with s = capped_doubling(attempt).
  // Leaves the step of next_delay() alone.
  int64_t delay_for_attempt(uint32_t attempt);

  // The step the next next_delay() draws from.
  [[nodiscard]] int64_t step() const { return step_; }
  [[nodiscard]] int64_t min() const { return min_; }
  [[nodiscard]] int64_t max() const { return max_; }

 private:
  int64_t jittered(int64_t step);

  int64_t min_;
  int64_t max_;
  int64_t step_;
  uint64_t random_state_;  // splitmix64: small, fast, and the same sequence on every platform
};

}  // namespace sluice
