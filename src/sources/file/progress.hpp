#pragma once
// Delivery progress of tailed files. Every pushed batch records (file, offset it makes safe);
// when the pipeline reports batches acknowledged by every sink, in order, the file's acknowledged
// offset moves there. Only acknowledged offsets are written to the checkpoint file.
#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "sources/file/fingerprint.hpp"

namespace sluice {

struct FileProgress {
  std::string path;
  FileIdentity identity;
  uint64_t generation = 0;    // bumped when the file is truncated: older offsets are void
  uint64_t acked_offset = 0;  // every line before it is delivered to every sink
  uint32_t in_flight = 0;     // batches pushed and not yet acknowledged
  int64_t seen_unix = 0;      // last time the file was open or matched
  bool tailed = false;        // a tailer has it open (or idle-closed but still matched)
};

class CheckpointLog {
 public:
  // The checkpoint value to put on a batch that makes `offset` of `file` safe once delivered.
  uint64_t add(const std::shared_ptr<FileProgress>& file, uint64_t offset) {
    ++file->in_flight;
    records_.push_back(Record{next_, file, file->generation, offset});
    return next_++;
  }

  // Lines read and dropped on purpose (a pod's `sluice.io/exclude`): no batch carries them, so
  // `offset` of `file` becomes safe as soon as every batch handed on before is delivered. A run
  // of such reads of one file is one record (memory stays bounded while the sinks are behind).
  void add_unbatched(const std::shared_ptr<FileProgress>& file, uint64_t offset) {
    const uint64_t after = next_ - 1;  // the last batch handed on (0: none)
    if (!records_.empty()) {
      Record& last = records_.back();
      if (last.checkpoint == after && last.file == file && last.generation == file->generation) {
        last.offset = offset;  // the same run (an earlier batchless record, or this file's own)
        return;
      }
    }
    ++file->in_flight;
    records_.push_back(Record{after, file, file->generation, offset});
  }

  // Batches up to checkpoint `acknowledged` (contiguously) are delivered. True when some file's
  // acknowledged offset moved.
  bool apply(uint64_t acknowledged) {
    bool moved = false;
    while (!records_.empty() && records_.front().checkpoint <= acknowledged) {
      Record& r = records_.front();
      --r.file->in_flight;
      if (r.generation == r.file->generation && r.offset != r.file->acked_offset) {
        r.file->acked_offset = r.offset;
        moved = true;
      }
      records_.pop_front();
    }
    return moved;
  }

  [[nodiscard]] bool empty() const { return records_.empty(); }

 private:
  struct Record {
    uint64_t checkpoint;
    std::shared_ptr<FileProgress> file;
    uint64_t generation;
    uint64_t offset;
  };
  std::deque<Record> records_;
  uint64_t next_ = 1;  // 0 means "nothing acknowledged yet"
};

}  // namespace sluice
