// TZif reader (RFC 8536). Only UTC offsets matter to sluice, so abbreviations, isdst and the
// std/wall indicators are read past, and consecutive transitions with equal offsets are merged.
#include "parse/timezone.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <utility>

#include "base/civil_time.hpp"

namespace sluice {
namespace {

constexpr int64_t kSecPerDay = 86'400;
// The POSIX footer is expanded into explicit transitions up to this year (as the header allows).
constexpr int64_t kLastExpandedYear = 2100;
// Real offsets stay within ±16h; anything beyond ±25h is a corrupt file, and the bound lets
// local_to_utc look only two days either side of a wall-clock time.
constexpr int32_t kMaxOffset = 25 * 3600;
constexpr int64_t kSearchWindow = 2 * kSecPerDay;
constexpr size_t kMaxFileSize = 1 << 22;

uint32_t be32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
int64_t be64(const unsigned char* p) {
  return static_cast<int64_t>((uint64_t{be32(p)} << 32) | be32(p + 4));
}

bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int64_t year_of(int64_t utc_seconds) {
  const int64_t ns_limit = std::numeric_limits<int64_t>::max() / 1'000'000'000 - 1;
  const int64_t s = std::clamp(utc_seconds, -ns_limit, ns_limit);
  return civil_from_ns(s * 1'000'000'000).year;
}

// ---- POSIX TZ strings (the TZif footer), e.g. "CET-1CEST,M3.5.0,M10.5.0/3" ----

struct PosixRule {
  enum Kind { kJulianNoLeap, kZeroBasedDay, kMonthWeekDay } kind = kMonthWeekDay;
  int day = 0;  // Jn: 1..365, n: 0..365, Mm.w.d: d (0 = Sunday)
  int month = 0, week = 0;
  int32_t time = 2 * 3600;  // local time of day the change happens, may be negative or > 24h
};

struct PosixTz {
  int32_t std_offset = 0;  // seconds east of UTC (POSIX writes west-positive)
  bool has_dst = false;
  int32_t dst_offset = 0;
  PosixRule start, end;
};

class PosixParser {
 public:
  explicit PosixParser(std::string_view s) : s_(s) {}

  bool parse(PosixTz& tz) {
    int32_t west;
    if (!name() || !hms(west, 24)) return false;
    tz.std_offset = -west;
    if (done()) return true;
    tz.has_dst = true;
    if (!name()) return false;
    tz.dst_offset = tz.std_offset + 3600;
    if (!done() && peek() != ',') {
      if (!hms(west, 24)) return false;
      tz.dst_offset = -west;
    }
    if (done()) {
      // POSIX leaves rule-less DST to the implementation; glibc and tzcode use the US rules.
      PosixParser us("M3.2.0,M11.1.0");
      return us.rule(tz.start) && us.eat(',') && us.rule(tz.end) && us.done();
    }
    return eat(',') && rule(tz.start) && eat(',') && rule(tz.end) && done();
  }

 private:
  bool done() const { return i_ == s_.size(); }
  char peek() const { return done() ? '\0' : s_[i_]; }
  bool eat(char c) {
    if (peek() != c) return false;
    ++i_;
    return true;
  }
  bool number(int& v, int max) {
    const size_t start = i_;
    v = 0;
    while (!done() && s_[i_] >= '0' && s_[i_] <= '9' && v <= max) v = v * 10 + (s_[i_++] - '0');
    return i_ > start && v <= max;
  }
  bool name() {
    const size_t start = i_;
    if (eat('<')) {
      while (!done() && s_[i_] != '>') ++i_;
      return eat('>') && i_ - start >= 5;
    }
    while (!done() && ((s_[i_] >= 'A' && s_[i_] <= 'Z') || (s_[i_] >= 'a' && s_[i_] <= 'z'))) ++i_;
    return i_ - start >= 3;
  }
  // [+-]h[h][:mm[:ss]]; offsets allow 24 hours, rule times 167 (RFC 8536 extension).
  bool hms(int32_t& out, int max_hours) {
    const bool negative = peek() == '-';
    if (peek() == '+' || peek() == '-') ++i_;
    int h, m = 0, sec = 0;
    if (!number(h, max_hours)) return false;
    if (eat(':') && (!number(m, 59) || (eat(':') && !number(sec, 59)))) return false;
    out = (h * 3600 + m * 60 + sec) * (negative ? -1 : 1);
    return true;
  }
  bool rule(PosixRule& r) {
    if (eat('J')) {
      r.kind = PosixRule::kJulianNoLeap;
      if (!number(r.day, 365) || r.day < 1) return false;
    } else if (eat('M')) {
      r.kind = PosixRule::kMonthWeekDay;
      if (!number(r.month, 12) || r.month < 1 || !eat('.') || !number(r.week, 5) || r.week < 1 ||
          !eat('.') || !number(r.day, 6))
        return false;
    } else {
      r.kind = PosixRule::kZeroBasedDay;
      if (!number(r.day, 365)) return false;
    }
    return !eat('/') || hms(r.time, 167);
  }

  std::string_view s_;
  size_t i_ = 0;
};

// Days since the epoch of the day a rule selects in `year`.
int64_t rule_day(const PosixRule& r, int64_t year) {
  const int64_t jan1 = days_from_civil(year, 1, 1);
  switch (r.kind) {
    case PosixRule::kJulianNoLeap:
      return jan1 + r.day - 1 + (is_leap(year) && r.day >= 60 ? 1 : 0);
    case PosixRule::kZeroBasedDay:
      return jan1 + r.day;
    case PosixRule::kMonthWeekDay:
      break;
  }
  const auto month = static_cast<unsigned>(r.month);
  const int64_t first = days_from_civil(year, month, 1);
  const int64_t weekday = ((first + 4) % 7 + 7) % 7;  // 1970-01-01 was a Thursday
  int64_t day = first + (r.day - weekday + 7) % 7 + (r.week - 1) * 7;
  const int64_t next_month =
      month == 12 ? days_from_civil(year + 1, 1, 1) : days_from_civil(year, month + 1, 1);
  while (day >= next_month) day -= 7;  // week 5 means "last"
  return day;
}

// The footer's changes from `first_year` through kLastExpandedYear as (utc, new offset), sorted.
// Before 1970 no zone relies on the footer, so a file without transitions starts there.
std::vector<std::pair<int64_t, int32_t>> expand_rule(const PosixTz& tz, int64_t first_year) {
  std::vector<std::pair<int64_t, int32_t>> out;
  for (int64_t year = first_year; year <= kLastExpandedYear; ++year) {
    // Start times are written in standard time, end times in daylight time.
    out.emplace_back(rule_day(tz.start, year) * kSecPerDay + tz.start.time - tz.std_offset,
                     tz.dst_offset);
    out.emplace_back(rule_day(tz.end, year) * kSecPerDay + tz.end.time - tz.dst_offset,
                     tz.std_offset);
  }
  // Southern-hemisphere rules end DST before starting it within a calendar year. Stable order
  // keeps generation order for equal instants, so an end coinciding with the next start loses.
  std::stable_sort(out.begin(), out.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

// Callers name the zone in their own message, so the error says only what went wrong.
std::nullptr_t fail(std::string* error, const std::string& why) {
  if (error != nullptr) *error = why;
  return nullptr;
}

struct Header {
  char version;
  uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

bool read_header(const std::string& data, size_t pos, Header& h) {
  if (data.size() - pos < 44 || data.compare(pos, 4, "TZif") != 0) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(data.data() + pos);
  h.version = static_cast<char>(p[4]);
  h.isutcnt = be32(p + 20);
  h.isstdcnt = be32(p + 24);
  h.leapcnt = be32(p + 28);
  h.timecnt = be32(p + 32);
  h.typecnt = be32(p + 36);
  h.charcnt = be32(p + 40);
  return true;
}

size_t block_size(const Header& h, size_t time_size) {
  return size_t{h.timecnt} * (time_size + 1) + size_t{h.typecnt} * 6 + h.charcnt +
         size_t{h.leapcnt} * (time_size + 4) + h.isstdcnt + h.isutcnt;
}

bool read_file(const std::string& path, std::string& out) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return false;
  char buf[8192];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0 && out.size() <= kMaxFileSize) {
    out.append(buf, n);
  }
  const bool ok = std::ferror(f) == 0 && out.size() <= kMaxFileSize;
  std::fclose(f);
  return ok;
}

}  // namespace

std::shared_ptr<const TimeZone> TimeZone::load(std::string_view name, std::string* error,
                                               const std::string& zoneinfo_dir) {
  if (name.empty() || name.front() == '/' || name.find("..") != std::string_view::npos ||
      name.find('\0') != std::string_view::npos) {
    return fail(error, "invalid zone name (empty, absolute or containing '..')");
  }
  std::string dir = zoneinfo_dir;
  if (dir.empty()) {
    const char* env = std::getenv("TZDIR");
    dir = env != nullptr && *env != '\0' ? env : "/usr/share/zoneinfo";
  }
  auto tz = std::make_shared<TimeZone>();
  tz->name_ = std::string(name);

  const std::string path = dir + "/" + tz->name_;
  std::string data;
  if (!read_file(path, data)) {
    // Minimal containers often lack tzdata; UTC needs no file.
    if (name == "UTC" || name == "Etc/UTC") return tz;
    return fail(error, "cannot read " + path);
  }

  Header h;
  if (!read_header(data, 0, h)) {
    return fail(error, path + " is not a TZif file");
  }
  size_t pos = 44;
  size_t time_size = 4;
  if (h.version >= '2') {
    // The v1 block only exists for old readers; the 64-bit block after it supersedes it.
    pos += block_size(h, 4);
    if (pos > data.size() || !read_header(data, pos, h)) {
      return fail(error, path + " is truncated");
    }
    pos += 44;
    time_size = 8;
  }
  if (h.typecnt == 0 || h.typecnt > 256 || data.size() - pos < block_size(h, time_size)) {
    return fail(error, path + " is truncated or corrupt");
  }
  if (h.leapcnt != 0) {
    // "right/" zones count leap seconds in their transition times; sluice's clocks do not.
    return fail(error, "leap-second (right/) zones are not supported");
  }

  const auto* p = reinterpret_cast<const unsigned char*>(data.data() + pos);
  const unsigned char* times = p;
  const unsigned char* indices = times + size_t{h.timecnt} * time_size;
  const unsigned char* types = indices + h.timecnt;
  std::vector<int32_t> type_offsets(h.typecnt);
  for (uint32_t i = 0; i < h.typecnt; ++i) {
    type_offsets[i] = static_cast<int32_t>(be32(types + 6 * size_t{i}));
    if (type_offsets[i] < -kMaxOffset || type_offsets[i] > kMaxOffset) {
      return fail(error, path + " has an implausible UTC offset");
    }
  }
  // RFC 8536: times before the first transition use type 0.
  tz->initial_offset_ = type_offsets[0];
  int32_t current = tz->initial_offset_;
  int64_t previous_at = std::numeric_limits<int64_t>::min();
  for (uint32_t i = 0; i < h.timecnt; ++i) {
    const int64_t at = time_size == 8 ? be64(times + 8 * size_t{i})
                                      : static_cast<int32_t>(be32(times + 4 * size_t{i}));
    if (i > 0 && at <= previous_at) {
      return fail(error, path + " has transitions out of order");
    }
    previous_at = at;
    if (indices[i] >= h.typecnt) {
      return fail(error, path + " has a bad time type index");
    }
    const int32_t offset = type_offsets[indices[i]];
    if (offset != current) tz->transitions_.push_back({at, offset});
    current = offset;
  }

  pos += block_size(h, time_size);
  if (time_size == 8 && pos < data.size()) {
    const size_t nl = data.find('\n', pos + 1);
    if (data[pos] != '\n' || nl == std::string::npos) {
      return fail(error, path + " has a malformed TZ footer");
    }
    const std::string_view footer(data.data() + pos + 1, nl - pos - 1);
    PosixTz rule;
    if (!footer.empty() && !PosixParser(footer).parse(rule)) {
      return fail(error, path + " has an unsupported TZ footer '" + std::string(footer) + "'");
    }
    if (!footer.empty() && rule.has_dst) {
      const bool none = h.timecnt == 0;
      for (const auto& [at, offset] : expand_rule(rule, none ? 1970 : year_of(previous_at))) {
        if (!none && at <= previous_at) continue;
        auto& list = tz->transitions_;
        // Of two changes at the same instant the later rule wins (permanent-DST footers).
        if (!list.empty() && list.back().at_utc == at) list.pop_back();
        if (offset != (list.empty() ? tz->initial_offset_ : list.back().offset)) {
          list.push_back({at, offset});
        }
      }
    }
  }
  return tz;
}

int32_t TimeZone::offset_at_utc(int64_t utc_seconds) const {
  auto it = std::upper_bound(transitions_.begin(), transitions_.end(), utc_seconds,
                             [](int64_t value, const Transition& t) { return value < t.at_utc; });
  return it == transitions_.begin() ? initial_offset_ : std::prev(it)->offset;
}

int64_t TimeZone::local_to_utc(int64_t local_seconds) const {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  // Times this far out mean nothing; clamping keeps the arithmetic below from overflowing.
  local_seconds = std::clamp(local_seconds, kMin / 2, kMax / 2);
  const int64_t lo = local_seconds - kSearchWindow;
  const int64_t hi = local_seconds + kSearchWindow;
  // Interval k runs from transition k-1 (or -inf) to transition k (or +inf) with offset(k).
  const auto n = static_cast<ptrdiff_t>(transitions_.size());
  auto begin_of = [&](ptrdiff_t k) { return k == 0 ? kMin : transitions_[k - 1].at_utc; };
  auto end_of = [&](ptrdiff_t k) { return k == n ? kMax : transitions_[k].at_utc; };
  auto offset_of = [&](ptrdiff_t k) {
    return k == 0 ? initial_offset_ : transitions_[k - 1].offset;
  };

  const ptrdiff_t first =
      std::upper_bound(transitions_.begin(), transitions_.end(), lo,
                       [](int64_t value, const Transition& t) { return value < t.at_utc; }) -
      transitions_.begin();
  // Intervals are in time order, so the first one containing a consistent instant gives the
  // earliest reading of an ambiguous (fall-back) wall-clock time.
  for (ptrdiff_t k = first; k <= n && begin_of(k) <= hi; ++k) {
    const int64_t utc = local_seconds - offset_of(k);
    if (utc >= begin_of(k) && utc < end_of(k)) return utc;
  }
  // No instant shows this wall-clock time: it lies in a spring-forward gap. Read it with the
  // offset from before the jump, which lands after the transition by the same distance.
  for (ptrdiff_t k = first; k < n && begin_of(k + 1) <= hi; ++k) {
    const int64_t at = transitions_[k].at_utc;
    if (local_seconds >= at + offset_of(k) && local_seconds < at + offset_of(k + 1)) {
      return local_seconds - offset_of(k);
    }
  }
  return local_seconds - offset_at_utc(local_seconds);
}

}  // namespace sluice
