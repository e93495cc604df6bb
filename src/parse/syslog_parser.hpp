#pragma once
// `parser: syslog`: RFC 5424 and RFC 3164 (BSD) lines, as sent over the network (`<PRI>` first)
// or as written to files by syslog daemons (no PRI, year-less time, or an RFC 3339 time).
#include <cstdint>
#include <string_view>

#include "parse/text_line.hpp"
#include "parse/timestamp.hpp"
#include "sluice/batch.hpp"

namespace sluice {

// The parts of a syslog line, as views into it; empty when absent or written as `-`.
struct SyslogLine {
  int priority = -1;      // <PRI>, 0..191; -1 when the line has none
  bool rfc5424 = false;   // `<PRI>1 ` lines; else RFC 3164 style
  bool has_time = false;  // false only for a 5424 NILVALUE time
  LineTime time;          // `Jun 14 15:16:01` (no year) or RFC 3339
  std::string_view host;
  std::string_view app;              // 3164 TAG or 5424 APP-NAME
  std::string_view procid;           // `sshd[123]` → 123; 5424 PROCID (may be non-numeric)
  std::string_view msgid;            // 5424 only
  std::string_view structured_data;  // 5424 only: `[id k="v"]...` as written
  std::string_view message;
};

// Cheap structural recognition, no allocation: true when `line` has the shape of a syslog
// line (the time's shape is checked, not its calendar validity).
bool recognise_syslog(std::string_view line, SyslogLine& out);

// The same as the auto detector sees it (format Syslog3164/Syslog5424): the time, host, the
// tag or APP-NAME as `logger`, a numeric PROCID as `pid`, the message. No level: a PRI is a
// number, not a level as written.
bool recognise_syslog(std::string_view line, TextLine& out);

// Recognises `line` and appends its fields (ECS names: `log.syslog.*`, `host.hostname`,
// `process.name`, `process.pid`, `level`, `message`) to the batch, setting the event's time.
// False (nothing appended) when the line is not syslog or its time is not a valid one.
bool parse_syslog_line(std::string_view line, const TimestampContext& ctx, Batch& batch,
                       Event& event);

// ECS `log.syslog.facility.name` / `log.syslog.severity.name` of a code ("" out of range).
std::string_view syslog_facility_name(int facility);
std::string_view syslog_severity_name(int severity);

}  // namespace sluice
