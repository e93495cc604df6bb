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

  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] uint64_t written() const { return written_; }

 private:
  bool open(std::string* error);

  std::string data_dir_;
  std::string sink_name_;
  std::string path_;
  int fd_ = -1;
  uint64_t written_ = 0;
  ByteBuffer line_;  // reused: one record is built here, then written at once
};

}  // namespace sluice
