#pragma once
// What the named parsers (syslog, clf, klog, logcat) share when they turn a recognised line into
// fields: keys are static strings and values are views into the line, so a parsed line costs
// no allocation.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "parse/text_line.hpp"
#include "parse/timestamp.hpp"
#include "parse/year_inference.hpp"
#include "sluice/batch.hpp"

namespace sluice {

inline bool is_ascii_digit(char c) {
  return static_cast<unsigned>(static_cast<unsigned char>(c)) - '0' <= 9;
}

// `n` digits at s[i] as a number, or -1 (bounds checked).
inline int fixed_digits(std::string_view s, size_t i, size_t n) {
  if (i + n > s.size()) return -1;
  int value = 0;
  for (size_t k = i; k < i + n; ++k) {
    if (!is_ascii_digit(s[k])) return -1;
    value = value * 10 + (s[k] - '0');
  }
  return value;
}

// 1..12 for an English month abbreviation (any case), else 0. The three letters are compared
// as one number (lowercased by setting bit 5, which changes no letter into another letter).
inline int month_from_name(std::string_view s) {
  constexpr auto pack = [](char a, char b, char c) {
    return static_cast<uint32_t>(static_cast<unsigned char>(a | 0x20)) << 16 |
           static_cast<uint32_t>(static_cast<unsigned char>(b | 0x20)) << 8 |
           static_cast<uint32_t>(static_cast<unsigned char>(c | 0x20));
  };
  static constexpr uint32_t kMonths[] = {
      pack('j', 'a', 'n'), pack('f', 'e', 'b'), pack('m', 'a', 'r'), pack('a', 'p', 'r'),
      pack('m', 'a', 'y'), pack('j', 'u', 'n'), pack('j', 'u', 'l'), pack('a', 'u', 'g'),
      pack('s', 'e', 'p'), pack('o', 'c', 't'), pack('n', 'o', 'v'), pack('d', 'e', 'c')};
  if (s.size() < 3) return 0;
  const uint32_t folded = pack(s[0], s[1], s[2]);
  for (int m = 0; m < 12; ++m) {
    if (folded == kMonths[m]) return m + 1;
  }
  return 0;
}

// The line starts as a BSD syslog line does, with a month abbreviation and a space (`Jun 14
// 15:16:01 host app[pid]: ...`). No other layout does: its first token has no '=' (not logfmt),
// it is not a level word (Python's `INFO:name:`) and its second byte is a letter (not Ruby's
// `I, [` or klog's `I0612`), so such a line can go straight to the syslog reading.
inline bool starts_like_bsd_syslog(std::string_view line) {
  return line.size() > 3 && line[3] == ' ' && month_from_name(line) != 0;
}

// `hh:mm:ss` and an optional `.fraction` at s[i] into `time`; the index after them, or 0.
// Ranges are checked later, by resolve_line_time().
inline size_t read_clock(std::string_view s, size_t i, LineTime& time) {
  const int h = fixed_digits(s, i, 2), m = fixed_digits(s, i + 3, 2),
            sec = fixed_digits(s, i + 6, 2);
  if (h < 0 || m < 0 || sec < 0 || s[i + 2] != ':' || s[i + 5] != ':') return 0;
  time.hour = static_cast<uint8_t>(h);
  time.minute = static_cast<uint8_t>(m);
  time.second = static_cast<uint8_t>(sec);
  i += 8;
  if (i + 1 < s.size() && s[i] == '.' && is_ascii_digit(s[i + 1])) {
    uint32_t nanos = 0, scale = 100'000'000;
    for (++i; i < s.size() && is_ascii_digit(s[i]); ++i) {
      nanos += static_cast<uint32_t>(s[i] - '0') * scale;  // past the ninth digit scale is 0
      scale /= 10;
    }
    time.nanos = nanos;
  }
  return i;
}

inline bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (static_cast<unsigned>(static_cast<unsigned char>(c)) - '0' > 9) return false;
  }
  return true;
}

// Digits that are also a JSON number: no leading zero, and few enough to stay exact.
inline bool is_json_integer(std::string_view s) {
  return all_digits(s) && s.size() <= 18 && (s[0] != '0' || s.size() == 1);
}

inline void push_string(Batch& batch, std::string_view key, std::string_view value) {
  batch.fields.push_back(Field{key, Value{ValueKind::String, false, value}});
}

// `value` must be a JSON number as written (the callers pass checked digits).
inline void push_number(Batch& batch, std::string_view key, std::string_view value) {
  batch.fields.push_back(Field{key, Value{ValueKind::Number, true, value}});
}

// A string field, left out when the format writes `-` (or nothing) for "no value".
inline void push_present(Batch& batch, std::string_view key, std::string_view value) {
  if (!value.empty() && value != "-") push_string(batch, key, value);
}

// Digits as a number (as a string when a leading zero would make it invalid JSON); anything
// else (`-`, a name) left out.
inline void push_digits(Batch& batch, std::string_view key, std::string_view value) {
  if (is_json_integer(value)) {
    push_number(batch, key, value);
  } else if (all_digits(value)) {
    push_string(batch, key, value);
  }
}

// The line's own time becomes the event's unless a source already set an exact one (a
// container runtime's): then only a time that cannot be misread, with a year and a zone, wins.
inline void apply_line_time(Event& event, int64_t line_ns, bool has_year_and_zone) {
  if (event.timestamp_ns == 0 || has_year_and_zone) event.timestamp_ns = line_ns;
}

// The same for a recognised LineTime (year inferred from ctx.now_ns); false when it is not a
// valid time (Feb 30), which the callers treat as "not this format".
inline bool apply_line_time(Event& event, const LineTime& time, const TimestampContext& ctx) {
  std::optional<int64_t> ns = resolve_line_time(time, ctx.zone, ctx.now_ns);
  if (!ns) return false;
  apply_line_time(event, *ns, time.has_year && (time.has_zone || ctx.zone != nullptr));
  return true;
}

}  // namespace sluice
