#pragma once
// Proleptic Gregorian calendar arithmetic (Howard Hinnant's algorithms) and RFC 3339 formatting,
// shared by the timestamp parsers, the encoder, templates and log lines. No allocation, no locale,
// no time zone: everything here is UTC.
#include <cstddef>
#include <cstdint>

namespace sluice {

// Floor division (rounds towards negative infinity), for times before the epoch.
inline int64_t floor_div(int64_t a, int64_t b) { return a / b - (a % b < 0 ? 1 : 0); }

// Days since 1970-01-01 of a civil date. Inline: the timestamp parsers call it once per event.
inline int64_t days_from_civil(int64_t year, unsigned month, unsigned day) {
  year -= month <= 2;
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const auto yoe = static_cast<unsigned>(year - era * 400);
  const unsigned doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

struct CivilDate {
  int64_t year;
  unsigned month, day;
};

// The civil date of a day number (days since 1970-01-01); the inverse of days_from_civil.
inline CivilDate civil_from_days(int64_t days) {
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<int64_t>(yoe) + era * 400 + (m <= 2), m, d};
}

struct CivilTime {
  int64_t year;
  unsigned month, day, hour, minute, second;
  uint32_t nanos;
};
// UTC civil time of `ns` nanoseconds since the epoch.
CivilTime civil_from_ns(int64_t ns);

// Formats `ns` as `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ` (always 9 fraction digits, UTC).
// Writes exactly kRfc3339Length bytes, no terminator. Years outside 0000..9999 are clamped.
inline constexpr size_t kRfc3339Length = 30;
void format_rfc3339(int64_t ns, char* out);

}  // namespace sluice
