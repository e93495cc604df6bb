// Hot path: runs once per event, so everything here is fixed-position byte checks on the input,
// no allocation, no locale and no exceptions. Overflow is checked rather than assumed away because
// the input is untrusted log text.
#include "parse/timestamp.hpp"

#include <array>
#include <limits>

#include "base/civil_time.hpp"
#include "parse/timezone.hpp"
#include "parse/year_inference.hpp"

namespace sluice {
namespace {

constexpr int64_t kNsPerSec = 1'000'000'000;
constexpr int64_t kSecPerDay = 86'400;

constexpr std::array<uint32_t, 10> kPow10 = {
    1, 10, 100, 1'000, 10'000, 100'000, 1'000'000, 10'000'000, 100'000'000, 1'000'000'000};

// Unsigned wrap-around turns "is this a digit" into a single comparison.
inline unsigned digit_value(char c) {
  return static_cast<unsigned>(static_cast<unsigned char>(c)) - '0';
}
inline bool is_digit(char c) { return digit_value(c) <= 9; }

// Value of two ASCII digits, or -1.
inline int two_digits(const char* p) {
  const unsigned a = digit_value(p[0]);
  const unsigned b = digit_value(p[1]);
  if (a > 9 || b > 9) return -1;
  return static_cast<int>(a * 10 + b);
}

inline bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

inline unsigned days_in_month(int64_t y, unsigned m) {
  static constexpr unsigned char kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

inline bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// A wall-clock time as read, before the offset or zone is applied.
struct Fields {
  int64_t year = 0;
  unsigned month = 0, day = 0, hour = 0, minute = 0, second = 0;
  uint32_t nanos = 0;
};

bool valid(const Fields& f) {
  return f.month >= 1 && f.month <= 12 && f.day >= 1 && f.day <= days_in_month(f.year, f.month) &&
         f.hour <= 23 && f.minute <= 59 && f.second <= 60;
}

// Seconds since the epoch as if the wall-clock time were UTC. A leap second (:60) becomes the
// last representable instant of :59 so that ordering against neighbouring events is kept.
int64_t local_seconds(Fields& f) {
  if (f.second == 60) {
    f.second = 59;
    f.nanos = kNsPerSec - 1;
  }
  return days_from_civil(f.year, f.month, f.day) * kSecPerDay + f.hour * 3600 + f.minute * 60 +
         f.second;
}

std::optional<int64_t> to_ns(int64_t seconds, uint32_t nanos) {
  // Before 1970 borrow a second first, or the oldest representable times overflow
  // in the multiplication although the sum fits.
  int64_t sub = nanos;
  if (seconds < 0 && sub > 0) {
    ++seconds;
    sub -= kNsPerSec;
  }
  int64_t ns;
  if (__builtin_mul_overflow(seconds, kNsPerSec, &ns)) return std::nullopt;
  if (__builtin_add_overflow(ns, sub, &ns)) return std::nullopt;
  return ns;
}

std::optional<int64_t> finish_with_offset(Fields& f, int32_t offset_seconds) {
  if (!valid(f)) return std::nullopt;
  const int64_t local = local_seconds(f);  // before reading nanos: a leap second sets them
  return to_ns(local - offset_seconds, f.nanos);
}

std::optional<int64_t> finish_in_zone(Fields& f, const TimeZone* zone) {
  if (!valid(f)) return std::nullopt;
  const int64_t local = local_seconds(f);
  return to_ns(zone != nullptr ? zone->local_to_utc(local) : local, f.nanos);
}

// Reads 1+ fraction digits at p; digits past the ninth are below ns resolution and dropped.
const char* parse_fraction(const char* p, const char* end, uint32_t& nanos) {
  const char* start = p;
  uint32_t v = 0;
  while (p < end && p - start < 9 && is_digit(*p)) v = v * 10 + digit_value(*p++);
  const auto n = static_cast<size_t>(p - start);
  if (n == 0) return nullptr;
  nanos = v * kPow10[9 - n];
  while (p < end && is_digit(*p)) ++p;
  return p;
}

// `+hh`, `+hhmm` or `+hh:mm` (or `-`), which must run to `end`.
bool parse_numeric_offset(const char* p, const char* end, int32_t& offset) {
  if (end - p < 3 || (*p != '+' && *p != '-')) return false;
  const bool negative = *p == '-';
  const int hh = two_digits(p + 1);
  p += 3;
  int mm = 0;
  if (p < end) {
    if (*p == ':') ++p;
    if (end - p != 2) return false;
    mm = two_digits(p);
    p += 2;
  }
  if (hh < 0 || hh > 23 || mm < 0 || mm > 59) return false;
  offset = (hh * 3600 + mm * 60) * (negative ? -1 : 1);
  return true;
}

// Accepts "HH:MM:SS" at p (bounds checked by the caller).
bool parse_hms(const char* p, Fields& f) {
  const int h = two_digits(p), m = two_digits(p + 3), s = two_digits(p + 6);
  if (h < 0 || m < 0 || s < 0 || p[2] != ':' || p[5] != ':') return false;
  f.hour = static_cast<unsigned>(h);
  f.minute = static_cast<unsigned>(m);
  f.second = static_cast<unsigned>(s);
  return true;
}

// 1..12 for an English three-letter month abbreviation in any letter case, else 0.
unsigned month_from_name(const char* p) {
  // OR-ing 0x20 maps only 'X' and 'x' onto 'x', so non-letters never match.
  const uint32_t key = (static_cast<uint32_t>(static_cast<unsigned char>(p[0]) | 0x20) << 16) |
                       (static_cast<uint32_t>(static_cast<unsigned char>(p[1]) | 0x20) << 8) |
                       static_cast<uint32_t>(static_cast<unsigned char>(p[2]) | 0x20);
  constexpr auto k = [](const char(&s)[4]) {
    return (static_cast<uint32_t>(s[0]) << 16) | (static_cast<uint32_t>(s[1]) << 8) |
           static_cast<uint32_t>(s[2]);
  };
  switch (key) {
    case k("jan"):
      return 1;
    case k("feb"):
      return 2;
    case k("mar"):
      return 3;
    case k("apr"):
      return 4;
    case k("may"):
      return 5;
    case k("jun"):
      return 6;
    case k("jul"):
      return 7;
    case k("aug"):
      return 8;
    case k("sep"):
      return 9;
    case k("oct"):
      return 10;
    case k("nov"):
      return 11;
    case k("dec"):
      return 12;
    default:
      return 0;
  }
}

// YYYY-MM-DD[Tt ]HH:MM:SS[(.|,)f+][Z|z|±hh[[:]mm]]
std::optional<int64_t> parse_iso(const char* p, const char* end, const TimestampContext& ctx) {
  if (end - p < 19) return std::nullopt;
  const int y_hi = two_digits(p), y_lo = two_digits(p + 2), mo = two_digits(p + 5),
            d = two_digits(p + 8);
  if (y_hi < 0 || y_lo < 0 || mo < 0 || d < 0 || p[4] != '-' || p[7] != '-') return std::nullopt;
  if (p[10] != 'T' && p[10] != 't' && p[10] != ' ') return std::nullopt;
  Fields f;
  f.year = y_hi * 100 + y_lo;
  f.month = static_cast<unsigned>(mo);
  f.day = static_cast<unsigned>(d);
  if (!parse_hms(p + 11, f)) return std::nullopt;
  p += 19;
  if (p < end && (*p == '.' || *p == ',')) {
    p = parse_fraction(p + 1, end, f.nanos);
    if (p == nullptr) return std::nullopt;
  }
  if (p == end) return finish_in_zone(f, ctx.zone);
  if (*p == 'Z' || *p == 'z') {
    if (p + 1 != end) return std::nullopt;
    return finish_with_offset(f, 0);
  }
  int32_t offset;
  if (!parse_numeric_offset(p, end, offset)) return std::nullopt;
  return finish_with_offset(f, offset);
}

// DD/Mon/YYYY:HH:MM:SS ±hhmm (Apache/NCSA common log format; the offset is always written).
std::optional<int64_t> parse_clf(const char* p, const char* end) {
  if (end - p < 24) return std::nullopt;
  const int d = two_digits(p), y_hi = two_digits(p + 7), y_lo = two_digits(p + 9);
  if (d < 0 || y_hi < 0 || y_lo < 0 || p[2] != '/' || p[6] != '/' || p[11] != ':' || p[20] != ' ')
    return std::nullopt;
  Fields f;
  f.day = static_cast<unsigned>(d);
  f.month = month_from_name(p + 3);
  f.year = y_hi * 100 + y_lo;
  if (!parse_hms(p + 12, f)) return std::nullopt;
  int32_t offset;
  if (!parse_numeric_offset(p + 21, end, offset)) return std::nullopt;
  return finish_with_offset(f, offset);
}

// Mon DD HH:MM:SS[.f+] with DD space-padded ("Oct  1") or not ("Oct 1"); the year is not
// written, so it is the most recent one that puts the time no more than a day after now.
std::optional<int64_t> parse_syslog(const char* p, const char* end, const TimestampContext& ctx) {
  if (end - p < 14 || p[3] != ' ') return std::nullopt;
  Fields f;
  f.month = month_from_name(p);
  if (f.month == 0) return std::nullopt;
  p += 4;
  const bool padded = *p == ' ';  // "Oct  1": the day's tens digit is a space
  p += padded;
  if (!is_digit(*p)) return std::nullopt;
  f.day = digit_value(*p++);
  if (!padded && is_digit(*p)) f.day = f.day * 10 + digit_value(*p++);
  if (*p++ != ' ' || end - p < 8 || !parse_hms(p, f)) return std::nullopt;
  p += 8;
  if (p < end && (*p == '.' || *p == ',')) {
    p = parse_fraction(p + 1, end, f.nanos);
    if (p == nullptr) return std::nullopt;
  }
  if (p != end) return std::nullopt;
  LineTime time;
  time.month = static_cast<uint8_t>(f.month);
  time.day = static_cast<uint8_t>(f.day);
  time.hour = static_cast<uint8_t>(f.hour);
  time.minute = static_cast<uint8_t>(f.minute);
  time.second = static_cast<uint8_t>(f.second);
  time.nanos = f.nanos;
  return resolve_line_time(time, ctx.zone, ctx.now_ns);
}

// A non-negative decimal number, its digits at [int_digits, +n_int) then [frac_digits, +n_frac),
// with the decimal point `point` digits from the start (n_int plus any exponent). Exact integer
// arithmetic throughout: a double would lose nanoseconds at today's epoch values.
std::optional<int64_t> epoch_from_digits(const char* int_digits, size_t n_int,
                                         const char* frac_digits, size_t n_frac, int64_t point) {
  const auto n_total = static_cast<int64_t>(n_int + n_frac);
  auto digit_at = [&](int64_t i) -> unsigned {
    if (i < 0 || i >= n_total) return 0;
    const auto u = static_cast<size_t>(i);
    return digit_value(u < n_int ? int_digits[u] : frac_digits[u - n_int]);
  };
  uint64_t whole = 0;
  for (int64_t i = 0; i < point && i < n_total; ++i) {
    if (__builtin_mul_overflow(whole, 10u, &whole) ||
        __builtin_add_overflow(whole, digit_at(i), &whole))
      return std::nullopt;
  }
  // Zeros implied by a large exponent; a non-zero value overflows within 20 rounds.
  for (int64_t i = n_total; i < point && whole != 0; ++i) {
    if (__builtin_mul_overflow(whole, 10u, &whole)) return std::nullopt;
  }

  // The magnitude picks the unit. 1e11 s is the year 5138, so no real seconds value reaches it,
  // and 1e14 ms and 1e17 µs are that same instant.
  unsigned frac_len;
  int64_t unit_ns;
  if (whole < 100'000'000'000ull) {
    frac_len = 9, unit_ns = 1'000'000'000;
  } else if (whole < 100'000'000'000'000ull) {
    frac_len = 6, unit_ns = 1'000'000;
  } else if (whole < 100'000'000'000'000'000ull) {
    frac_len = 3, unit_ns = 1'000;
  } else {
    frac_len = 0, unit_ns = 1;
  }
  uint32_t frac = 0;
  for (unsigned j = 0; j < frac_len; ++j) frac = frac * 10 + digit_at(point + j);

  if (whole > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
  int64_t ns;
  if (__builtin_mul_overflow(static_cast<int64_t>(whole), unit_ns, &ns) ||
      __builtin_add_overflow(ns, static_cast<int64_t>(frac), &ns))
    return std::nullopt;
  return ns;
}

// digits[.digits][e[+-]digits] (the exponent only when allowed); nothing else.
std::optional<int64_t> parse_decimal(const char* p, const char* end, bool allow_exponent) {
  const char* int_begin = p;
  while (p < end && is_digit(*p)) ++p;
  const auto n_int = static_cast<size_t>(p - int_begin);
  if (n_int == 0) return std::nullopt;
  const char* frac_begin = p;
  size_t n_frac = 0;
  if (p < end && *p == '.') {
    frac_begin = ++p;
    while (p < end && is_digit(*p)) ++p;
    n_frac = static_cast<size_t>(p - frac_begin);
    if (n_frac == 0) return std::nullopt;
  }
  int64_t exponent = 0;
  if (allow_exponent && p < end && (*p == 'e' || *p == 'E')) {
    ++p;
    bool negative = false;
    if (p < end && (*p == '+' || *p == '-')) negative = *p++ == '-';
    if (p == end) return std::nullopt;
    while (p < end && is_digit(*p)) {
      // Anything past a few hundred is already zero or an overflow; cap to keep int64 safe.
      if (exponent < 100'000) exponent = exponent * 10 + digit_value(*p);
      ++p;
    }
    if (negative) exponent = -exponent;
  }
  if (p != end) return std::nullopt;
  return epoch_from_digits(int_begin, n_int, frac_begin, n_frac,
                           static_cast<int64_t>(n_int) + exponent);
}

}  // namespace

// Dispatch on the first byte and one fixed separator position keeps a failed guess cheap: each
// format is tried at most once. A leap second (:60) reads as :59.999999999 (see local_seconds).
std::optional<int64_t> parse_timestamp(std::string_view text, const TimestampContext& ctx) {
  const char* p = text.data();
  const char* end = p + text.size();
  while (p < end && is_space(*p)) ++p;
  while (end > p && is_space(end[-1])) --end;
  if (p == end) return std::nullopt;
  if (is_digit(*p)) {
    if (end - p >= 19 && p[4] == '-') return parse_iso(p, end, ctx);
    if (end - p >= 3 && p[2] == '/') return parse_clf(p, end);
    return parse_decimal(p, end, /*allow_exponent=*/false);
  }
  return parse_syslog(p, end, ctx);
}

// JSON exponents (`1.7e9`, `17e8`, `5E-3`) are honoured exactly, without going through double,
// since encoders such as Python's json write large floats that way.
std::optional<int64_t> parse_epoch_number(std::string_view number_text) {
  return parse_decimal(number_text.data(), number_text.data() + number_text.size(),
                       /*allow_exponent=*/true);
}

}  // namespace sluice
