#pragma once
// `parser: auto` / `parser: text` for lines that are neither JSON nor logfmt: recognises the
// common plain-text layouts by their first bytes (no regex), reads the line's own time and the
// level written next to it, and the logger, thread, pid and host where the layout has them.
//
// Recognised at the start of the line (README, "Plain-text lines"):
//   ISO 8601 / RFC 3339 with `T` or space, `.`/`,` fraction, optional zone, and what log4j,
//   logback, Python logging, Spring Boot, Zookeeper, OpenStack and Windows CBS write after it;
//   Go `log` / nginx error `2024/01/02 03:04:05`; log4j `yy/MM/dd HH:mm:ss` (only with a level
//   after it, as the date alone could be MM/dd/yy); bracketed times `[2024-01-02 03:04:05]`,
//   `[10/Oct/2000:13:55:36 -0700]`; Apache error logs `[Sun Dec 04 04:47:44 2005] [notice]`;
//   Ruby Logger `I, [2024-01-02T03:04:05.123456 #1234]  INFO -- prog: msg`; Python's bare
//   `WARNING:name:msg`; and, through their named parsers, BSD syslog and RFC 5424, Common and
//   Combined access logs, klog and logcat threadtime.
// Anything else is left alone (nullopt / false): a wrong time or level is worse than none.
#include <cstdint>
#include <string_view>

#include "parse/text_line.hpp"
#include "parse/timestamp.hpp"
#include "sluice/batch.hpp"

namespace sluice {

// Pure recognition, no allocation: true when `line` starts with a recognised layout; `out`
// then holds its parts (spans into `line`). The time's calendar validity is not checked here.
bool detect_text_line(std::string_view line, TextLine& out);

// Recognises `line` and appends its fields (`level`, `message`, `log.logger`, `process.pid`,
// `process.thread.name`, `host.hostname`) to the batch, setting the event's time: the line's
// own (its zone, else ctx.zone; year-less times against ctx.now_ns, the year anchor), except
// that a time the source already set (a container runtime's) is kept unless the line's has a
// year and a zone, or a year and the source set `timezone` (line_fields.hpp, apply_line_time).
// Syslog, CLF, klog and logcat lines go to their named parsers (their fields). False (nothing
// appended, the event untouched) when no layout matched or the time is not a valid one.
bool parse_text_line(std::string_view line, const TimestampContext& ctx, Batch& batch,
                     Event& event);

}  // namespace sluice
