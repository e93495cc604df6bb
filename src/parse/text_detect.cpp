// Hot path: runs once per plain-text line. Every check is a byte comparison at a known position,
// dispatched on the first byte, so a line that matches nothing costs a few comparisons.
#include "parse/text_detect.hpp"

#include <algorithm>
#include <array>

#include "base/level.hpp"
#include "parse/clf_parser.hpp"
#include "parse/klog_parser.hpp"
#include "parse/line_fields.hpp"
#include "parse/logcat_parser.hpp"
#include "parse/syslog_parser.hpp"
#include "parse/year_inference.hpp"

namespace sluice {
namespace {

inline unsigned digit_value(char c) {
  return static_cast<unsigned>(static_cast<unsigned char>(c)) - '0';
}
inline bool is_digit(char c) { return digit_value(c) <= 9; }
inline bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
inline bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
inline bool is_alpha(char c) { return is_upper(c) || is_lower(c); }

// The line being read and a position in it; every accessor is bounds-checked.
struct Cursor {
  std::string_view s;
  size_t i = 0;

  [[nodiscard]] bool at_end() const { return i >= s.size(); }
  [[nodiscard]] char peek(size_t ahead = 0) const {
    return i + ahead < s.size() ? s[i + ahead] : '\0';
  }
  [[nodiscard]] bool has(size_t n) const { return s.size() - i >= n && i <= s.size(); }
  bool eat(char c) {
    if (peek() != c) return false;
    ++i;
    return true;
  }
  bool eat(std::string_view text) {
    if (s.substr(i < s.size() ? i : s.size()).starts_with(text)) {
      i += text.size();
      return true;
    }
    return false;
  }
  size_t skip_spaces() {
    const size_t start = i;
    while (i < s.size() && s[i] == ' ') ++i;
    return i - start;
  }
  // The value of `n` digits at the cursor (advancing), or -1 (not advancing).
  int digits(size_t n) {
    if (!has(n)) return -1;
    int v = 0;
    for (size_t k = 0; k < n; ++k) {
      const unsigned d = digit_value(s[i + k]);
      if (d > 9) return -1;
      v = v * 10 + static_cast<int>(d);
    }
    i += n;
    return v;
  }
  // A run of 1..max digits.
  std::string_view digit_run(size_t max = 20) {
    const size_t start = i;
    while (i < s.size() && i - start < max && is_digit(s[i])) ++i;
    return s.substr(start, i - start);
  }
  [[nodiscard]] std::string_view rest() const {
    return i < s.size() ? s.substr(i) : s.substr(0, 0);
  }
};

// Sets the civil fields; range checks come later (resolve_line_time).
void set_date(LineTime& t, int year, int month, int day) {
  t.year = year;
  t.has_year = true;
  t.month = static_cast<uint8_t>(month);
  t.day = static_cast<uint8_t>(day);
}

// `HH:MM:SS` at the cursor.
bool read_hms(Cursor& c, LineTime& t) {
  const size_t start = c.i;
  const int h = c.digits(2);
  if (h < 0 || !c.eat(':')) return c.i = start, false;
  const int m = c.digits(2);
  if (m < 0 || !c.eat(':')) return c.i = start, false;
  const int sec = c.digits(2);
  if (sec < 0) return c.i = start, false;
  t.hour = static_cast<uint8_t>(h);
  t.minute = static_cast<uint8_t>(m);
  t.second = static_cast<uint8_t>(sec);
  return true;
}

// `.f+` or `,f+` (1..9 digits kept, more dropped); nothing when no digit follows the mark, so a
// Windows CBS `, Info` is left for its own rule.
void read_fraction(Cursor& c, LineTime& t) {
  if ((c.peek() != '.' && c.peek() != ',') || !is_digit(c.peek(1))) return;
  ++c.i;
  uint32_t v = 0;
  unsigned n = 0;
  while (!c.at_end() && is_digit(c.peek())) {
    if (n < 9) {
      v = v * 10 + digit_value(c.peek());
      ++n;
    }
    ++c.i;
  }
  for (unsigned k = n; k < 9; ++k) v *= 10;
  t.nanos = v;
}

// `Z`, `+hh:mm`, `+hhmm` or `+hh` right after the time (or after one space for `+hhmm`).
void read_zone(Cursor& c, LineTime& t) {
  if (c.peek() == 'Z' || c.peek() == 'z') {
    ++c.i;
    t.has_zone = true;
    t.utc_offset_seconds = 0;
    return;
  }
  const size_t start = c.i;
  const bool spaced = c.peek() == ' ' && (c.peek(1) == '+' || c.peek(1) == '-');
  if (spaced) ++c.i;
  if (c.peek() != '+' && c.peek() != '-') return;
  const bool negative = c.peek() == '-';
  ++c.i;
  const int hh = c.digits(2);
  int mm = 0;
  if (hh >= 0) {
    if (c.eat(':')) {
      mm = c.digits(2);
    } else if (is_digit(c.peek())) {
      mm = c.digits(2);
    } else if (spaced) {
      mm = -1;  // ` +01` is too likely a number in the message
    }
  }
  const char after = c.peek();
  if (hh < 0 || hh > 23 || mm < 0 || mm > 59 || (after != '\0' && after != ' ' && after != ']')) {
    c.i = start;
    return;
  }
  t.has_zone = true;
  t.utc_offset_seconds = (hh * 3600 + mm * 60) * (negative ? -1 : 1);
}

// `YYYY<sep>MM<sep>DD<T|space>HH:MM:SS[fraction][zone]`, sep `-` (ISO) or `/` (Go, nginx).
bool read_ymd_time(Cursor& c, LineTime& t, char sep, bool allow_t) {
  const size_t start = c.i;
  const int y = c.digits(4);
  if (y < 0 || !c.eat(sep)) return c.i = start, false;
  const int mo = c.digits(2);
  if (mo < 0 || !c.eat(sep)) return c.i = start, false;
  const int d = c.digits(2);
  if (d < 0) return c.i = start, false;
  if (!c.eat(' ') && !(allow_t && (c.eat('T') || c.eat('t')))) return c.i = start, false;
  if (!read_hms(c, t)) return c.i = start, false;
  set_date(t, y, mo, d);
  read_fraction(c, t);
  read_zone(c, t);
  return true;
}

// A level word: letters only, a name of the one level table (base/level.hpp), written in one
// case or capitalised, at least three letters (single letters belong to layouts that put them
// at a fixed place), and ending at a space, `:`, `]`, `,` or the end of the line.
std::string_view read_level_word(Cursor& c) {
  const size_t start = c.i;
  size_t j = c.i;
  while (j < c.s.size() && is_alpha(c.s[j]) && j - start < 14) ++j;
  const size_t n = j - start;
  if (n < 3) return {};
  const char after = j < c.s.size() ? c.s[j] : ' ';
  if (after != ' ' && after != ':' && after != ']' && after != ',') return {};
  const std::string_view word = c.s.substr(start, n);
  bool upper = true, lower = true;
  for (size_t k = 1; k < n; ++k) {
    upper = upper && is_upper(word[k]);
    lower = lower && is_lower(word[k]);
  }
  if (!(upper && is_upper(word[0])) && !lower) return {};
  if (!parse_level_name(word)) return {};
  c.i = j;
  return word;
}

// The bytes of a logger name, one table lookup each (names run to tens of bytes).
constexpr std::array<bool, 256> kLoggerChars = [] {
  std::array<bool, 256> table{};
  for (int c = 0; c < 256; ++c) {
    table[c] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '.' || c == '_' || c == '$' || c == '-' || c == '/' || c == '#';
  }
  return table;
}();

// A logger/module name (`org.apache.Foo`, `executor.CoarseGrainedExecutorBackend`, `root`).
std::string_view read_logger(Cursor& c) {
  const size_t start = c.i;
  const size_t end = std::min(c.s.size(), start + 256);
  size_t j = c.i;
  while (j < end && kLoggerChars[static_cast<unsigned char>(c.s[j])]) ++j;
  if (j == start) return {};
  c.i = j;
  return c.s.substr(start, j - start);
}

// `[...]` at the cursor: the inside, brackets balanced (Zookeeper's `[QuorumPeer[myid=1]/...]`).
std::string_view read_bracketed(Cursor& c, size_t max = 512) {
  if (c.peek() != '[') return {};
  int depth = 0;
  for (size_t j = c.i; j < c.s.size() && j - c.i < max; ++j) {
    if (c.s[j] == '[') ++depth;
    if (c.s[j] == ']' && --depth == 0) {
      const std::string_view inside = c.s.substr(c.i + 1, j - c.i - 1);
      c.i = j + 1;
      return inside;
    }
  }
  return {};
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

void finish_message(Cursor& c, TextLine& out) {
  c.skip_spaces();
  out.message = c.rest();
}

// After `LEVEL`: Spring Boot's `pid --- [thread] logger : msg`, log4j's `[thread] logger: msg`,
// `logger: msg`, logback's `logger - msg`, or the message itself.
void after_level(Cursor& c, TextLine& out) {
  if (c.eat(':')) return finish_message(c, out);
  if (c.skip_spaces() == 0) return finish_message(c, out);
  const size_t start = c.i;
  // Spring Boot: `  INFO 12345 --- [           main] o.s.b.Foo          : Started`
  std::string_view pid = c.digit_run();
  if (!pid.empty() && c.eat(" --- ")) {
    c.skip_spaces();
    std::string_view thread = read_bracketed(c, 256);
    if (thread.data() != nullptr) {
      out.pid = pid;
      out.thread = trim(thread);
      c.skip_spaces();
      const size_t logger_start = c.i;
      std::string_view logger = read_logger(c);
      c.skip_spaces();
      if (!logger.empty() && c.eat(": ")) {
        out.logger = logger;
        out.message = c.rest();
        return;
      }
      c.i = logger_start;
      return finish_message(c, out);
    }
  }
  c.i = start;
  // log4j `INFO [main] org.Foo: msg`
  if (c.peek() == '[') {
    std::string_view thread = read_bracketed(c, 256);
    if (thread.data() == nullptr || !c.eat(' ')) {
      c.i = start;
      return finish_message(c, out);
    }
    out.thread = thread;
  }
  const size_t logger_start = c.i;
  std::string_view logger = read_logger(c);
  if (!logger.empty()) {
    if (c.eat(": ") || (c.peek() == ':' && c.i + 1 == c.s.size() && c.eat(':'))) {
      out.logger = logger;
      return finish_message(c, out);
    }
    const size_t after_logger = c.i;
    if (c.skip_spaces() > 0 && c.eat("- ")) {
      out.logger = logger;
      return finish_message(c, out);
    }
    // OpenStack: `INFO nova.osapi_compute.wsgi.server [req-...] msg`
    c.i = after_logger;
    if (logger.find('.') != std::string_view::npos && c.peek() == ' ' && c.peek(1) == '[') {
      out.logger = logger;
      return finish_message(c, out);
    }
  }
  c.i = logger_start;
  finish_message(c, out);
}

// What follows a time at the start of a line. Returns false only when nothing sensible follows
// (the time is glued to a word: `2024-01-02T03:04:05Zfoo`).
bool after_time(Cursor& c, TextLine& out, bool require_level) {
  // Windows CBS: `2016-09-28 04:30:30, Info                  CBS    Loaded ...`
  if (c.peek() == ',' && c.peek(1) == ' ') {
    Cursor probe = c;
    ++probe.i;
    probe.skip_spaces();
    std::string_view level = read_level_word(probe);
    if (!level.empty() && probe.skip_spaces() > 0) {
      std::string_view component = read_logger(probe);
      if (!component.empty() && probe.skip_spaces() > 0) {
        out.format = TextFormat::WindowsCbs;
        out.level = level;
        out.logger = component;
        out.message = probe.rest();
        return true;
      }
    }
    return false;
  }
  if (c.at_end()) {
    out.message = c.rest();
    return !require_level;
  }
  if (c.peek() != ' ') return false;
  c.skip_spaces();
  const size_t start = c.i;

  // `[error] 12#12: msg` (nginx), `[INFO] msg`, or logback's `[thread] LEVEL logger - msg`.
  if (c.peek() == '[') {
    Cursor inner = c;
    std::string_view bracket = read_bracketed(inner, 256);
    if (bracket.data() != nullptr) {
      Cursor word{bracket, 0};
      std::string_view level = read_level_word(word);
      if (!level.empty() && word.at_end()) {
        out.level = level;
        c = inner;
        c.skip_spaces();
        // nginx `12#34: ` is pid#tid
        Cursor ids = c;
        std::string_view pid = ids.digit_run();
        if (!pid.empty() && ids.eat('#')) {
          std::string_view tid = ids.digit_run();
          if (!tid.empty() && ids.eat(": ")) {
            out.pid = pid;
            out.thread = tid;
            c = ids;
          }
        }
        return finish_message(c, out), true;
      }
      Cursor after = inner;
      if (after.skip_spaces() > 0) {
        std::string_view level2 = read_level_word(after);
        if (!level2.empty()) {
          out.thread = bracket;
          out.level = level2;
          c = after;
          after_level(c, out);
          return true;
        }
      }
    }
    if (require_level) return false;
    c.i = start;
    return finish_message(c, out), true;
  }
  // Python `- name - LEVEL - msg`, Zookeeper `- LEVEL  [thread:Class@line] - msg`.
  if (c.eat("- ")) {
    std::string_view level = read_level_word(c);
    if (!level.empty() && c.peek() == ' ') {
      out.level = level;
      return finish_message(c, out), true;
    }
    std::string_view logger = read_logger(c);
    if (!logger.empty() && c.eat(" - ")) {
      level = read_level_word(c);
      if (!level.empty() && c.eat(" - ")) {
        out.logger = logger;
        out.level = level;
        out.message = c.rest();
        return true;
      }
    }
    if (require_level) return false;
    c.i = start;
    return finish_message(c, out), true;
  }
  // OpenStack / Python services: `25746 INFO nova.x [req-...] msg` (pid, then the level).
  if (is_digit(c.peek())) {
    Cursor probe = c;
    std::string_view pid = probe.digit_run(10);
    if (probe.skip_spaces() > 0) {
      std::string_view level = read_level_word(probe);
      if (!level.empty()) {
        out.pid = pid;
        out.level = level;
        c = probe;
        after_level(c, out);
        return true;
      }
    }
    if (require_level) return false;
    return finish_message(c, out), true;
  }
  std::string_view level = read_level_word(c);
  if (!level.empty()) {
    out.level = level;
    after_level(c, out);
    return true;
  }
  // Laravel / Monolog `production.ERROR: msg`: a channel, a dot, the level, a colon.
  {
    Cursor probe = c;
    std::string_view channel = read_logger(probe);
    const size_t dot = channel.rfind('.');
    if (dot != std::string_view::npos && dot > 0 && probe.peek() == ':') {
      Cursor word{channel.substr(dot + 1), 0};
      std::string_view lvl = read_level_word(word);
      if (!lvl.empty() && word.at_end()) {
        // read_level_word wants a boundary after the word; the channel's end is one.
        out.logger = channel.substr(0, dot);
        out.level = lvl;
        ++probe.i;
        c = probe;
        return finish_message(c, out), true;
      }
    }
  }
  if (require_level) return false;
  finish_message(c, out);
  return true;
}

// A line starting with a digit: ISO, `YYYY/MM/DD`, or `yy/MM/dd`.
bool detect_digit_start(Cursor& c, TextLine& out) {
  if (c.peek(4) == '-' && read_ymd_time(c, out.time, '-', true)) {
    out.format = TextFormat::Iso8601;
    out.has_time = true;
    return after_time(c, out, false);
  }
  if (c.peek(4) == '/' && read_ymd_time(c, out.time, '/', false)) {
    out.format = TextFormat::Iso8601;
    out.has_time = true;
    return after_time(c, out, false);
  }
  if (c.peek(2) == '/' && c.peek(5) == '/' && c.peek(8) == ' ') {
    // log4j `yy/MM/dd HH:mm:ss LEVEL`: only with the level, as `06/09/17` alone may be US order.
    const int yy = c.digits(2);
    c.i += 1;
    const int mo = c.digits(2);
    c.i += 1;
    const int d = c.digits(2);
    c.i += 1;
    if (yy < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || !read_hms(c, out.time)) return false;
    set_date(out.time, 2000 + yy, mo, d);
    read_fraction(c, out.time);
    out.format = TextFormat::Iso8601;
    out.has_time = true;
    return after_time(c, out, true);
  }
  return false;
}

unsigned month_from_name(std::string_view s) {
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (unsigned m = 0; m < 12; ++m) {
    if (s == kMonths[m]) return m + 1;
  }
  return 0;
}

bool is_day_name(std::string_view s) {
  static constexpr std::string_view kDays[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
  for (std::string_view d : kDays) {
    if (s == d) return true;
  }
  return false;
}

// Apache error log: `[Sun Dec 04 04:47:44 2005] [notice] msg` and 2.4's
// `[Fri Sep 09 10:42:29.902022 2011] [core:error] [pid 35708:tid 4328636416] msg`.
bool detect_apache_error(Cursor& c, TextLine& out) {
  if (!c.has(26) || !is_day_name(c.s.substr(c.i, 3)) || c.peek(3) != ' ' || c.peek(7) != ' ')
    return false;
  const unsigned month = month_from_name(c.s.substr(c.i + 4, 3));
  if (month == 0) return false;
  c.i += 8;
  const int day = c.digits(2);
  if (day < 0 || !c.eat(' ') || !read_hms(c, out.time)) return false;
  read_fraction(c, out.time);
  if (!c.eat(' ')) return false;
  const int year = c.digits(4);
  if (year < 0 || !c.eat("] [")) return false;
  set_date(out.time, year, static_cast<int>(month), day);
  --c.i;
  std::string_view bracket = read_bracketed(c, 64);
  if (bracket.data() == nullptr) return false;
  const size_t colon = bracket.rfind(':');
  if (colon != std::string_view::npos) {
    out.logger = bracket.substr(0, colon);  // the module
    bracket = bracket.substr(colon + 1);
  }
  Cursor word{bracket, 0};
  out.level = read_level_word(word);
  if (out.level.empty() || !word.at_end()) return false;
  out.format = TextFormat::ApacheError;
  out.has_time = true;
  c.skip_spaces();
  // `[pid 35708:tid 4328636416] `
  if (c.eat("[pid ")) {
    out.pid = c.digit_run();
    if (c.eat(":tid ")) out.thread = c.digit_run();
    while (!c.at_end() && c.peek() != ']') ++c.i;
    c.eat(']');
  }
  finish_message(c, out);
  return true;
}

// A line starting with `[`: a bracketed time, or an Apache error log line.
bool detect_bracket_start(Cursor& c, TextLine& out) {
  c.eat('[');
  if (is_alpha(c.peek())) return detect_apache_error(c, out);
  if (!is_digit(c.peek())) return false;
  if ((c.peek(4) == '-' && read_ymd_time(c, out.time, '-', true)) ||
      (c.peek(4) == '/' && read_ymd_time(c, out.time, '/', false))) {
    if (!c.eat(']')) return false;
  } else if (c.peek(2) == '/' && c.peek(6) == '/' && c.peek(11) == ':') {
    // `[10/Oct/2000:13:55:36 -0700]`
    const int day = c.digits(2);
    c.eat('/');
    const unsigned month = month_from_name(c.s.substr(c.i, 3));
    c.i += 4;
    const int year = c.digits(4);
    if (day < 0 || month == 0 || year < 0 || !c.eat(':') || !read_hms(c, out.time)) return false;
    set_date(out.time, year, static_cast<int>(month), day);
    read_fraction(c, out.time);
    read_zone(c, out.time);
    if (!c.eat(']')) return false;
  } else {
    return false;
  }
  out.format = TextFormat::Bracketed;
  out.has_time = true;
  return after_time(c, out, false);
}

// Ruby Logger: `I, [2024-01-02T03:04:05.123456 #1234]  INFO -- progname: msg`.
bool detect_ruby(Cursor& c, TextLine& out) {
  c.i = 1;
  if (!c.eat(", [") || !read_ymd_time(c, out.time, '-', true) || !c.eat(" #")) return false;
  out.pid = c.digit_run(10);
  if (out.pid.empty() || !c.eat(']') || c.skip_spaces() == 0) return false;
  out.level = read_level_word(c);
  if (out.level.empty() || out.level.front() != c.s.front()) return false;
  if (!c.eat(" -- ")) return false;
  const size_t colon = c.rest().find(": ");
  if (colon != std::string_view::npos) {
    out.logger = c.s.substr(c.i, colon);
    c.i += colon + 2;
  } else if (c.peek() == ':') {
    c.i += 1;
  }
  out.message = c.rest();
  if (out.message.starts_with(' ')) out.message.remove_prefix(1);
  out.format = TextFormat::RubyLogger;
  out.has_time = true;
  return true;
}

// Python logging's default format without a time: `WARNING:root:msg`.
bool detect_python_bare(Cursor& c, TextLine& out) {
  static constexpr std::string_view kNames[] = {
      "DEBUG:", "INFO:", "WARNING:", "ERROR:", "CRITICAL:"};
  const char first = c.s[0];
  if (first != 'D' && first != 'I' && first != 'W' && first != 'E' && first != 'C') return false;
  for (std::string_view name : kNames) {
    if (!c.s.starts_with(name)) continue;
    c.i = name.size();
    std::string_view logger = read_logger(c);
    if (logger.empty() || !c.eat(':')) return false;
    out.level = c.s.substr(0, name.size() - 1);
    out.logger = logger;
    out.message = c.rest();
    out.format = TextFormat::PythonBare;
    return true;
  }
  return false;
}

}  // namespace

bool detect_text_line(std::string_view line, TextLine& out) {
  out = TextLine{};
  if (line.size() < 8) return false;
  Cursor c{line, 0};
  const char first = line[0];
  bool found = false;
  if (is_digit(first)) {
    found = detect_digit_start(c, out);
  } else if (first == '[') {
    found = detect_bracket_start(c, out);
  } else if (is_upper(first)) {
    if (line[1] == ',') {
      found = detect_ruby(c, out);
    } else {
      found = detect_python_bare(c, out);
    }
  }
  if (!found) out = TextLine{};
  return found;
}

bool parse_text_line(std::string_view line, const TimestampContext& ctx, Batch& batch,
                     Event& event) {
  TextLine text;
  if (detect_text_line(line, text)) {
    // An invalid time (Feb 30, 25:00) means the line is not this layout after all.
    if (text.has_time && !apply_line_time(event, text.time, ctx)) return false;
    if (!text.level.empty()) push_string(batch, "level", text.level);
    push_string(batch, "message", text.message);
    if (!text.logger.empty()) push_string(batch, "log.logger", text.logger);
    push_digits(batch, "process.pid", text.pid);
    if (!text.thread.empty()) push_string(batch, "process.thread.name", text.thread);
    if (!text.host.empty()) push_string(batch, "host.hostname", text.host);
    return true;
  }
  // The layouts that have a named parser: theirs is the one reading of them. Each starts with
  // a different kind of byte, so at most two are tried.
  const char first = line.empty() ? '\0' : line.front();
  if (first == '<') return parse_syslog_line(line, ctx, batch, event);
  if (is_digit(first) && line.size() > 5 && line[2] == '-' && line[5] == ' ') {
    return parse_logcat_line(line, ctx, batch, event);
  }
  if (is_upper(first) && line.size() > 1 && is_digit(line[1])) {
    return parse_klog_line(line, ctx, batch, event);
  }
  if (is_alpha(first) && line.size() > 3 && line[3] == ' ' &&
      parse_syslog_line(line, ctx, batch, event)) {
    return true;
  }
  return parse_clf_line(line, ctx, batch, event);
}

}  // namespace sluice
