#include "base/civil_time.hpp"

#include <algorithm>
#include <array>
#include <cstdint>

namespace sluice {
namespace {

constexpr int64_t kNsPerSec = 1'000'000'000;
constexpr int64_t kSecPerDay = 86'400;

constexpr auto kDigitPairs = [] {
  std::array<char, 200> t{};
  for (int i = 0; i < 100; ++i) {
    t[2 * i] = static_cast<char>('0' + i / 10);
    t[2 * i + 1] = static_cast<char>('0' + i % 10);
  }
  return t;
}();

}  // namespace

void format_rfc3339(int64_t ns, char* out) {
  // int64 nanoseconds only span 1677..2262, so the header's 0000..9999 clamp can never apply.
  auto put2 = [](char* o, unsigned v) {
    o[0] = kDigitPairs[2 * v];
    o[1] = kDigitPairs[2 * v + 1];
  };
  const int64_t secs = floor_div(ns, kNsPerSec);
  const int64_t days = floor_div(secs, kSecPerDay);
  // The events of a batch mostly share their day: its `YYYY-MM-DD` is kept (per thread).
  thread_local int64_t last_day = INT64_MIN;
  thread_local char last_date[10];
  if (days != last_day) {
    const CivilDate date = civil_from_days(days);
    const auto year = static_cast<unsigned>(date.year);
    put2(last_date, year / 100);
    put2(last_date + 2, year % 100);
    last_date[4] = '-';
    put2(last_date + 5, date.month);
    last_date[7] = '-';
    put2(last_date + 8, date.day);
    last_day = days;
  }
  std::copy_n(last_date, 10, out);
  const auto sod = static_cast<unsigned>(secs - days * kSecPerDay);
  out[10] = 'T';
  put2(out + 11, sod / 3600);
  out[13] = ':';
  put2(out + 14, sod % 3600 / 60);
  out[16] = ':';
  put2(out + 17, sod % 60);
  out[19] = '.';
  // Remainder rather than ns - secs * 1e9, which overflows for the oldest representable times.
  const int64_t sub = ns % kNsPerSec;
  auto n = static_cast<uint32_t>(sub < 0 ? sub + kNsPerSec : sub);
  out[28] = static_cast<char>('0' + n % 10);
  n /= 10;
  put2(out + 26, n % 100);
  n /= 100;
  put2(out + 24, n % 100);
  n /= 100;
  put2(out + 22, n % 100);
  put2(out + 20, n / 100);
  out[29] = 'Z';
}

CivilTime civil_from_ns(int64_t ns) {
  const int64_t secs = floor_div(ns, kNsPerSec);
  const int64_t days = floor_div(secs, kSecPerDay);
  const int64_t sod = secs - days * kSecPerDay;
  const CivilDate date = civil_from_days(days);
  CivilTime c;
  c.year = date.year;
  c.month = date.month;
  c.day = date.day;
  c.hour = static_cast<unsigned>(sod / 3600);
  c.minute = static_cast<unsigned>(sod % 3600 / 60);
  c.second = static_cast<unsigned>(sod % 60);
  // Remainder rather than ns - secs * 1e9, which overflows for the oldest representable times.
  const int64_t sub = ns % kNsPerSec;
  c.nanos = static_cast<uint32_t>(sub < 0 ? sub + kNsPerSec : sub);
  return c;
}

}  // namespace sluice
