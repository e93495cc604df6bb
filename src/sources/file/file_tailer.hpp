#pragma once
// One tailed file: reads new bytes in budgeted chunks with pread, frames them into lines (and,
// for container logs, decodes the runtime's records; optionally joins multiline records), and
// pushes one batch per chunk. It keeps no copy of an unfinished last line: the next read simply
// starts again at that line, so an idle file costs no buffer memory.
//
// Offsets: `read_offset` is where the next read starts (the start of the unfinished line);
// `safe_offset()` is where a restart must resume so that nothing pushed-or-kept is lost: it is
// never past a line that is still kept back (a partial runtime record, a multiline record that
// may continue).
#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "parse/framer.hpp"
#include "sluice/source.hpp"
#include "sources/file/fingerprint.hpp"

namespace sluice {

class MultilineJoiner;
class RuntimeDecoder;
class CheckpointLog;
struct FileProgress;

struct TailOptions {
  FramerOptions framer;             // max_line_bytes, multiline
  bool container = false;           // decode Docker json-file / CRI records
  size_t read_budget = 512 * 1024;  // bytes per read, so one busy file cannot starve the others
};

// Where the last `lines` lines of the first `end` bytes of `fd` begin, as `tail -n` counts them:
// an unfinished last line counts as one. 0 when there are fewer lines (or on a read error).
uint64_t start_of_last_lines(int fd, uint64_t end, uint64_t lines);

class FileTailer {
 public:
  // `open_files`, when given, counts the descriptors of every tailer sharing it (the source's
  // max_open_files budget): incremented on each open, decremented on each close.
  FileTailer(std::string path, const TailOptions& options, std::shared_ptr<const Origin> origin,
             std::shared_ptr<FileProgress> progress, size_t* open_files = nullptr);
  ~FileTailer();
  FileTailer(const FileTailer&) = delete;
  FileTailer& operator=(const FileTailer&) = delete;

  // The delivery progress record this file reports to (decided once the file is identified).
  void attach(std::shared_ptr<FileProgress> progress) { progress_ = std::move(progress); }
  // Something released when the tailer goes (the pin that keeps a deleted pod's metadata).
  void hold(std::shared_ptr<void> held) { held_ = std::move(held); }
  [[nodiscard]] const std::shared_ptr<void>& held() const { return held_; }
  // The metadata of the file's next batches (its pod's labels changed); file_id is kept.
  [[nodiscard]] const std::shared_ptr<const Origin>& origin() const { return origin_; }
  void set_origin(std::shared_ptr<const Origin> origin) { origin_ = std::move(origin); }
  // Drops the file's lines from its next read on, counting them in `*dropped` (its pod says
  // `sluice.io/exclude: "true"`), or, given null, hands them on again from the next read on.
  // Dropped lines are framed to be counted, never decoded or parsed, and the checkpoint moves
  // over them as over delivered ones: lifting the exclusion resumes where reading is, not where
  // it began. What was kept back before (a partial record, a multiline record) is handed on.
  void set_excluded(std::atomic<uint64_t>* dropped) { excluded_ = dropped; }
  [[nodiscard]] bool excluded() const { return excluded_ != nullptr; }
  // Joins the file's lines read from its next read on with `multiline` (null: not at all): its
  // pod's `sluice.io/multiline` hint changed. The record being joined then is handed on as it
  // is, as when it waited `flush_after`: a record whose lines straddle the change is split there.
  void set_multiline(std::shared_ptr<const MultilineOptions> multiline);
  [[nodiscard]] const std::shared_ptr<const MultilineOptions>& multiline() const {
    return options_.framer.multiline;
  }
  // Opens the file; fills the identity (device, inode, fingerprint). On failure `error` says
  // why and open_errno() is the errno (EMFILE: no descriptor free, try again later).
  bool open(std::string* error);
  [[nodiscard]] int open_errno() const { return open_errno_; }
  // Reopens a closed file through `path` (its own path, or where a rescan found its inode now).
  enum class Reopen { Open, OtherFile, Failed };  // Failed: could not open; try again later
  Reopen reopen(const std::string& path);
  Reopen reopen() { return reopen(path_); }
  void close();
  [[nodiscard]] bool is_open() const { return fd_ >= 0; }

  // Start reading at `offset` (a checkpoint, the end of the file, or 0).
  void seek(uint64_t offset);

