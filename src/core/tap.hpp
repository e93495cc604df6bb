#pragma once
// `sluice tap`: a sample of the events flowing out of sources and transforms, for a person
// watching a running sluice (served as GET /tap by src/server/tap_stream.*).
//
// The workers offer each batch to the registry after a component's output, and only when someone
// taps: with nobody tapping, the cost is one relaxed atomic load per batch (TapRegistry::active).
// A tapped batch has a bounded sample of its events encoded on the worker, into the stream's
// bounded buffer, which the server thread takes whole. Nothing ever waits for a tap client:
// events over the stream's rate, or for a stream whose buffer is full (its client reads slowly),
// are skipped and counted, and the stream says so in a line of its own.
//
// The lines a stream carries (JSON, one per line):
//   {"notice":"tapping","components":["app","parse"],"rate":100}        first
//   {"component":"app","event":{...the event as the JSON encoding writes it...}}
//   {"component":"app","text":"...the event as the text encoding writes it..."}  (text streams)
//   {"notice":"skipped","events":N,"rate_limit":N,"slow_reader":N}      at most once a second
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/batch.hpp"
#include "sluice/byte_buffer.hpp"
#include "sluice/encoding.hpp"
#include "sluice/source_meta.hpp"

namespace sluice {

inline constexpr uint32_t kDefaultTapRate = 100;      // events per second per stream
inline constexpr uint32_t kMaxTapRate = 100'000;      // beyond this a sample is no sample
inline constexpr size_t kMaxTapStreams = 4;           // concurrent streams; more get 503
inline constexpr size_t kTapBufferBytes = 256 << 10;  // encoded lines a stream holds, at most
// Events encoded per batch and stream at most, whatever the rate: bounds a worker's extra work.
inline constexpr uint32_t kMaxTapSamplePerBatch = 256;
inline constexpr int64_t kTapNoticeIntervalNs = 1'000'000'000;

// A token bucket: `per_second` tokens a second, holding at most one second's worth, full at
// first. Time is passed in (monotonic ns), so tests need no clock.
class TapRateLimit {
 public:
  TapRateLimit(uint32_t per_second, int64_t now_ns);
  // How many of `wanted` events may pass now; those are taken from the bucket.
  uint32_t take(uint32_t wanted, int64_t now_ns);

 private:
  double per_second_;
  double tokens_;
  int64_t last_ns_;
};

struct TapComponent {
  std::string name;
  const char* kind;  // "source" or "transform"
};

struct TapRequest {
  std::vector<std::string> components;  // none: every source and transform
  uint32_t rate = kDefaultTapRate;
  bool text = false;   // the text encoding instead of JSON
  bool color = false;  // text only: ANSI colours
};

struct TapSkipped {
  uint64_t rate_limit = 0;   // over the stream's rate
  uint64_t slow_reader = 0;  // the stream's buffer was full: its client reads slower
};

// One client's stream: what it taps, its rate limit and its buffer. Workers offer() and the
// server thread drain()s, each under the stream's lock, held for one batch's sample at most.
class TapStream {
 public:
  TapStream(std::vector<std::string> components, const TapRequest& request, int64_t now_ns,
            size_t buffer_bytes = kTapBufferBytes);

  [[nodiscard]] bool wants(std::string_view component) const;
  [[nodiscard]] const std::vector<std::string>& components() const { return components_; }

  // A worker: `events` just came out of `component`. Encodes a sample of them, evenly spread,
  // as many as the rate allows and the buffer holds; counts the others.
  void offer(std::string_view component, const Batch& batch, std::span<const Event> events,
             const SourceMeta& meta, int64_t now_ns);

  // The server thread: moves the encoded lines into `out` (swapping buffers, so neither side
  // allocates once warm), then appends a "skipped" notice if events were skipped and the last
  // notice is at least kTapNoticeIntervalNs old.
  void drain(ByteBuffer& out, int64_t now_ns);

  // The stream's first line: what it taps, at which rate.
  [[nodiscard]] std::string opening_line() const;

  [[nodiscard]] TapSkipped skipped_total() const;

 private:
  void encode(std::string_view component, const Batch& batch, const Event& event,
              const SourceMeta& meta);

  const std::vector<std::string> components_;
  const uint32_t rate_;
  const EncodingSpec encoding_;
  const size_t buffer_bytes_;

  mutable std::mutex mutex_;
  ByteBuffer pending_;  // encoded lines not yet taken by the server thread
  ByteBuffer scratch_;  // one event's text, before it is escaped into a JSON string
  TapRateLimit limit_;
  TapSkipped skipped_;          // since the last notice
  TapSkipped skipped_total_;    // since the stream opened
  int64_t last_notice_ns_ = 0;  // 0: none yet
};

class TapRegistry;

// An open stream; closing it (destroying this) takes the stream out of the registry.
class TapSubscription {
 public:
  TapSubscription(TapRegistry& registry, std::shared_ptr<TapStream> stream)
      : registry_(registry), stream_(std::move(stream)) {}
  ~TapSubscription();
  TapSubscription(const TapSubscription&) = delete;
  TapSubscription& operator=(const TapSubscription&) = delete;

  [[nodiscard]] TapStream& stream() const { return *stream_; }

 private:
  TapRegistry& registry_;
  std::shared_ptr<TapStream> stream_;
};

// The answer to a tap request: a subscription, or an HTTP status with a body saying why not.
struct TapOpened {
  std::unique_ptr<TapSubscription> subscription;
  int status = 200;  // 400: a bad request, 404: an unknown component, 503: too many streams
  std::string body;  // JSON, when refused
};

class TapRegistry {
 public:
  explicit TapRegistry(size_t max_streams = kMaxTapStreams) : max_streams_(max_streams) {}
  TapRegistry(const TapRegistry&) = delete;
  TapRegistry& operator=(const TapRegistry&) = delete;

  // Whether any stream is open: the one relaxed load the workers pay per batch.
  [[nodiscard]] bool active() const { return open_.load(std::memory_order_relaxed) != 0; }
  [[nodiscard]] size_t open_streams() const { return open_.load(std::memory_order_relaxed); }

  // Opens a stream on the named components of `known` (all of them when none is named).
  TapOpened open(const TapRequest& request, const std::vector<TapComponent>& known, int64_t now_ns);

  // A worker, when active(): `events` just came out of `component`.
  void offer(std::string_view component, const Batch& batch, std::span<const Event> events,
             const SourceMeta& meta, int64_t now_ns);

 private:
  friend class TapSubscription;
  void close(const TapStream* stream);

  const size_t max_streams_;
  std::mutex mutex_;
  std::vector<std::shared_ptr<TapStream>> streams_;
  std::atomic<size_t> open_{0};
};

}  // namespace sluice
