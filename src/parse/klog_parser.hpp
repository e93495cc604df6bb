#pragma once
// `parser: klog`: the header Kubernetes components (klog) and glog write,
// `I1206 18:00:00.123456   12345 file.go:42] msg`: level letter, month and day (no year), time,
// a process id, the source file and line.
#include <string_view>

#include "parse/text_line.hpp"
#include "parse/timestamp.hpp"
#include "sluice/batch.hpp"

namespace sluice {

struct KlogLine {
  TextLine text;                 // format Klog: time (no year), level letter, pid, message
  std::string_view file;         // log.origin.file.name
  std::string_view line_number;  // log.origin.file.line (digits)
};

// Cheap recognition, no allocation: true when `line` starts with a klog header. The date's
// calendar validity (Feb 30) is left to resolve_line_time().
bool recognise_klog(std::string_view line, KlogLine& out);

// Recognises `line` and appends `level`, `process.pid`, `log.origin.file.name`,
// `log.origin.file.line` and `message`, setting the event's time (year inferred from `ctx`).
// False (nothing appended) when the line is not klog or its date is not valid.
bool parse_klog_line(std::string_view line, const TimestampContext& ctx, Batch& batch,
                     Event& event);

}  // namespace sluice
