#pragma once
// What recognising one plain-text log line yields: its time as written and spans into the line
// for the parts a format names. Recognisers fill it without allocating; the event parser turns
// it into fields (`level`, `message`, ECS `log.logger`, `process.pid`, `process.thread.name`,
// `host.hostname`) and `@timestamp` (resolve_line_time() in year_inference.hpp).
#include <cstdint>
#include <string_view>

namespace sluice {

// A time as the line wrote it. Either civil fields (wall clock; the year and the UTC offset only
// when the line had them) or, for formats that write an epoch, an instant.
struct LineTime {
  int32_t year = 0;  // valid when has_year
  uint8_t month = 0, day = 0, hour = 0, minute = 0, second = 0;
  uint32_t nanos = 0;
  int32_t utc_offset_seconds = 0;  // valid when has_zone; seconds east of UTC
  bool has_year = false;
  bool has_zone = false;  // an offset or `Z` was written: the source's timezone does not apply
  bool is_epoch = false;  // epoch_ns holds the instant; the civil fields are unused
  int64_t epoch_ns = 0;
};

// Which family of formats matched; lets a caller (tail, multiline: auto) tell formats apart
// without re-reading the line.
enum class TextFormat : uint8_t {
  None = 0,  // no recognised time at the start: the line stays a plain message
  Iso8601,   // ISO 8601 / RFC 3339 and log4j/logback/Python/Go/nginx variants of it
  Bracketed,
  Syslog3164,
  Syslog5424,
  AccessLog,  // Common/Combined Log Format
  ApacheError,
  Klog,
  Logcat,
  RubyLogger,
  WindowsCbs,
  PythonBare,  // `LEVEL:logger:message`, no time
};

struct TextLine {
  TextFormat format = TextFormat::None;
  bool has_time = false;
  LineTime time;
  // Spans into the line; empty (data() == nullptr) when the format has no such part.
  std::string_view level;        // exactly as written (`WARN`, `W`, `warning`, `<4>` is not one)
  std::string_view logger;       // log.logger: a class, module, tag or component name
  std::string_view thread;       // process.thread.name
  std::string_view pid;          // process.pid: decimal digits only
  std::string_view host;         // host.hostname
  std::string_view source_line;  // log.origin.file.line: the line of code that logged, digits
  std::string_view message;      // the rest of the line
};

}  // namespace sluice
