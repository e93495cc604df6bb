// Hot path for `parser: logcat`: fixed positions for the date and time, short scans for the
// space-padded ids and the tag.
#include "parse/logcat_parser.hpp"

#include "parse/line_fields.hpp"

namespace sluice {

namespace {

// Space-padded digits starting at or after s[i]; sets `digits`, returns the index after them.
size_t padded_number(std::string_view s, size_t i, std::string_view& digits) {
  while (i < s.size() && s[i] == ' ') ++i;
  const size_t start = i;
  while (i < s.size() && is_ascii_digit(s[i])) ++i;
  digits = s.substr(start, i - start);
  return i;
}

bool is_logcat_level(char c) {
  return c == 'V' || c == 'D' || c == 'I' || c == 'W' || c == 'E' || c == 'F' || c == 'A';
}

}  // namespace

bool recognise_logcat(std::string_view line, LogcatLine& out) {
  out = LogcatLine{};
  // `MM-DD hh:mm:ss.mmm` is 18 bytes.
  if (line.size() < 24) return false;
  const int month = fixed_digits(line, 0, 2), day = fixed_digits(line, 3, 2);
  if (month < 1 || month > 12 || day < 1 || day > 31 || line[2] != '-' || line[5] != ' ')
    return false;
  LineTime& time = out.text.time;
  time.month = static_cast<uint8_t>(month);
  time.day = static_cast<uint8_t>(day);
  size_t i = read_clock(line, 6, time);
  if (i == 0 || i >= line.size() || line[i] != ' ') return false;
  std::string_view pid, tid;
  i = padded_number(line, i, pid);
  if (pid.empty() || i >= line.size() || line[i] != ' ') return false;
  i = padded_number(line, i, tid);
  if (tid.empty() || i + 2 >= line.size() || line[i] != ' ') return false;
  const char level = line[i + 1];
  if (!is_logcat_level(level) || line[i + 2] != ' ') return false;
  i += 3;
  // `Tag: msg`; newer logcat pads the tag (`chatty  : ...`). A message may be empty.
  const size_t colon = line.find(':', i);
  if (colon == std::string_view::npos || colon == i) return false;
  if (colon + 1 < line.size() && line[colon + 1] != ' ') return false;
  size_t tag_end = colon;
  while (tag_end > i && line[tag_end - 1] == ' ') --tag_end;
  if (tag_end == i) return false;
  out.text.format = TextFormat::Logcat;
  out.text.has_time = true;
  out.text.level = line.substr(i - 2, 1);
  out.text.pid = pid;
  out.thread_id = tid;
  out.text.logger = line.substr(i, tag_end - i);
  out.text.message = line.substr(std::min(line.size(), colon + 2));
  return true;
}

bool parse_logcat_line(std::string_view line, const TimestampContext& ctx, Batch& batch,
                       Event& event) {
  LogcatLine parts;
  if (!recognise_logcat(line, parts) || !apply_line_time(event, parts.text.time, ctx)) return false;
  push_string(batch, "level", parts.text.level);
  push_digits(batch, "process.pid", parts.text.pid);
  push_digits(batch, "process.thread.id", parts.thread_id);
  push_string(batch, "log.logger", parts.text.logger);
  push_string(batch, "message", parts.text.message);
  return true;
}

}  // namespace sluice
