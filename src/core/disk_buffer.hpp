#pragma once
// A sink's disk buffer: a segmented, append-only log of records in one directory
// (`<data_dir>/buffers/<sink>/`), written by the pipeline's workers and read back by the sink.
//
// On disk:
//   NNNNNNNNNNNNNNNNNNNN.seg  segments, numbered upwards and never reused; each is a sequence of
//                             records [u32 length][u32 CRC-32C of length + payload][payload]
//                             (little-endian). A segment takes records until the next one would
//                             pass `segment_bytes`; then the next segment starts.
//   ledger                    "sluice-buffer-ledger 1 <segment> <offset>\n": the position after
//                             the last record the sink acknowledged (contiguously), replaced
//                             atomically about once a second and at close.
//   lock                      flock()ed while open: two processes never share a buffer.
// A segment is deleted once the reader has passed it and the sink acknowledged every record in
// it. At open, segments before the ledger's are deleted, and the rest are checked record by
// record: a torn or corrupt record (bad length, short, CRC mismatch) ends what is read of that
// segment; it and the bytes after it are counted and skipped, never the records before it. Writes
// always go to a new segment after an open, so a damaged tail is never appended to.
//
// Delivery is at least once: records acknowledged after the last ledger save are read again
// after a crash.
#include <sys/uio.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "sluice/byte_buffer.hpp"

namespace sluice {

enum class FsyncPolicy { Always, Interval, Never };

struct DiskBufferOptions {
  std::string dir;
  int64_t max_bytes = int64_t{256} << 20;     // bound on the segments' total size
  int64_t segment_bytes = int64_t{32} << 20;  // a record larger than this gets a segment alone
  FsyncPolicy fsync = FsyncPolicy::Interval;  // Always: fdatasync in append(); else see sync()
  int64_t fsync_interval_ns = 1'000'000'000;  // Interval: how often the owner calls sync()
};

// What the buffer holds and what it had to skip, for /metrics (read under the buffer's lock).
struct DiskBufferStats {
  int64_t disk_bytes = 0;        // the segments' total size
  uint64_t records = 0;          // written (or recovered) and not yet acknowledged
  uint64_t corrupt_records = 0;  // torn or corrupt records skipped (at open or while reading)
  uint64_t skipped_bytes = 0;    // bytes skipped with them
  uint64_t write_errors = 0;     // appends that failed (ENOSPC, EIO...) and were undone
};

class DiskBuffer {
 public:
  static constexpr int64_t kHeaderBytes = 8;

  // Creates the directory if needed, takes the lock and recovers what is there (corruption is
  // counted and logged, never fatal). nullptr with `error` set when the directory cannot be
  // used (permissions, another process holds it).
  static std::unique_ptr<DiskBuffer> open(DiskBufferOptions options, std::string* error);
  ~DiskBuffer();
  DiskBuffer(const DiskBuffer&) = delete;
  DiskBuffer& operator=(const DiskBuffer&) = delete;

  enum class AppendStatus { Ok, Full, Failed };
  struct AppendResult {
    AppendStatus status = AppendStatus::Ok;
    uint64_t sequence = 0;  // Ok: the append's number (1, 2, ...), what sync() reports
    int error = 0;          // Failed: errno (ENOSPC when the file system is full)
  };
  // Any thread. Appends one record whose payload is the concatenation of `pieces`. Full when it
  // does not fit within max_bytes (an empty buffer admits any record). Failed leaves nothing
  // behind: a partial write is truncated away.
  AppendResult append(std::span<const iovec> pieces);
  // Waits until a record of `payload_bytes` would fit, or the timeout. True when it fits.
  bool wait_for_room(int64_t payload_bytes, std::chrono::milliseconds timeout);
  // Makes every append so far durable (fdatasync of the segments written since the last sync,
  // fsync of the directory after new segments). Returns the last append sequence covered; when
  // a sync fails, `error` is set and the return value means nothing.
  uint64_t sync(std::string* error);

  // Reader, one thread: the next record's payload, or false when everything written has been
  // read. `id` identifies the record for ack().
  bool read(ByteBuffer& payload, uint64_t* id);
  // Reader: waits until an append may have made a record readable, or the timeout.
  void wait_readable(std::chrono::milliseconds timeout);
  // True when the reader has read every record written so far.
  bool caught_up();
  // Any thread: the sink is done with the record (delivered or dead-lettered). Deletes the
  // segments that are then fully acknowledged.
  void ack(uint64_t id);
  // Records the acknowledged position in the ledger when it moved (atomic replace + fsync).
  bool save_ledger(std::string* error);

  DiskBufferStats stats();
  [[nodiscard]] const DiskBufferOptions& options() const { return options_; }

  // The record whose payload the reader rejected after its CRC matched (an encoding this build
  // does not understand): counted as corrupt like a CRC mismatch.
  void count_unreadable_record(size_t payload_bytes);

 private:
  struct Segment {
    uint64_t number = 0;
    int64_t size = 0;          // bytes on disk
    int64_t readable_end = 0;  // end of the last valid record
    bool sealed = false;       // no more appends
    bool read_done = false;    // the reader has passed its end
    bool has_records = false;  // the reader read at least one record from it
    uint64_t last_id = 0;      // the last record read from it
  };
  struct ReadPosition {
    uint64_t id;
    uint64_t segment;
    int64_t end;
  };

  explicit DiskBuffer(DiskBufferOptions options) : options_(std::move(options)) {}
  bool recover(std::string* error);
  bool start_segment(uint64_t number, int* err);  // mu_ held
  Segment* find_segment(uint64_t number);         // mu_ held
  bool retire_delivered_active_segment();         // mu_ held
  void delete_acknowledged_segments();            // mu_ held
  [[nodiscard]] std::string segment_path(uint64_t number) const;
  void skip_rest_of_segment(Segment& segment, int64_t offset, const char* why);  // mu_ held

  DiskBufferOptions options_;
  int lock_fd_ = -1;

  std::mutex mu_;
  std::condition_variable room_cv_;
  std::condition_variable data_cv_;
  std::deque<Segment> segments_;  // live segments, in order; the last one takes the appends
  int write_fd_ = -1;
  bool write_dirty_ = false;       // the active segment was written since the last sync
  bool dir_dirty_ = false;         // a segment was created since the last sync
  std::vector<int> unsynced_fds_;  // sealed segments written since the last sync
  uint64_t appended_ = 0;          // appends so far
  uint64_t appended_seen_ = 0;     // appended_ when the reader last found nothing to read
  DiskBufferStats stats_;

  // Reader position (the reader thread; shared fields under mu_).
  uint64_t read_segment_ = 0;
  int64_t read_offset_ = 0;
  int read_fd_ = -1;
  uint64_t read_fd_segment_ = 0;
  uint64_t next_id_ = 0;

  // Acknowledgements.
  uint64_t acked_below_ = 0;  // every id below it is acknowledged
  std::set<uint64_t> acked_ahead_;
  std::deque<ReadPosition> read_positions_;  // read, not yet acknowledged in order
  uint64_t ledger_segment_ = 0;
  int64_t ledger_offset_ = 0;
  uint64_t saved_segment_ = UINT64_MAX;
  int64_t saved_offset_ = -1;
  std::mutex ledger_mu_;  // one save_ledger at a time
};

// The text of a ledger and its parsing (exposed for tests and fuzzing).
std::string format_ledger(uint64_t segment, int64_t offset);
bool parse_ledger(std::string_view text, uint64_t* segment, int64_t* offset);

}  // namespace sluice
