#include "parse/event_parser.hpp"

#include <re2/re2.h>

#include <algorithm>
#include <vector>

#include "base/json_writer.hpp"
#include "parse/clf_parser.hpp"
#include "parse/json_parser.hpp"
#include "parse/klog_parser.hpp"
#include "parse/line_fields.hpp"
#include "parse/logcat_parser.hpp"
#include "parse/logfmt_parser.hpp"
#include "parse/syslog_parser.hpp"
#include "parse/text_detect.hpp"
#include "parse/timestamp.hpp"

namespace sluice {

EventParser::EventParser(ParserOptions options) : options_(std::move(options)) {}
EventParser::~EventParser() = default;

std::unique_ptr<EventParser> EventParser::create(ParserOptions options, std::string* error) {
  std::unique_ptr<EventParser> parser(new EventParser(std::move(options)));
  if (parser->options_.kind == ParserKind::Regex) {
    if (parser->options_.pattern.empty()) {
      *error = "parser `regex` needs a `pattern`";
      return nullptr;
    }
    parser->regex_ = std::make_unique<re2::RE2>(parser->options_.pattern, re2::RE2::Quiet);
    if (!parser->regex_->ok()) {
      *error = "invalid regex pattern: " + parser->regex_->error();
      return nullptr;
    }
    for (const auto& [name, index] : parser->regex_->NamedCapturingGroups()) {
      parser->regex_groups_.emplace_back(index, name);
      parser->regex_captures_ = std::max(parser->regex_captures_, index + 1);
    }
    if (parser->regex_groups_.empty()) {
      *error = "regex pattern has no named capture group such as (?P<level>\\w+)";
      return nullptr;
    }
  }
  if (parser->options_.target == "@timestamp") {
    // The event's own @timestamp is always written: an object under that name would repeat it.
    *error = "`target` cannot be `@timestamp`, which holds the event's time";
    return nullptr;
  }
  if (parser->options_.timestamp_fields.empty()) {
    parser->options_.timestamp_fields = default_timestamp_fields();
  }
  // A plain line's fields are `message`, `level` and dotted ECS names (`log.logger`,
  // `process.pid`, `http.request.method`, ...), never `@timestamp`.
  for (const std::string& name : parser->options_.timestamp_fields) {
    if (name == "message" || name == "level" || name.find('.') != std::string::npos) {
      parser->plain_fields_may_hold_time_ = true;
    }
  }
  return parser;
}

namespace {

void push_message(Batch& batch, std::string_view line) {
  batch.fields.push_back(Field{"message", Value{ValueKind::String, false, line}});
}

size_t first_non_space(std::string_view line) {
  size_t i = 0;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  return i;
}

size_t padded_capacity(const Batch& batch, std::string_view line) {
  return batch.bytes.capacity() - static_cast<size_t>(line.data() - batch.bytes.data());
}

}  // namespace

// A recognised plain-text line gives schema fields (`level`, `message`, `log.logger`, ...), not
// the application's own keys, so it counts as plain: they are never nested under `target`.
bool EventParser::parse_text(Batch& batch, Event& event, int64_t now_ns) const {
  // Year-less times take their year from the file's modification time where the source knows
  // it, else from the time the line was read.
  const TimestampContext ctx{options_.zone.get(),
                             batch.year_anchor_ns != 0 ? batch.year_anchor_ns : now_ns};
  return parse_text_line(event.line, ctx, batch, event);
}

EventParser::Outcome EventParser::parse_line(Batch& batch, Event& event, int64_t now_ns) const {
  std::string_view line = event.line;
  const TimestampContext ctx{options_.zone.get(), now_ns};
  switch (options_.kind) {
    case ParserKind::Syslog:
      return parse_syslog_line(line, ctx, batch, event) ? Outcome::Parsed : Outcome::Failed;
    case ParserKind::Clf:
      return parse_clf_line(line, ctx, batch, event) ? Outcome::Parsed : Outcome::Failed;
    case ParserKind::Klog:
      return parse_klog_line(line, ctx, batch, event) ? Outcome::Parsed : Outcome::Failed;
    case ParserKind::Logcat:
      return parse_logcat_line(line, ctx, batch, event) ? Outcome::Parsed : Outcome::Failed;
    case ParserKind::Text:
      if (!parse_text(batch, event, now_ns)) push_message(batch, line);
      return Outcome::Plain;
    case ParserKind::None:
      push_message(batch, line);
      return Outcome::Plain;
    case ParserKind::Json:
      return parse_json_object(line, padded_capacity(batch, line), batch.arena, batch.fields)
                 ? Outcome::Parsed
                 : Outcome::Failed;
    case ParserKind::Logfmt:
      return parse_logfmt(line, LogfmtStrictness::Lenient, batch.arena, batch.fields)
                 ? Outcome::Parsed
                 : Outcome::Failed;
    case ParserKind::Regex: {
      // Captures up to the last named group, wherever it is: a fixed-size array would drop
      // the fields of named groups that come after many unnamed ones. Per thread, as the
      // parser is shared by the workers.
      thread_local std::vector<re2::StringPiece> groups;
      groups.assign(static_cast<size_t>(regex_captures_), re2::StringPiece());
      if (!regex_->Match(re2::StringPiece(line.data(), line.size()), 0, line.size(),
                         re2::RE2::UNANCHORED, groups.data(), regex_captures_)) {
        return Outcome::Failed;
      }
      for (const auto& [index, name] : regex_groups_) {
        if (groups[index].data() == nullptr) continue;
        batch.fields.push_back(
            Field{name, Value{ValueKind::String, false,
                              std::string_view(groups[index].data(), groups[index].size())}});
      }
      return Outcome::Parsed;
    }
    case ParserKind::Auto: {
      if (starts_like_bsd_syslog(line)) {  // not JSON, not logfmt (line_fields.hpp)
        if (!parse_text(batch, event, now_ns)) push_message(batch, line);
        return Outcome::Plain;
      }
      size_t start = first_non_space(line);
      if (start < line.size() && line[start] == '{') {
        // It claims to be JSON: failing to parse it is worth flagging.
        return parse_json_object(line, padded_capacity(batch, line), batch.arena, batch.fields)
                   ? Outcome::Parsed
                   : Outcome::Failed;
      }
      if (start < line.size() && is_logfmt_identifier_start(line[start]) &&
          parse_logfmt(line, LogfmtStrictness::RequireLeadingPair, batch.arena, batch.fields)) {
        return Outcome::Parsed;
      }
      if (!parse_text(batch, event, now_ns)) push_message(batch, line);
      return Outcome::Plain;
    }
  }
  return Outcome::Failed;
}

void EventParser::extract_timestamp(Batch& batch, Event& event, int64_t now_ns) const {
  TimestampContext ctx{options_.zone.get(), now_ns};
  const uint32_t end = event.first_field + event.field_count;
  // An @timestamp that did not parse is kept under another name: the output has one @timestamp.
  // That name then replaces a `@timestamp_raw` of the line's own, which would be a second key
  // of the same name (the renamed one is the later write, as in "the last value wins").
  // (Keys are unique by now, and a removed field's empty key matches neither name.)
  auto keep_unparsed = [&] {
    for (uint32_t i = event.first_field; i < end; ++i) {
      if (batch.fields[i].key != "@timestamp") continue;
      for (uint32_t j = event.first_field; j < end; ++j) {
        if (batch.fields[j].key == "@timestamp_raw") batch.fields[j].key = std::string_view();
      }
      batch.fields[i].key = "@timestamp_raw";
      return;
    }
  };
  for (const std::string& name : options_.timestamp_fields) {
    for (uint32_t i = event.first_field; i < end; ++i) {
      Field& field = batch.fields[i];
      if (field.key.data() == nullptr || field.key != name) continue;
      std::optional<int64_t> ts;
      if (field.value.kind == ValueKind::Number) {
        ts = parse_epoch_number(field.value.text);
      } else if (field.value.kind == ValueKind::String) {
        ts = parse_timestamp(field.value.text, ctx);
      }
      if (!ts) continue;
      event.timestamp_ns = *ts;
      if (i - event.first_field < 0xFF)
        event.timestamp_field = static_cast<uint8_t>(i - event.first_field);
      // The normalised @timestamp replaces the original one rather than duplicating the key.
      if (name == "@timestamp") field.key = std::string_view();
      keep_unparsed();
      return;
    }
  }
  // No time in the line: a time the source knew (a container runtime's), else the read time.
  if (event.timestamp_ns == 0) event.timestamp_ns = batch.read_time_ns;
  keep_unparsed();
}

void EventParser::nest_under_target(Batch& batch, Event& event) const {
  thread_local ByteBuffer nested;
  nested.clear();
  nested.push_back('{');
  bool first = true;
  const uint32_t end = event.first_field + event.field_count;
  for (uint32_t i = event.first_field; i < end; ++i) {
    const Field& field = batch.fields[i];
    if (field.key.data() == nullptr) continue;
    if (!first) nested.push_back(',');
    first = false;
    append_json_string(nested, field.key, false);
    nested.push_back(':');
    if (field.value.kind == ValueKind::String) {
      append_json_string(nested, field.value.text, field.value.utf8_valid);
    } else {
      nested.append(field.value.text);
    }
  }
  nested.push_back('}');
  batch.fields.resize(event.first_field);
  batch.fields.push_back(
      Field{options_.target, Value{ValueKind::Json, true, batch.arena.copy(nested.view())}});
  event.field_count = 1;
}

void EventParser::parse(Batch& batch, int64_t now_ns) const {
  for (Event& event : batch.events) {
    event.first_field = static_cast<uint32_t>(batch.fields.size());
    bool parsed = false;
    Outcome outcome = Outcome::Plain;  // a split piece is kept as a plain message
    if (event.flags & kFlagSplit) {
      // A piece of an over-long line cannot be parsed as a whole; keep it as text.
      push_message(batch, event.line);
    } else {
      outcome = parse_line(batch, event, now_ns);
      parsed = outcome == Outcome::Parsed;
      if (outcome == Outcome::Failed) {
        event.flags |= kFlagParseError;
        push_message(batch, event.line);
      }
    }
    event.field_count = static_cast<uint32_t>(batch.fields.size()) - event.first_field;
    if (outcome == Outcome::Plain && !plain_fields_may_hold_time_) {
      // No field of a plain line can be a timestamp field: the line's own time, or the read time.
      if (event.timestamp_ns == 0) event.timestamp_ns = batch.read_time_ns;
    } else {
      extract_timestamp(batch, event, now_ns);
    }
    if (parsed && !options_.target.empty()) nest_under_target(batch, event);
  }
}

}  // namespace sluice
