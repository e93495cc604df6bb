#include "base/duration.hpp"

#include <charconv>

namespace sluice {

namespace {

constexpr double kTwoTo63 = 9223372036854775808.0;

std::string_view trim_blanks(std::string_view s) {
  size_t begin = s.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return {};
  size_t end = s.find_last_not_of(" \t");
  return s.substr(begin, end - begin + 1);
}

// Nanoseconds per unit; 0 for an unknown unit.
double unit_scale(std::string_view unit) {
  static constexpr std::pair<std::string_view, double> kUnits[] = {
      {"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}, {"d", 86400e9},
  };
  for (const auto& [name, scale] : kUnits) {
    if (unit == name) return scale;
  }
  return 0;
}

}  // namespace

DurationParse parse_duration(std::string_view text) {
  text = trim_blanks(text);
  if (text.empty()) return {};
  double total = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    // Digits and dots only: from_chars would also take a sign, an exponent or "inf".
    size_t digits_end = pos;
    while (digits_end < text.size() &&
           ((text[digits_end] >= '0' && text[digits_end] <= '9') || text[digits_end] == '.')) {
      ++digits_end;
    }
    if (digits_end == pos) return {};
    double number = 0;
    auto [end, ec] = std::from_chars(text.data() + pos, text.data() + digits_end, number,
                                     std::chars_format::fixed);
    // "1.2.3" is a typo, not 1.2.
    if (ec != std::errc() || end != text.data() + digits_end) return {};
    size_t unit_end = digits_end;
    while (unit_end < text.size() && text[unit_end] >= 'a' && text[unit_end] <= 'z') ++unit_end;
    std::string_view unit = text.substr(digits_end, unit_end - digits_end);
    double scale = unit.empty() && pos == 0 && unit_end == text.size() ? 1e9 : unit_scale(unit);
    if (scale == 0) return {};
    total += number * scale;
    pos = unit_end;
  }
  if (total >= kTwoTo63) return {DurationParse::Status::TooLong, 0};
  return {DurationParse::Status::Ok, static_cast<int64_t>(total + 0.5)};
}

}  // namespace sluice
