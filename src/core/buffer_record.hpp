#pragma once
// An encoded batch as a disk-buffer record and back. The record carries exactly what a sink
// reads from an EncodedBatch (events, template renderings, event ids), so a batch read back
// from disk is indistinguishable from one that came through memory.
//
// Payload (u32 little-endian unless noted):
//   format (1), events, templates_per_event, has_ids (0|1), data_bytes, rendered_bytes,
//   ends[events], rendered_ends[events × templates_per_event], ids[events if has_ids] (2 × u64),
//   data, rendered
#include <sys/uio.h>

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/sink.hpp"

namespace sluice {

// The pieces of `batch`'s record, pointing into the batch (no copy); valid while it lives.
class BatchRecord {
 public:
  explicit BatchRecord(const EncodedBatch& batch);
  // The first piece points at header_: a copy would point into the original.
  BatchRecord(const BatchRecord&) = delete;
  BatchRecord& operator=(const BatchRecord&) = delete;
  [[nodiscard]] std::span<const iovec> pieces() const { return {pieces_.data(), count_}; }
  [[nodiscard]] size_t size() const { return size_; }

 private:
  // Adds an array's bytes as one piece (none for an empty array).
  template <typename T>
  void add_piece(const T* data, size_t count) {
    if (count == 0) return;
    // iovec's base is non-const for writev's sake; the record is only ever read from.
    pieces_[count_++] = {const_cast<T*>(data),
                         count * sizeof(T)};  // NOLINT(cppcoreguidelines-pro-type-const-cast)
    size_ += count * sizeof(T);
  }

  std::array<uint32_t, 6> header_{};
  std::array<iovec, 6> pieces_{};  // header, ends, rendered_ends, ids, data, rendered
  size_t count_ = 0;
  size_t size_ = 0;
};

// Fills `batch` (reset) from a record's payload. False, with `error` set, when the payload is
// not a well-formed record of this format: every offset is checked, so no bytes are trusted.
bool decode_batch_record(std::string_view payload, EncodedBatch& batch, std::string* error);

}  // namespace sluice
