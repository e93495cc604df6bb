#pragma once
// The dead-letter file of a sink: events a destination rejected for good (too large, unknown
// topic, not authorised, a 400 from Elasticsearch) are written here instead of being lost, one
// JSON object per line:
//
//   {"time":"2024-05-01T10:00:01.500000000Z","sink":"kafka","topic":"logs","error":"…",
//    "event":"<the encoded event, as a JSON string>"}
//
// The destination field is named by the caller ("topic" for Kafka, "index" for Elasticsearch).
// The file is `<data_dir>/dead-letter/<sink>.jsonl`, opened in append mode on first use (no file
// when nothing was rejected). A record is handed to the kernel with one write(2) before write()
// returns, so a sink may acknowledge the event right after.
#include <cstdint>
#include <string>
#include <string_view>

#include "base/backoff.hpp"
#include "base/clock.hpp"
#include "base/log.hpp"
#include "sluice/byte_buffer.hpp"

namespace sluice {

class DeadLetterWriter {
 public:
  DeadLetterWriter(std::string data_dir, std::string sink_name);
  ~DeadLetterWriter();
  DeadLetterWriter(const DeadLetterWriter&) = delete;
  DeadLetterWriter& operator=(const DeadLetterWriter&) = delete;

  // `<data_dir>/dead-letter/<sink>.jsonl` (a sink name cannot steer the path: `/` → `_`).
  static std::string path_for(const std::string& data_dir, const std::string& sink_name);

  // Appends one record. `event` may end with the encoder's '\n' (it is left out). False with a
  // message in `error` when the file cannot be created or written; the caller retries.
  bool write(std::string_view destination_field, std::string_view destination,
             std::string_view reason, std::string_view event, int64_t time_ns, std::string* error);

  // Appends one record, retrying until it is stored: an event may be acknowledged only once it
  // is safe somewhere, so a failing dead-letter file (disk full) holds the sink back as a
  // failing destination does. Waits 100 ms after the first failure, doubling up to 5 s, each
  // wait jittered (base/backoff.hpp); each failure is logged (rate-limited) and reported to
  // `on_retry` (the sink counts a retry).
  template <typename OnRetry>
  void write_until_stored(std::string_view destination_field, std::string_view destination,
                          std::string_view reason, std::string_view event, OnRetry&& on_retry) {
    Backoff backoff(kFirstBackoffNs, kMaxBackoffNs);
    std::string error;
    while (!write(destination_field, destination, reason, event, wall_clock_ns(), &error)) {
      on_retry();
      pause_after_failure(error, backoff.next_delay());
      error.clear();
    }
  }

  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] uint64_t written() const { return written_; }

 private:
  static constexpr int64_t kFirstBackoffNs = 100'000'000;
  static constexpr int64_t kMaxBackoffNs = 5'000'000'000;

  bool open(std::string* error);
  // Logs a failed write (rate-limited), then sleeps `delay_ns`.
  void pause_after_failure(const std::string& error, int64_t delay_ns);

  std::string data_dir_;
  std::string sink_name_;
  std::string path_;
  int fd_ = -1;
  uint64_t written_ = 0;
  ByteBuffer line_;  // reused: one record is built here, then written at once
  log::RateLimit failure_log_;
};

}  // namespace sluice
