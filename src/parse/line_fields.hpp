#pragma once
// What the named parsers (syslog, clf, klog, logcat) share when they turn a recognised line into
// fields: keys are static strings and values are views into the line, so a parsed line costs
// no allocation.
#include <cstdint>
#include <string_view>

#include "sluice/batch.hpp"

namespace sluice {

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

}  // namespace sluice
