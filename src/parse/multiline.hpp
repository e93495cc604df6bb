#pragma once
// Joins the lines of one multi-line record (a Java stack trace, a Python traceback, a Go panic,
// or lines grouped by user patterns) into a single event. Runs on a source's framed batches
// before they are pushed: events are views, so a record whose lines lie next to each other in
// the batch buffer is joined without copying; only a record that spans batches is copied.
//
// Lines are classified one at a time, with no look-ahead: a record that might still continue
// when a batch ends is kept by the joiner and handed on with the next batch, or by flush()
// once no new line arrived for `flush_after`.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/batch.hpp"

namespace re2 {
class RE2;
}

namespace sluice {

struct MultilineOptions {
  // Auto: once most of the first lines of a stream start with a recognised time, a line without
  // one continues the record before it (see MultilineJoiner::classify_auto).
  enum class Mode { Java, Python, Go, Custom, Auto };
  Mode mode = Mode::Custom;
  std::string start_pattern;     // Custom: RE2, a line that starts a record
  std::string continue_pattern;  // Custom: RE2, a line that continues the current record
  // A kept record is handed on after this long without a new line.
  int64_t flush_after_ns = 1'000'000'000;
  size_t max_lines = 500;
  size_t max_bytes = 1 << 20;
};

// True when `pattern` is empty or compiles as RE2; else sets `error` naming `key`.
bool valid_multiline_pattern(const std::string& pattern, const char* key, std::string* error);

// Auto mode's sample: the share of a stream's first lines that must start with a recognised
// time (kAutoSampleLines at most, and at least kAutoMinLines seen) before joining starts.
constexpr size_t kAutoSampleLines = 500;
constexpr size_t kAutoMinLines = 10;
constexpr unsigned kAutoPercent = 80;

// Auto mode's test of a line: the plain-text detector's "starts with a recognised time".
using LineTimeTest = bool (*)(std::string_view line);
bool starts_with_recognised_time(std::string_view line);

class MultilineJoiner {
 public:
  // Null with `error` set when a pattern does not compile or a custom mode has no pattern.
  // `time_test` replaces starts_with_recognised_time in auto mode (tests).
  static std::unique_ptr<MultilineJoiner> create(const MultilineOptions& options,
                                                 std::string* error,
                                                 LineTimeTest time_test = nullptr);
  ~MultilineJoiner();
  MultilineJoiner(const MultilineJoiner&) = delete;
  MultilineJoiner& operator=(const MultilineJoiner&) = delete;

  // Joins, in place, consecutive events of `batch` (framed lines in order) that form one
  // record. A record that may still continue at the end of the batch is removed from
  // batch.events and kept (copied into the joiner's own reusable buffer) until the next join()
  // or flush(). `now_ns` is monotonic: the time the batch's lines count as having arrived.
  void join(Batch& batch, int64_t now_ns);
  // Hands on the kept record when it waited flush_after since its last line (or always when
  // `force`): appended to batch.events, its bytes in batch.arena with kReadPadding after them.
  void flush(Batch& batch, int64_t now_ns, bool force);

  [[nodiscard]] bool has_pending() const { return open_; }
  // Monotonic time when flush() will hand the kept record on (meaningful with has_pending()).
  [[nodiscard]] int64_t pending_deadline_ns() const {
    return last_line_ns_ + options_.flush_after_ns;
  }
  // Event::offset of the kept record's first line: a file source's checkpoint must not pass it.
  [[nodiscard]] uint64_t pending_offset() const { return record_.first.offset; }
  // Records handed on early because they reached max_lines or max_bytes (the rest of their
  // lines start a new record).
  [[nodiscard]] uint64_t records_cut() const { return records_cut_; }
  [[nodiscard]] const MultilineOptions& options() const { return options_; }
  // Auto mode: whether the stream qualified for joining (false while sampling or when it did
  // not).
  [[nodiscard]] bool auto_joining() const { return auto_state_ == AutoState::Joining; }

 private:
  // What one line does to the record being built.
  enum class Action : uint8_t {
    Start,     // ends the current record and begins a new one
    Continue,  // belongs to the current record (begins one when none is open)
    Hold,      // a blank line that belongs to the record only if a continuation follows
    Single,    // ends the current record and passes through on its own
  };
  // Mode-specific position inside a record.
  enum class Phase : uint8_t {
    None,
    Header,      // java: no stack frame yet, so an exception line still belongs here
    Frames,      // java: frames seen; python: inside `Traceback ...`; go: inside a panic
    AfterError,  // python: the exception line was seen; chaining may follow
    Chain,       // python: "During handling of the above exception ..." was seen
  };

  // The record being built. While `buffered` is false its text is the view [begin, begin+size)
  // inside the batch (lines adjacent in memory); otherwise it is in buffer_.
  struct Record {
    Event first;  // metadata of the first line
    const char* begin = nullptr;
    const char* src_end = nullptr;  // end of the last line where the framer left it
    size_t size = 0;
    size_t lines = 0;
    uint16_t flags = 0;
    bool buffered = false;
  };

  explicit MultilineJoiner(const MultilineOptions& options);

  Action classify(std::string_view line);
  Action classify_java(std::string_view line);
  Action classify_python(std::string_view line);
  Action classify_go(std::string_view line);
  Action classify_custom(std::string_view line);
  Action classify_auto(std::string_view line);

  void begin(const Event& event);
  void append(Batch& batch, const Event& event);
  void add_continuation(Batch& batch, const Event& event);
  void emit(Batch& batch, std::vector<Event>& out);
  void end_record(Batch& batch, std::vector<Event>& out);
  void keep_pending();

  MultilineOptions options_;
  std::unique_ptr<re2::RE2> start_re_;
  std::unique_ptr<re2::RE2> continue_re_;

  Record record_;
  // A record is being built (record_ is valid); between join() calls: one is kept.
  bool open_ = false;
  Phase phase_ = Phase::None;
  std::vector<Event> held_;  // blank lines waiting to see whether the record goes on
  int64_t last_line_ns_ = 0;
  ByteBuffer buffer_;       // text of a record that could not stay a view
  std::vector<Event> out_;  // join() output, swapped with batch.events (capacity reused)
  uint64_t records_cut_ = 0;

  // Auto mode: sampling the first lines, then joining or line by line for good.
  enum class AutoState : uint8_t { Sampling, Joining, LineByLine };
  AutoState auto_state_ = AutoState::Sampling;
  LineTimeTest time_test_ = starts_with_recognised_time;
  size_t auto_sampled_ = 0;
  size_t auto_timed_ = 0;
};

}  // namespace sluice
