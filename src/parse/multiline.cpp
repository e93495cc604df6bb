#include "parse/multiline.hpp"

#include <re2/re2.h>
#include <cstring>
#include <functional>

namespace sluice {

namespace {

// A blank line kept across batches points here: the JSON parser reads up to kReadPadding
// bytes past the end of every line, even an empty one.
alignas(64) constexpr char kEmptyLine[kReadPadding] = {};

bool is_blank_char(char c) { return c == ' ' || c == '\t'; }
bool indented(std::string_view line) { return !line.empty() && is_blank_char(line[0]); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_ident_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_' || c == '$';
}

// Skips the digits at `i`; returns where they end (== i when there are none).
size_t skip_digits(std::string_view s, size_t i) {
  while (i < s.size() && is_digit(s[i])) ++i;
  return i;
}

// Java: `... 12 more` or `... 3 common frames omitted` (logback), unindented.
bool is_java_more(std::string_view line) {
  if (!line.starts_with("... ")) return false;
  size_t end = skip_digits(line, 4);
  if (end == 4) return false;
  std::string_view rest = line.substr(end);
  return rest == " more" || rest.starts_with(" common frames omitted");
}

// Java: a Throwable's toString() on its own line, e.g. `java.lang.IllegalStateException: boom`
// or `org.apache.hadoop.ipc.RemoteException(...)`: a dotted class name whose last part names an
// Exception, Error or Throwable, then the end of the line, `:` or `(`. Loggers print it on the
// line after their own message, before the frames.
bool is_java_exception_line(std::string_view line) {
  size_t i = 0;
  size_t segment_start = 0;
  bool dotted = false;
  while (i < line.size() && (is_ident_char(line[i]) || line[i] == '.')) {
    if (line[i] == '.') {
      if (i == segment_start) return false;  // `..` or a leading dot
      dotted = true;
      segment_start = i + 1;
    }
    ++i;
  }
  if (!dotted || i == segment_start) return false;
  if (i < line.size() && line[i] != ':' && line[i] != '(') return false;
  std::string_view last = line.substr(segment_start, i - segment_start);
  return last.find("Exception") != std::string_view::npos ||
         last.find("Error") != std::string_view::npos ||
         last.find("Throwable") != std::string_view::npos;
}

constexpr std::string_view kPythonTraceback = "Traceback (most recent call last):";

bool is_python_chain_line(std::string_view line) {
  return line.starts_with("During handling of the above exception, another exception occurred") ||
         line.starts_with("The above exception was the direct cause of the following exception");
}

// Go: `goroutine 7 [running]:` (also `goroutine 7 gp=0x... m=0 mp=0x... [running]:`).
bool is_go_goroutine_line(std::string_view line) {
  if (!line.starts_with("goroutine ")) return false;
  size_t end = skip_digits(line, 10);
  return end > 10 && end < line.size() && line[end] == ' ' && line.back() == ':';
}

// Go: the first line of a crash report.
bool is_go_start(std::string_view line) {
  if (line.starts_with("panic: ") || line.starts_with("fatal error: ")) return true;
  // `SIGQUIT: quit`, `SIGABRT: abort` (a goroutine dump on a signal).
  if (!line.starts_with("SIG")) return false;
  size_t i = 3;
  while (i < line.size() && line[i] >= 'A' && line[i] <= 'Z') ++i;
  return i > 3 && line.substr(i).starts_with(": ");
}

// Go: a frame's function line, e.g. `main.main()`, `panic({0x45cb40, 0x47ad70})`,
// `github.com/x/y.(*T).Method(0xc000010000, ...)`: a name without spaces, a dot in it, `(`,
// and `)` at the end. Its file line (`\t/path/file.go:42 +0x1d`) is indented.
bool is_go_function_line(std::string_view line) {
  size_t paren = line.find('(');
  if (paren == std::string_view::npos || paren == 0 || line.back() != ')') return false;
  std::string_view name = line.substr(0, paren);
  if (name.find_first_of(" \t") != std::string_view::npos) return false;
  return name.find('.') != std::string_view::npos || name == "panic";
}

bool is_go_continuation(std::string_view line) {
  return line[0] == '\t' || line[0] == ' ' || line.starts_with("created by ") ||
         line.starts_with("[signal ") || line.starts_with("runtime stack:") ||
         line.starts_with("PC=") || line.starts_with("...additional frames elided...") ||
         is_go_goroutine_line(line) || is_go_function_line(line);
}

bool matches(const re2::RE2& re, std::string_view line) {
  return re2::RE2::PartialMatch(re2::StringPiece(line.data(), line.size()), re);
}

// Whether [begin, end) lies inside the batch's own input buffer (writable, and ours to edit).
bool in_buffer(Batch& batch, const char* begin, const char* end) {
  const char* base = batch.bytes.data();
  std::less_equal<const char*> le;
  return base != nullptr && le(base, begin) && le(end, base + batch.bytes.size());
}

std::unique_ptr<re2::RE2> compile(const std::string& pattern, const char* key, std::string* error) {
  if (pattern.empty()) return nullptr;
  auto re = std::make_unique<re2::RE2>(pattern, re2::RE2::Quiet);
  if (!re->ok()) {
    *error = std::string("`") + key + "` is not a valid RE2 pattern: " + re->error();
    return nullptr;
  }
  return re;
}

}  // namespace

MultilineJoiner::MultilineJoiner(const MultilineOptions& options) : options_(options) {
  if (options_.max_lines == 0) options_.max_lines = 1;
}

MultilineJoiner::~MultilineJoiner() = default;

std::unique_ptr<MultilineJoiner> MultilineJoiner::create(const MultilineOptions& options,
                                                         std::string* error,
                                                         LineTimeTest time_test) {
  std::unique_ptr<MultilineJoiner> joiner(new MultilineJoiner(options));
  if (time_test != nullptr) joiner->time_test_ = time_test;
  if (options.mode != MultilineOptions::Mode::Custom) return joiner;
  if (options.start_pattern.empty() && options.continue_pattern.empty()) {
    *error = "multiline mode `custom` needs `start_pattern`, `continue_pattern` or both";
    return nullptr;
  }
  joiner->start_re_ = compile(options.start_pattern, "start_pattern", error);
  if (!options.start_pattern.empty() && !joiner->start_re_) return nullptr;
  joiner->continue_re_ = compile(options.continue_pattern, "continue_pattern", error);
  if (!options.continue_pattern.empty() && !joiner->continue_re_) return nullptr;
  return joiner;
}

// --- classification: one line, given the record being built (open_, phase_) ------------------

MultilineJoiner::Action MultilineJoiner::classify(std::string_view line) {
  switch (options_.mode) {
    case MultilineOptions::Mode::Java:
      return classify_java(line);
    case MultilineOptions::Mode::Python:
      return classify_python(line);
    case MultilineOptions::Mode::Go:
      return classify_go(line);
    case MultilineOptions::Mode::Auto:
      return classify_auto(line);
    case MultilineOptions::Mode::Custom:
      break;
  }
  return classify_custom(line);
}

// Any unindented line may be a logger's message with a trace to follow, so each one starts a
// record; indented lines, `at`, `Caused by:`, `Suppressed:` and `... N more` continue it. The
// exception line a logger prints after its message (unindented) joins while no frame was seen.
MultilineJoiner::Action MultilineJoiner::classify_java(std::string_view line) {
  if (line.empty()) {
    phase_ = Phase::None;
    return Action::Single;
  }
  bool continues = false;
  switch (line[0]) {  // one test for the usual line, which starts with none of these
    case ' ':
    case '\t':
      continues = true;
      break;
    case 'a':
      continues = line.starts_with("at ");
      break;
    case 'C':
      continues = line.starts_with("Caused by:");
      break;
    case 'S':
      continues = line.starts_with("Suppressed:");
      break;
    case '.':
      continues = is_java_more(line);
      break;
    default:
      break;
  }
  if (continues) {
    phase_ = Phase::Frames;
    return Action::Continue;
  }
  if (open_ && phase_ == Phase::Header && is_java_exception_line(line)) {
    phase_ = Phase::Frames;  // one exception line per header; a second one is a new trace
    return Action::Continue;
  }
  phase_ = Phase::Header;
  return Action::Start;
}

// Only `Traceback (most recent call last):` starts a record, so ordinary lines pass straight
// through. Indented frame lines follow; the first unindented line is the exception and belongs
// to the record. After it only chaining ("During handling of the above exception ...", blank
// lines, the next `Traceback`) or indented exception-group detail continues the record.
MultilineJoiner::Action MultilineJoiner::classify_python(std::string_view line) {
  if (line.starts_with(kPythonTraceback)) {
    bool chained = open_ && phase_ == Phase::Chain;
    phase_ = Phase::Frames;
    return chained ? Action::Continue : Action::Start;
  }
  if (!open_) return Action::Single;
  if (line.empty()) return Action::Hold;
  switch (phase_) {
    case Phase::Frames:
      if (!indented(line)) phase_ = Phase::AfterError;
      return Action::Continue;
    case Phase::AfterError:
      if (indented(line)) return Action::Continue;
      if (is_python_chain_line(line)) {
        phase_ = Phase::Chain;
        return Action::Continue;
      }
      break;
    default:
      break;
  }
  phase_ = Phase::None;
  return Action::Single;
}

// `panic: `, `fatal error: ` or a goroutine dump starts a record; inside it blank lines,
// indented file lines, function lines, `goroutine N [...]:`, `created by` and `[signal ...]`
// continue it. Anything else ends it and passes through.
MultilineJoiner::Action MultilineJoiner::classify_go(std::string_view line) {
  if (is_go_start(line) || (!open_ && is_go_goroutine_line(line))) {
    phase_ = Phase::Frames;
    return Action::Start;
  }
  if (!open_) return Action::Single;
  if (line.empty()) return Action::Hold;
  if (is_go_continuation(line)) return Action::Continue;
  phase_ = Phase::None;
  return Action::Single;
}

// start and continue: each does what it says, any other line passes through on its own.
// start only: every other line continues. continue only: every other line starts a record.
MultilineJoiner::Action MultilineJoiner::classify_custom(std::string_view line) {
  if (start_re_ && matches(*start_re_, line)) return Action::Start;
  if (!continue_re_) return Action::Continue;
  if (matches(*continue_re_, line)) return Action::Continue;
  return start_re_ ? Action::Single : Action::Start;
}

// Sampling: lines pass through on their own until kAutoPercent of at least kAutoMinLines
// non-blank lines started with a time (then joining starts, for good), or kAutoSampleLines went
// by without that (then the stream stays line by line, for good). Joining: a line with a time
// starts a record, any other continues it; blank lines belong to it only if more follows.
MultilineJoiner::Action MultilineJoiner::classify_auto(std::string_view line) {
  if (auto_state_ == AutoState::LineByLine) return Action::Single;
  const bool timed = !line.empty() && time_test_(line);
  if (auto_state_ == AutoState::Sampling) {
    if (line.empty()) return Action::Single;
    ++auto_sampled_;
    auto_timed_ += timed;
    if (auto_sampled_ >= kAutoMinLines && auto_timed_ * 100 >= auto_sampled_ * kAutoPercent) {
      auto_state_ = AutoState::Joining;
    } else {
      if (auto_sampled_ >= kAutoSampleLines) auto_state_ = AutoState::LineByLine;
      return Action::Single;
    }
  }
  if (timed) return Action::Start;
  if (line.empty()) return open_ ? Action::Hold : Action::Single;
  return Action::Continue;
}

// --- building records -------------------------------------------------------------------------

void MultilineJoiner::begin(const Event& event) {
  record_.first = event;
  record_.begin = event.line.data();
  record_.size = event.line.size();
  record_.src_end = record_.begin + record_.size;
  record_.lines = 1;
  record_.flags = event.flags;
  record_.buffered = false;
  open_ = true;
}

void MultilineJoiner::append(Batch& batch, const Event& event) {
  const std::string_view line = event.line;
  ++record_.lines;
  record_.flags |= event.flags;
  if (!record_.buffered) {
    // The framer left the line right after the previous one, past its "\n" or "\r\n": the
    // record stays a view of the batch. (Pointers are compared before any byte is read.)
    const char* p = line.data();
    const char* end = record_.src_end;
    bool after_lf = p == end + 1 && end[0] == '\n';
    bool after_crlf = p == end + 2 && end[0] == '\r' && end[1] == '\n';
    if (after_lf && record_.begin + record_.size == end) {
      record_.size += 1 + line.size();
      record_.src_end = p + line.size();
      return;
    }
    // After a "\r\n" (or once a "\r" was dropped) the line moves left within the record's own
    // bytes, which no other event uses: "\n" joins the lines whichever way the input ended
    // them, still without a copy.
    if ((after_lf || after_crlf) && in_buffer(batch, record_.begin, p + line.size())) {
      char* base = batch.bytes.data();
      char* write = base + (record_.begin - base) + record_.size;
      *write = '\n';
      std::memmove(write + 1, p, line.size());
      record_.size += 1 + line.size();
      record_.src_end = p + line.size();
      return;
    }
    buffer_.clear();
    buffer_.append(std::string_view(record_.begin, record_.size));
    record_.buffered = true;
  }
  buffer_.push_back('\n');
  buffer_.append(line);
  record_.size += 1 + line.size();
}

void MultilineJoiner::add_continuation(Batch& batch, const Event& event) {
  // Blank lines held back belong to the record after all.
  held_.push_back(event);
  for (const Event& line : held_) {
    if (record_.lines >= options_.max_lines ||
        record_.size + 1 + line.line.size() > options_.max_bytes) {
      // Hand on what there is; the rest of the record's lines start a new one.
      ++records_cut_;
      emit(batch, out_);
      begin(line);
      continue;
    }
    append(batch, line);
  }
  held_.clear();
}

void MultilineJoiner::emit(Batch& batch, std::vector<Event>& out) {
  Event event = record_.first;
  event.flags = record_.flags;
  if (!record_.buffered) {
    event.line = std::string_view(record_.begin, record_.size);
  } else {
    size_t n = buffer_.size();
    char* p = batch.arena.allocate(n + kReadPadding);
    if (n) std::memcpy(p, buffer_.data(), n);
    std::memset(p + n, 0, kReadPadding);
    event.line = std::string_view(p, n);
  }
  out.push_back(event);
  open_ = false;
}

void MultilineJoiner::end_record(Batch& batch, std::vector<Event>& out) {
  emit(batch, out);
  // Blank lines that turned out not to continue the record pass through after it.
  for (const Event& line : held_) out.push_back(line);
  held_.clear();
}

void MultilineJoiner::keep_pending() {
  if (!record_.buffered) {
    buffer_.clear();
    buffer_.append(std::string_view(record_.begin, record_.size));
    record_.buffered = true;
  }
  // The batch is handed on and recycled: nothing may point into it any more.
  record_.begin = nullptr;
  record_.src_end = nullptr;
  for (Event& line : held_) line.line = std::string_view(kEmptyLine);  // all NULs: empty
}

void MultilineJoiner::join(Batch& batch, int64_t now_ns) {
  if (batch.events.empty()) return;
  out_.clear();
  out_.reserve(batch.events.size() + 1 + held_.size());
  for (const Event& event : batch.events) {
    if (open_ && event.stream_id != record_.first.stream_id) {
      end_record(batch, out_);
      phase_ = Phase::None;
    }
    if (event.flags & kFlagSplit) {
      // A piece of an over-long line: no pattern can tell where it belongs, and its pieces
      // are not separated by a newline, so it is never joined.
      if (open_) end_record(batch, out_);
      phase_ = Phase::None;
      out_.push_back(event);
      continue;
    }
    switch (classify(event.line)) {
      case Action::Start:
        if (open_) end_record(batch, out_);
        begin(event);
        break;
      case Action::Continue:
        if (open_) {
          add_continuation(batch, event);
        } else {
          begin(event);
        }
        break;
      case Action::Hold:
        held_.push_back(event);
        break;
      case Action::Single:
        if (open_) end_record(batch, out_);
        out_.push_back(event);
        break;
    }
  }
  last_line_ns_ = now_ns;
  if (open_) keep_pending();
  batch.events.swap(out_);
}

void MultilineJoiner::flush(Batch& batch, int64_t now_ns, bool force) {
  if (!open_ || (!force && now_ns < pending_deadline_ns())) return;
  end_record(batch, batch.events);
  phase_ = Phase::None;
}

bool valid_multiline_pattern(const std::string& pattern, const char* key, std::string* error) {
  return pattern.empty() || compile(pattern, key, error) != nullptr;
}

}  // namespace sluice
