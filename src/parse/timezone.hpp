#pragma once
// IANA time zones, read from the system's TZif files (/usr/share/zoneinfo, Debian's tzdata).
// libstdc++ 12 has no std::chrono::tzdb, so sluice reads the compiled zone files itself.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

class TimeZone {
 public:
  // Loads `name` (e.g. "Europe/Berlin", "UTC"). On failure returns nullptr and sets `error`.
  // `zoneinfo_dir` is overridable for tests; default honours $TZDIR, else /usr/share/zoneinfo.
  static std::shared_ptr<const TimeZone> load(std::string_view name, std::string* error,
                                              const std::string& zoneinfo_dir = "");

  [[nodiscard]] const std::string& name() const { return name_; }

  // UTC offset in seconds in force at the UTC instant `utc_seconds`.
  [[nodiscard]] int32_t offset_at_utc(int64_t utc_seconds) const;

  // Converts a wall-clock time in this zone (seconds since the epoch as if it were UTC) to UTC.
  // In a gap (spring forward) the pre-transition offset is used; in an overlap (fall back) the
  // earlier instant is chosen, as most log tools do.
  [[nodiscard]] int64_t local_to_utc(int64_t local_seconds) const;

 private:
  struct Transition {
    int64_t at_utc;  // first UTC second the offset applies
    int32_t offset;  // seconds east of UTC
  };
  std::string name_;
  std::vector<Transition> transitions_;  // sorted by at_utc
  int32_t initial_offset_ = 0;           // before the first transition
  // Transitions after the last one in the file come from the POSIX TZ footer (e.g.
  // "CET-1CEST,M3.5.0,M10.5.0/3"); implementations may expand it into transitions_ up to 2100.
};

}  // namespace sluice
