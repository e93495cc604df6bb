#pragma once
// Log level names and numbers mapped onto one ordered scale, so `level >= warn` works whatever
// spelling or numbering an application uses.
#include <optional>
#include <string_view>

namespace sluice {

enum class Level : int {
  Trace = 0,
  Debug = 1,
  Info = 2,
  Notice = 3,
  Warn = 4,
  Error = 5,
  Fatal = 6
};

// Case-insensitive names: trace/verbose/trc/finer/finest, debug/dbg/fine,
// info/information/informational, notice, warn/warning/wrn, error/err/severe,
// fatal/ftl/critical/crit/alert/emerg/emergency/panic/pnc; single letters T D I N W E F
// (logcat/glog style), "V" (verbose -> trace) and logcat's "A" (assert -> fatal).
// Numbers: 10..60 on the pino/bunyan scale (10 trace, 20 debug, 30 info, 40 warn, 50 error,
// 60 fatal); 0..7 as syslog severity (0 emerg .. 7 debug).
std::optional<Level> parse_level(std::string_view text);

// Names only (the list above), never numbers: for text where a digit is not a level.
std::optional<Level> parse_level_name(std::string_view text);

std::string_view level_name(Level level);  // "trace", "debug", "info", ...

// The field names that hold an event's level: level, lvl, severity, loglevel, log.level.
bool is_level_key(std::string_view key);

// The level name (of the table above, three letters or more) nearest to a misspelt one, within
// two edits (`warnn` → `warn`); empty when none is that near.
std::string_view nearest_level_name(std::string_view text);

}  // namespace sluice
