#include "parse/year_inference.hpp"

#include <limits>

#include "base/civil_time.hpp"
#include "parse/timezone.hpp"

namespace sluice {
namespace {

constexpr int64_t kNsPerSec = 1'000'000'000;
constexpr int64_t kSecPerDay = 86'400;

bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(int64_t y, unsigned m) {
  static constexpr unsigned char kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

bool valid_in_year(const LineTime& t, int64_t year) {
  return t.month >= 1 && t.month <= 12 && t.day >= 1 && t.day <= days_in_month(year, t.month) &&
         t.hour <= 23 && t.minute <= 59 && t.second <= 60 && t.nanos < kNsPerSec;
}

// Nanoseconds of the wall-clock time in `year`, in `zone` unless an offset was written.
std::optional<int64_t> instant_in_year(const LineTime& t, int64_t year, const TimeZone* zone) {
  if (!valid_in_year(t, year)) return std::nullopt;
  unsigned second = t.second;
  int64_t nanos = t.nanos;
  if (second == 60) {  // keeps a leap second ordered before the next minute
    second = 59;
    nanos = kNsPerSec - 1;
  }
  int64_t local =
      days_from_civil(year, t.month, t.day) * kSecPerDay + t.hour * 3600 + t.minute * 60 + second;
  if (t.has_zone) {
    local -= t.utc_offset_seconds;
  } else if (zone != nullptr) {
    local = zone->local_to_utc(local);
  }
  // Before 1970 borrow a second first, or the oldest times overflow although the sum fits.
  if (local < 0 && nanos > 0) {
    ++local;
    nanos -= kNsPerSec;
  }
  int64_t ns;
  if (__builtin_mul_overflow(local, kNsPerSec, &ns) || __builtin_add_overflow(ns, nanos, &ns))
    return std::nullopt;
  return ns;
}

struct YearAndInstant {
  int32_t year;
  int64_t ns;
};

// infer_year() with the instant it found in that year, so that no caller computes it twice.
// The newest year a line's date can be in: the anchor's year in the line's zone, or the next one
// in the last days of December (a date at most a day ahead). The lines of a batch share the
// anchor, so the last local day's answer is kept (per thread, as the parser is shared).
int64_t newest_possible_year(const LineTime& time, const TimeZone* zone, int64_t anchor_ns) {
  const int64_t anchor_s = floor_div(anchor_ns, kNsPerSec);
  const int64_t offset = time.has_zone ? time.utc_offset_seconds
                                       : (zone != nullptr ? zone->offset_at_utc(anchor_s) : 0);
  const int64_t local_day = floor_div(anchor_s + offset, kSecPerDay);
  thread_local int64_t last_day = std::numeric_limits<int64_t>::min();
  thread_local int64_t last_newest = 0;
  if (local_day != last_day) {
    const CivilDate today = civil_from_days(local_day);
    last_newest = today.year + (today.month == 12 && today.day >= 30 ? 1 : 0);
    last_day = local_day;
  }
  return last_newest;
}

std::optional<YearAndInstant> infer_year_and_instant(const LineTime& time, const TimeZone* zone,
                                                     int64_t anchor_ns) {
  const int64_t newest = newest_possible_year(time, zone, anchor_ns);
  int64_t limit;
  if (__builtin_add_overflow(anchor_ns, kSecPerDay * kNsPerSec, &limit)) {
    limit = std::numeric_limits<int64_t>::max();
  }
  // Feb 29 may need to go back up to 8 years (2104 -> 2096); other dates stop within two.
  for (int64_t year = newest; year >= newest - 9; --year) {
    if (time.month >= 1 && time.month <= 12 && time.day > days_in_month(year, time.month)) continue;
    const std::optional<int64_t> ns = instant_in_year(time, year, zone);
    if (!ns) return std::nullopt;
    if (*ns <= limit) return YearAndInstant{static_cast<int32_t>(year), *ns};
  }
  return std::nullopt;
}

}  // namespace

std::optional<int32_t> infer_year(const LineTime& time, const TimeZone* zone, int64_t anchor_ns) {
  const std::optional<YearAndInstant> found = infer_year_and_instant(time, zone, anchor_ns);
  if (!found) return std::nullopt;
  return found->year;
}

std::optional<int64_t> resolve_line_time(const LineTime& time, const TimeZone* zone,
                                         int64_t anchor_ns) {
  if (time.is_epoch) return time.epoch_ns;
  if (time.has_year) return instant_in_year(time, time.year, zone);
  const std::optional<YearAndInstant> found = infer_year_and_instant(time, zone, anchor_ns);
  if (!found) return std::nullopt;
  return found->ns;
}

}  // namespace sluice
