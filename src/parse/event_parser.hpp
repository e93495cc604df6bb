#pragma once
// Per-source parsing: turns every framed line of a batch into fields and a timestamp. One
// instance per source, shared by all workers (it holds no per-call state).
#include <memory>
#include <string>
#include <vector>

#include "sluice/batch.hpp"

namespace re2 {
class RE2;
}

namespace sluice {

class TimeZone;

// Text: the plain-text layouts of parse/text_detect.hpp (Auto tries them after JSON and logfmt).
// Syslog, Clf, Klog, Logcat: named plain-text formats, for when the user knows the format.
enum class ParserKind { Auto, Json, Logfmt, Regex, None, Text, Syslog, Clf, Klog, Logcat };

struct ParserOptions {
  ParserKind kind = ParserKind::Auto;
  std::string pattern;                        // regex: RE2 with named groups
  std::string target;                         // nest parsed fields under this key; "" = top level
  bool keep_raw = false;                      // also keep the raw line as event.original
  std::vector<std::string> timestamp_fields;  // empty = the default list
  std::shared_ptr<const TimeZone> zone;       // for times without an offset; null = UTC
};

// Tried in order when no timestamp_field is configured.
inline const std::vector<std::string>& default_timestamp_fields() {
  static const std::vector<std::string> fields{"@timestamp", "timestamp", "time",
                                               "ts",         "t",         "date"};
  return fields;
}

class EventParser {
 public:
  // Returns nullptr with `error` set when the options are invalid (e.g. a bad regex).
  static std::unique_ptr<EventParser> create(ParserOptions options, std::string* error);
  ~EventParser();

  // Parses every event of the batch; `now_ns` infers years of syslog times.
  void parse(Batch& batch, int64_t now_ns) const;

  [[nodiscard]] const ParserOptions& options() const { return options_; }

 private:
  explicit EventParser(ParserOptions options);
  enum class Outcome { Parsed, Plain, Failed };
  Outcome parse_line(Batch& batch, Event& event, int64_t now_ns) const;
  bool parse_text(Batch& batch, Event& event, int64_t now_ns) const;
  void extract_timestamp(Batch& batch, Event& event, int64_t now_ns) const;
  void nest_under_target(Batch& batch, Event& event) const;

  ParserOptions options_;
  std::unique_ptr<re2::RE2> regex_;
  std::vector<std::pair<int, std::string>> regex_groups_;  // capture index → field name
  int regex_captures_ = 0;  // captures a match fills: up to the last named group
  // Whether a configured timestamp field could be one of the fields a plain line gets (message,
  // level, dotted ECS names); when not, a plain line's time needs no search of its fields.
  bool plain_fields_may_hold_time_ = false;
};

}  // namespace sluice