  enum class ReadResult { Nothing, Some, Budget };  // Budget: more is waiting
  // Reads at most one budget of new bytes and pushes the lines framed from them.
  ReadResult read_some(SourceContext& ctx, CheckpointLog& log, Batch& scratch, int64_t now_ns);
  // The file will not grow any more (rotated away or deleted, and drained; or read to its end
  // for `stop_at_eof`): hand on the unfinished line and everything kept back.
  void finish(SourceContext& ctx, CheckpointLog& log, Batch& scratch);
  // Hands on a multiline record that waited long enough.
  void flush_due(SourceContext& ctx, CheckpointLog& log, int64_t now_ns);
  // Monotonic time of the next flush_due() that has work, or INT64_MAX.
  [[nodiscard]] int64_t next_deadline_ns() const;

  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] const FileIdentity& identity() const { return identity_; }
  [[nodiscard]] uint64_t read_offset() const { return read_offset_; }
  // Bytes looked at, the unfinished last line included: more than this means new data.
  [[nodiscard]] uint64_t seen_offset() const { return read_offset_ + tail_scanned_; }
  [[nodiscard]] uint64_t size() const { return size_; }
  [[nodiscard]] uint64_t safe_offset() const;
  [[nodiscard]] const std::shared_ptr<FileProgress>& progress() const { return progress_; }
  [[nodiscard]] int fd() const { return fd_; }
  [[nodiscard]] uint64_t truncations() const { return truncations_; }

  // Inotify watch descriptor (-1: polled).
  int watch = -1;
  int64_t last_data_ns = 0;    // monotonic time bytes were last read
  int64_t released_ns = 0;     // rotated away or deleted at: drained and closed rotate_wait later
  bool released = false;       // not at its path any more (renamed, deleted, out of the globs)
  bool maybe_readable = true;  // a change was notified or a read hit the budget
  bool wants_slot = false;     // closed, changed, and queued for a free descriptor
  uint64_t stat_size = 0;      // size at the last rescan while closed

 private:
  // The file's origin, the read time and the year anchor, on a batch about to be handed on.
  void stamp(Batch& batch, int64_t read_time_ns) const;
  void push(SourceContext& ctx, CheckpointLog& log, Batch* batch);
  void decode_and_push(SourceContext& ctx, CheckpointLog& log, Batch& raw);
  void handle_truncation(SourceContext& ctx, CheckpointLog& log, uint64_t new_size);
  // Hands on what the decoder and joiner keep back (before lines are dropped).
  void hand_on_kept(SourceContext& ctx, CheckpointLog& log);
  // Counts the complete lines of `scratch` (read at read_offset_) as dropped; returns the
  // length of those lines (where the unfinished last line begins).
  size_t drop_lines(const Batch& scratch);
  // finish() of an excluded file: its last lines, the unfinished one too, dropped and counted.
  void finish_excluded(SourceContext& ctx, CheckpointLog& log, Batch& scratch);
  // set_multiline() took effect: the old joiner's record handed on, the new joiner made.
  void switch_joiner(SourceContext& ctx, CheckpointLog& log);
  // A new Origin when the identity changed (fingerprint grown, content truncated).
  void refresh_origin_id();

  std::string path_;
  TailOptions options_;
  std::shared_ptr<const Origin> origin_;
  std::shared_ptr<FileProgress> progress_;
  int fd_ = -1;
  int open_errno_ = 0;
  size_t* open_files_ = nullptr;
  FileIdentity identity_;
  uint64_t read_offset_ = 0;   // start of the unfinished line; the next read starts here
  uint64_t tail_scanned_ = 0;  // bytes after read_offset_ already searched for a newline
  // The file's modification time at the last read (ns): the year of year-less times in its
  // lines, also for those handed on later (the last line at the end, a joined record's flush).
  int64_t year_anchor_ns_ = 0;
  uint64_t size_ = 0;  // last size seen
  uint64_t truncations_ = 0;
  int64_t last_content_check_ns_ = 0;
  bool read_full_budget_ = false;  // the last read stopped at the budget: more was waiting
  static constexpr int64_t kContentCheckIntervalNs = 100'000'000;
  LineFramer framer_;
  std::unique_ptr<RuntimeDecoder> decoder_;
  std::unique_ptr<MultilineJoiner> joiner_;
  bool joiner_stale_ = false;  // options_.framer.multiline changed since joiner_ was made
  std::shared_ptr<void> held_;
  std::atomic<uint64_t>* excluded_ = nullptr;  // set: lines are dropped and counted there
};

}  // namespace sluice
