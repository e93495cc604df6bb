#pragma once
// Turning a LineTime into an instant: the source's time zone for wall-clock times without an
// offset, and a year for formats that do not write one (BSD syslog, logcat, klog).
//
// The year comes from an anchor: the file's modification time for files (a file last written
// in March 2023 and read in 2025 holds 2023's lines), the read time for streams. A line is taken
// to be from the anchor's year unless that would put it more than a day after the anchor (then
// the year before; within a day counts as clock skew), so a "Dec 31" line read on Jan 1 belongs
// to the old year and a "Jan 1" line read late on Dec 31 to the new one (elastic/beats#34779 is
// what happens otherwise). The anchor is always passed in, never read from a clock here.
#include <cstdint>
#include <optional>

#include "parse/text_line.hpp"

namespace sluice {

class TimeZone;

// UTC nanoseconds for `time`, or nullopt when its fields are not a valid date and time (Feb 30,
// 24:00) or overflow. `zone` (nullptr = UTC) applies only when the line wrote no offset;
// `anchor_ns` only when it wrote no year. A second of 60 (leap second) reads as :59.999999999.
std::optional<int64_t> resolve_line_time(const LineTime& time, const TimeZone* zone,
                                         int64_t anchor_ns);

// The year inferred for month/day/time-of-day (wall clock in `zone`) against `anchor_ns`, as
// described above; nullopt when no year in the last nine has that date (Feb 30).
std::optional<int32_t> infer_year(const LineTime& time, const TimeZone* zone, int64_t anchor_ns);

}  // namespace sluice
