// Hot path for `parser: klog`: fixed positions for the header, one scan for `] `.
#include "parse/klog_parser.hpp"

#include "parse/line_fields.hpp"

namespace sluice {

bool recognise_klog(std::string_view line, KlogLine& out) {
  out = KlogLine{};
  // `Lmmdd hh:mm:ss` is 14 bytes; then the fraction, the padded id, `file:line] `.
  if (line.size() < 20) return false;
  const char level = line[0];
  if (level != 'I' && level != 'W' && level != 'E' && level != 'F') return false;
  const int month = fixed_digits(line, 1, 2), day = fixed_digits(line, 3, 2);
  if (month < 1 || month > 12 || day < 1 || day > 31 || line[5] != ' ') return false;
  LineTime& time = out.text.time;
  time.month = static_cast<uint8_t>(month);
  time.day = static_cast<uint8_t>(day);
  size_t i = read_clock(line, 6, time);
  if (i == 0 || i >= line.size() || line[i] != ' ') return false;
  while (i < line.size() && line[i] == ' ') ++i;
  const size_t pid_start = i;
  while (i < line.size() && is_ascii_digit(line[i])) ++i;
  if (i == pid_start || i >= line.size() || line[i] != ' ') return false;
  std::string_view pid = line.substr(pid_start, i - pid_start);
  ++i;
  // `file.go:42] `: the file holds no space, the line number is digits.
  const size_t close = line.find(']', i);
  if (close == std::string_view::npos) return false;
  std::string_view origin = line.substr(i, close - i);
  const size_t colon = origin.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || origin.find(' ') != std::string_view::npos)
    return false;
  std::string_view number = origin.substr(colon + 1);
  if (!all_digits(number)) return false;
  if (close + 1 < line.size() && line[close + 1] != ' ') return false;
  out.file = origin.substr(0, colon);
  out.line_number = number;
  out.text.format = TextFormat::Klog;
  out.text.has_time = true;
  out.text.level = line.substr(0, 1);
  out.text.pid = pid;
  out.text.message = line.substr(std::min(line.size(), close + 2));
  return true;
}

bool parse_klog_line(std::string_view line, const TimestampContext& ctx, Batch& batch,
                     Event& event) {
  KlogLine parts;
  if (!recognise_klog(line, parts) || !apply_line_time(event, parts.text.time, ctx)) return false;
  push_string(batch, "level", parts.text.level);
  push_digits(batch, "process.pid", parts.text.pid);
  push_string(batch, "log.origin.file.name", parts.file);
  push_digits(batch, "log.origin.file.line", parts.line_number);
  push_string(batch, "message", parts.text.message);
  return true;
}

}  // namespace sluice
