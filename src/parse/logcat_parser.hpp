#pragma once
// `parser: logcat`: Android's `logcat -v threadtime` lines,
// `03-17 16:13:38.811  1702  2395 D Tag: msg`: month and day (no year), time, process and thread
// ids, a level letter (V D I W E F A), the tag.
#include <string_view>

#include "parse/text_line.hpp"
#include "parse/timestamp.hpp"
#include "sluice/batch.hpp"

namespace sluice {

struct LogcatLine {
  TextLine text;  // format Logcat: time (no year), level letter, pid, logger (the tag), message
  std::string_view thread_id;  // process.thread.id (digits)
};

// Cheap recognition, no allocation: true when `line` has the threadtime shape.
bool recognise_logcat(std::string_view line, LogcatLine& out);

// Recognises `line` and appends `level`, `process.pid`, `process.thread.id`, `log.logger` and
// `message`, setting the event's time (year inferred from `ctx`). False (nothing appended) when
// the line is not logcat or its date is not valid.
bool parse_logcat_line(std::string_view line, const TimestampContext& ctx, Batch& batch,
                       Event& event);

}  // namespace sluice
