// Hot path: runs once per plain-text line. Every check is a byte comparison at a known position,
// dispatched on the first byte, so a line that matches nothing costs a few comparisons.
#include "parse/text_detect.hpp"

#include "parse/clf_parser.hpp"
#include "parse/klog_parser.hpp"
#include "parse/line_fields.hpp"
#include "parse/logcat_parser.hpp"
#include "parse/syslog_parser.hpp"
#include "parse/text_cursor.hpp"
#include "parse/year_inference.hpp"

namespace sluice {
namespace {

// The cursor and the readers of a line's pieces (text_cursor.hpp).
using namespace text_detail;

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

// A Java class name as log4j's %C writes it: `FastLeaderElection`, `QuorumCnxManager$Listener`,
// `org.apache.Foo`.
bool is_java_class(std::string_view s) {
  if (s.empty() || is_digit(s.front())) return false;
  for (char ch : s) {
    if (!is_alpha(ch) && !is_digit(ch) && ch != '_' && ch != '$' && ch != '.') return false;
  }
  return true;
}

// Zookeeper's `[%t:%C{1}@%L] - ` after the level: `[QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181:
// FastLeaderElection@774] - msg`. The thread may hold colons and brackets, so the location is
// what follows the last colon, and it must be a class, `@` and a line number, with ` - ` after
// the bracket; anything else leaves the cursor where it was (the bracket stays in the message).
void read_log4j_location(Cursor& c, TextLine& out) {
  Cursor probe = c;
  const std::string_view inside = read_bracketed(probe, 512);
  if (inside.data() == nullptr || !probe.eat(" - ")) return;
  const size_t colon = inside.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return;
  const std::string_view location = inside.substr(colon + 1);
  const size_t at = location.rfind('@');
  if (at == std::string_view::npos || !is_java_class(location.substr(0, at)) ||
      !all_digits(location.substr(at + 1)))
    return;
  out.thread = inside.substr(0, colon);
  out.logger = location.substr(0, at);
  out.source_line = location.substr(at + 1);
  c = probe;
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
      c.skip_spaces();
      read_log4j_location(c, out);
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
  // What the general order below comes to for such a line, without trying the others first.
  if (starts_like_bsd_syslog(line)) {
    return parse_syslog_line(line, ctx, batch, event) || parse_clf_line(line, ctx, batch, event);
  }
  TextLine text;
  if (detect_text_line(line, text)) {
    // An invalid time (Feb 30, 25:00) means the line is not this layout after all.
    if (text.has_time && !apply_line_time(event, text.time, ctx)) return false;
    if (!text.level.empty()) push_string(batch, "level", text.level);
    push_string(batch, "message", text.message);
    if (!text.logger.empty()) push_string(batch, "log.logger", text.logger);
    push_digits(batch, "process.pid", text.pid);
    push_digits(batch, "log.origin.file.line", text.source_line);
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
