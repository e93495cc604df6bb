#pragma once
// The reading layer of the plain-text detector (text_detect.cpp): a bounds-checked cursor over
// the line and readers for the pieces layouts are made of (a date and time with fraction and
// zone, a level word, a logger name, a bracketed part). Inline: they run for every plain-text
// line, inside the layout recognisers.
#include <algorithm>
#include <array>
#include <cstddef>
#include <string_view>

#include "base/level.hpp"
#include "parse/text_line.hpp"

namespace sluice::text_detail {

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
inline void set_date(LineTime& t, int year, int month, int day) {
  t.year = year;
  t.has_year = true;
  t.month = static_cast<uint8_t>(month);
  t.day = static_cast<uint8_t>(day);
}

// `HH:MM:SS` at the cursor.
inline bool read_hms(Cursor& c, LineTime& t) {
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
inline void read_fraction(Cursor& c, LineTime& t) {
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
inline void read_zone(Cursor& c, LineTime& t) {
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
inline bool read_ymd_time(Cursor& c, LineTime& t, char sep, bool allow_t) {
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
inline std::string_view read_level_word(Cursor& c) {
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
inline constexpr std::array<bool, 256> kLoggerChars = [] {
  std::array<bool, 256> table{};
  for (int c = 0; c < 256; ++c) {
    table[c] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '.' || c == '_' || c == '$' || c == '-' || c == '/' || c == '#';
  }
  return table;
}();

// A logger/module name (`org.apache.Foo`, `executor.CoarseGrainedExecutorBackend`, `root`).
inline std::string_view read_logger(Cursor& c) {
  const size_t start = c.i;
  const size_t end = std::min(c.s.size(), start + 256);
  size_t j = c.i;
  while (j < end && kLoggerChars[static_cast<unsigned char>(c.s[j])]) ++j;
  if (j == start) return {};
  c.i = j;
  return c.s.substr(start, j - start);
}

// `[...]` at the cursor: the inside, brackets balanced (Zookeeper's `[QuorumPeer[myid=1]/...]`).
inline std::string_view read_bracketed(Cursor& c, size_t max = 512) {
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

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

inline void finish_message(Cursor& c, TextLine& out) {
  c.skip_spaces();
  out.message = c.rest();
}

}  // namespace sluice::text_detail
