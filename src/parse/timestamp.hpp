#pragma once
// Timestamp recognition and formatting. Parsing never throws and never allocates: a text that is
// not a recognised time yields std::nullopt and the caller falls back to the read time.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "base/civil_time.hpp"  // callers format what they parse

namespace sluice {

class TimeZone;

struct TimestampContext {
  const TimeZone* zone = nullptr;  // for times written without an offset; nullptr = UTC
  int64_t now_ns = 0;              // infers the year of syslog times (`Oct 11 22:14:15`)
};

// Recognises, in UTC nanoseconds since the epoch:
//  - RFC 3339 / ISO 8601: `2024-01-02T15:04:05Z`, any fraction (`.` or `,`, 1..9+ digits, extra
//    digits truncated), offset `Z`, `+hh:mm`, `+hhmm`, `+hh`, or none (then `zone`); `T` or space
//    between date and time (`2024-01-02 15:04:05,123`).
//  - epoch seconds / ms / µs / ns written as digits, optionally with a fraction
//    (`1700000000`, `1700000000.5`, `1700000000123`); the unit follows from the magnitude.
//  - Apache/CLF `10/Oct/2000:13:55:36 -0700`.
//  - syslog RFC 3164 `Oct 11 22:14:15` / `Oct  1 22:14:15[.ffffff]`, year inferred from now_ns
//    (the most recent such time not more than a day in the future).
std::optional<int64_t> parse_timestamp(std::string_view text, const TimestampContext& ctx);

// A JSON number (as written) taken as an epoch time; unit from magnitude as above.
std::optional<int64_t> parse_epoch_number(std::string_view number_text);

}  // namespace sluice
