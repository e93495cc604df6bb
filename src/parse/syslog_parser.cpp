// Hot path for `parser: syslog`: fixed-shape byte checks and one pass over the line; field values
// are views into it. Only RFC 5424 structured data is rewritten (as a JSON object, in the arena).
#include "parse/syslog_parser.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include "base/json_writer.hpp"
#include "parse/line_fields.hpp"

namespace sluice {

namespace {

constexpr std::string_view kFacilityCodes[] = {"0",  "1",  "2",  "3",  "4",  "5",  "6",  "7",
                                               "8",  "9",  "10", "11", "12", "13", "14", "15",
                                               "16", "17", "18", "19", "20", "21", "22", "23"};
constexpr std::string_view kFacilityNames[] = {
    "kern",   "user",   "mail",     "daemon", "auth",   "syslog",   "lpr",     "news",
    "uucp",   "cron",   "authpriv", "ftp",    "ntp",    "security", "console", "solaris-cron",
    "local0", "local1", "local2",   "local3", "local4", "local5",   "local6",  "local7"};
// RFC 5424 table 2, as ECS's `log.syslog.severity.name` shows them.
constexpr std::string_view kSeverityNames[] = {"Emergency", "Alert",  "Critical",      "Error",
                                               "Warning",   "Notice", "Informational", "Debug"};
// The syslog keywords (syslog.conf, rsyslog): what `level` holds, and what level filters read.
constexpr std::string_view kSeverityKeywords[] = {"emerg",   "alert",  "crit", "err",
                                                  "warning", "notice", "info", "debug"};

inline bool is_digit(char c) {
  return static_cast<unsigned>(static_cast<unsigned char>(c)) - '0' <= 9;
}

// `<PRI>` at the start: 1 to 3 digits, at most 191, no leading zero but `<0>`.
size_t read_priority(std::string_view line, int& priority) {
  if (line.size() < 3 || line[0] != '<') return 0;
  size_t i = 1;
  int value = 0;
  while (i < line.size() && i <= 3 && is_digit(line[i])) value = value * 10 + (line[i++] - '0');
  if (i == 1 || i >= line.size() || line[i] != '>' || value > 191) return 0;
  if (line[1] == '0' && i > 2) return 0;
  priority = value;
  return i + 1;
}

// `Mmm dd hh:mm:ss[.f]` with the day space-padded or not: the length of the time, or 0.
size_t read_bsd_time(std::string_view s, LineTime& time) {
  if (s.size() < 14 || s[3] != ' ') return 0;
  const int month = month_from_name(s);
  if (month == 0) return 0;
  size_t i = 4;
  if (s[i] == ' ') ++i;
  if (!is_digit(s[i])) return 0;
  int day = s[i++] - '0';
  if (i < s.size() && is_digit(s[i]) && s[4] != ' ') day = day * 10 + (s[i++] - '0');
  if (i >= s.size() || s[i] != ' ') return 0;
  time.month = static_cast<uint8_t>(month);
  time.day = static_cast<uint8_t>(day);
  return read_clock(s, i + 1, time);
}

// An RFC 3339 time token `YYYY-MM-DDThh:mm:ss[.f][Z|+hh:mm|+hhmm]`, all of it.
bool read_rfc3339(std::string_view token, LineTime& time) {
  if (token.size() < 19) return false;
  const int year = fixed_digits(token, 0, 4), month = fixed_digits(token, 5, 2),
            day = fixed_digits(token, 8, 2);
  if (year < 0 || month < 0 || day < 0 || token[4] != '-' || token[7] != '-' ||
      (token[10] != 'T' && token[10] != 't'))
    return false;
  time.year = year;
  time.month = static_cast<uint8_t>(month);
  time.day = static_cast<uint8_t>(day);
  time.has_year = true;
  size_t i = read_clock(token, 11, time);
  if (i == 0) return false;
  if (i == token.size()) return true;
  if ((token[i] == 'Z' || token[i] == 'z') && i + 1 == token.size()) {
    time.has_zone = true;
    return true;
  }
  if (token[i] != '+' && token[i] != '-') return false;
  const int hours = fixed_digits(token, i + 1, 2);
  size_t m = i + 3;
  if (m < token.size() && token[m] == ':') ++m;
  const int minutes = fixed_digits(token, m, 2);
  if (hours < 0 || hours > 23 || minutes < 0 || minutes > 59 || m + 2 != token.size()) return false;
  time.utc_offset_seconds = (hours * 3600 + minutes * 60) * (token[i] == '-' ? -1 : 1);
  time.has_zone = true;
  return true;
}

std::string_view next_token(std::string_view& rest) {
  size_t space = rest.find(' ');
  std::string_view token = rest.substr(0, space);
  rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
  return token;
}

std::string_view nil_to_empty(std::string_view v) { return v == "-" ? std::string_view() : v; }

// `[id k="v" ...]...` up to its end (quotes may hold `]`, `\"`, `\]`): the length, or 0.
size_t structured_data_length(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && s[i] == '[') {
    bool quoted = false;
    for (++i;; ++i) {
      if (i >= s.size()) return 0;
      const char c = s[i];
      if (quoted && c == '\\') {
        ++i;
      } else if (c == '"') {
        quoted = !quoted;
      } else if (!quoted && c == ']') {
        ++i;
        break;
      }
    }
  }
  return i;
}

// `<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD [MSG]` after the `<PRI>`.
bool recognise_5424(std::string_view rest, SyslogLine& out) {
  if (rest.size() < 2 || rest[0] != '1' || rest[1] != ' ') return false;
  rest.remove_prefix(2);
  std::string_view time = next_token(rest);
  if (time != "-") {
    if (!read_rfc3339(time, out.time)) return false;
    out.has_time = true;
  }
  std::string_view host = next_token(rest);
  std::string_view app = next_token(rest);
  std::string_view procid = next_token(rest);
  std::string_view msgid = next_token(rest);
  if (host.empty() || app.empty() || procid.empty() || msgid.empty() || rest.empty()) return false;
  out.host = nil_to_empty(host);
  out.app = nil_to_empty(app);
  out.procid = nil_to_empty(procid);
  out.msgid = nil_to_empty(msgid);
  if (rest[0] == '-') {
    rest.remove_prefix(1);
  } else {
    size_t sd = structured_data_length(rest);
    if (sd == 0) return false;
    out.structured_data = rest.substr(0, sd);
    rest.remove_prefix(sd);
  }
  if (!rest.empty()) {
    if (rest[0] != ' ') return false;
    rest.remove_prefix(1);
  }
  // A UTF-8 BOM marks the message as UTF-8; it is not part of it.
  if (rest.starts_with("\xEF\xBB\xBF")) rest.remove_prefix(3);
  out.rfc5424 = true;
  out.message = rest;
  return true;
}

// A 3164 TAG ending in `:` at the start of `rest`: `app[pid]: `, `app: `; the app may hold
// spaces only when a `[pid]` follows (`Microsoft Word[14463]: `) and `spaces_allowed` (not in
// the first token after the time, which is a host when a space follows it). Sets
// app/procid/message.
bool read_tag(std::string_view rest, bool spaces_allowed, SyslogLine& out) {
  constexpr size_t kMaxTag = 64;
  size_t colon = rest.substr(0, kMaxTag + 1).find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  if (colon + 1 < rest.size() && rest[colon + 1] != ' ') return false;
  std::string_view tag = rest.substr(0, colon);
  if (!spaces_allowed && tag.find(' ') != std::string_view::npos) return false;
  std::string_view app = tag;
  std::string_view pid;
  if (tag.back() == ']') {
    size_t open = tag.rfind('[');
    if (open == std::string_view::npos || open == 0) return false;
    pid = tag.substr(open + 1, tag.size() - open - 2);
    if (!all_digits(pid)) return false;
    app = tag.substr(0, open);
  } else if (tag.find(' ') != std::string_view::npos) {
    return false;
  }
  // (A loop, not find_first_of: that looks each byte up in "[]" with a call of its own.)
  for (char c : app) {
    if (c == '[' || c == ']') return false;
  }
  out.app = app;
  out.procid = pid;
  out.message = rest.substr(std::min(rest.size(), colon + 2));
  return true;
}

// `[<PRI>]TIME [HOST ]TAG: MSG` (or no tag: then the message is all after the host).
bool recognise_3164(std::string_view rest, SyslogLine& out) {
  size_t time_length = read_bsd_time(rest, out.time);
  if (time_length == 0) {
    out.time = LineTime{};
    size_t space = rest.find(' ');
    if (space == std::string_view::npos || !read_rfc3339(rest.substr(0, space), out.time))
      return false;
    time_length = space;
  }
  out.has_time = true;
  rest.remove_prefix(time_length);
  if (rest.size() < 2 || rest[0] != ' ' || rest[1] == ' ') return false;
  rest.remove_prefix(1);
  // A local sender leaves the host out: the first token is then already the tag.
  if (read_tag(rest, false, out)) return true;
  std::string_view host = next_token(rest);
  if (host.empty()) return false;
  out.host = host;
  while (!rest.empty() && rest[0] == ' ') rest.remove_prefix(1);
  if (!read_tag(rest, true, out)) out.message = rest;
  return true;
}

struct SdParam {
  std::string_view name;
  std::string_view value;  // as written: `\"`, `\\` and `\]` still escaped
  bool keep = true;
};
struct SdElement {
  std::string_view id;
  uint32_t first_param = 0;
  uint32_t param_count = 0;
  bool keep = true;
};

// A key as the JSON writer will write it: invalid UTF-8 repaired first, so that two keys that
// differ only in such bytes are seen as the one key they become.
std::string_view written_key(std::string_view key, Arena& arena) {
  return is_valid_utf8(key) ? key : repair_utf8(key, arena);
}

// Clears `keep` on every item whose key comes again later in [first, first + count): the last
// one wins, as for a JSON object's repeated keys. Sorting indices keeps it O(n log n) on hostile
// input; std::sort does not allocate.
template <typename Item, typename KeyOf>
void keep_last_of_each_key(std::vector<Item>& items, uint32_t first, uint32_t count, KeyOf key_of) {
  if (count < 2) return;
  thread_local std::vector<uint32_t> order;
  order.clear();
  for (uint32_t i = first; i < first + count; ++i) order.push_back(i);
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    const std::string_view ka = key_of(items[a]), kb = key_of(items[b]);
    return ka != kb ? ka < kb : a < b;
  });
  for (size_t k = 0; k + 1 < order.size(); ++k) {
    if (key_of(items[order[k]]) == key_of(items[order[k + 1]])) items[order[k]].keep = false;
  }
}

void append_unescaped_value(ByteBuffer& json, std::string_view raw) {
  thread_local std::string value;
  value.clear();
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\\' && i + 1 < raw.size() &&
        (raw[i + 1] == '"' || raw[i + 1] == '\\' || raw[i + 1] == ']')) {
      ++i;
    }
    value.push_back(raw[i]);
  }
  append_json_string(json, value);
}

// The structured data as `{"id":{"param":"value",...},...}`, values unescaped; an SD-ID or a
// param name given twice keeps its last occurrence.
std::string_view structured_data_json(std::string_view sd, Arena& arena) {
  thread_local std::vector<SdElement> elements;
  thread_local std::vector<SdParam> params;
  thread_local ByteBuffer json;
  elements.clear();
  params.clear();
  size_t i = 0;
  while (i < sd.size() && sd[i] == '[') {
    ++i;
    size_t id_end = i;
    while (id_end < sd.size() && sd[id_end] != ' ' && sd[id_end] != ']') ++id_end;
    SdElement element;
    element.id = written_key(sd.substr(i, id_end - i), arena);
    element.first_param = static_cast<uint32_t>(params.size());
    i = id_end;
    while (i < sd.size() && sd[i] == ' ') {
      ++i;
      size_t eq = sd.find('=', i);
      if (eq == std::string_view::npos || eq + 1 >= sd.size() || sd[eq + 1] != '"') break;
      size_t close = eq + 2;
      while (close < sd.size() && sd[close] != '"') close += sd[close] == '\\' ? 2 : 1;
      close = std::min(close, sd.size());
      params.push_back(
          SdParam{written_key(sd.substr(i, eq - i), arena), sd.substr(eq + 2, close - eq - 2)});
      i = close + 1;  // past the closing quote
    }
    element.param_count = static_cast<uint32_t>(params.size()) - element.first_param;
    elements.push_back(element);
    // Skip to the element's end (recognition checked that it has one).
    while (i < sd.size() && sd[i] != ']') ++i;
    ++i;
  }
  keep_last_of_each_key(elements, 0, static_cast<uint32_t>(elements.size()),
                        [](const SdElement& e) { return e.id; });
  json.clear();
  json.push_back('{');
  bool first_element = true;
  for (const SdElement& element : elements) {
    if (!element.keep) continue;
    keep_last_of_each_key(params, element.first_param, element.param_count,
                          [](const SdParam& p) { return p.name; });
    if (!first_element) json.push_back(',');
    first_element = false;
    append_json_string(json, element.id, true);
    json.append(":{");
    bool first_param = true;
    for (uint32_t k = element.first_param; k < element.first_param + element.param_count; ++k) {
      if (!params[k].keep) continue;
      if (!first_param) json.push_back(',');
      first_param = false;
      append_json_string(json, params[k].name, true);
      json.push_back(':');
      append_unescaped_value(json, params[k].value);
    }
    json.push_back('}');
  }
  json.push_back('}');
  return arena.copy(json.view());
}

}  // namespace

std::string_view syslog_facility_name(int facility) {
  return facility >= 0 && facility < 24 ? kFacilityNames[facility] : std::string_view();
}

std::string_view syslog_severity_name(int severity) {
  return severity >= 0 && severity < 8 ? kSeverityNames[severity] : std::string_view();
}

bool recognise_syslog(std::string_view line, SyslogLine& out) {
  out = SyslogLine{};
  size_t skip = read_priority(line, out.priority);
  std::string_view rest = line.substr(skip);
  if (skip != 0 && recognise_5424(rest, out)) return true;
  int priority = out.priority;
  out = SyslogLine{};
  out.priority = priority;
  return recognise_3164(rest, out);
}

bool recognise_syslog(std::string_view line, TextLine& out) {
  SyslogLine parts;
  if (!recognise_syslog(line, parts)) return false;
  out = TextLine{};
  out.format = parts.rfc5424 ? TextFormat::Syslog5424 : TextFormat::Syslog3164;
  out.has_time = parts.has_time;
  out.time = parts.time;
  out.host = parts.host;
  out.logger = parts.app;
  if (all_digits(parts.procid)) out.pid = parts.procid;
  out.message = parts.message;
  return true;
}

bool parse_syslog_line(std::string_view line, const TimestampContext& ctx, Batch& batch,
                       Event& event) {
  SyslogLine parts;
  if (!recognise_syslog(line, parts)) return false;
  if (parts.has_time && !apply_line_time(event, parts.time, ctx)) return false;
  if (parts.priority >= 0) {
    const int facility = parts.priority / 8;
    const int severity = parts.priority % 8;
    push_string(batch, "level", kSeverityKeywords[severity]);
    push_number(batch, "log.syslog.priority", line.substr(1, line.find('>') - 1));
    push_number(batch, "log.syslog.facility.code", kFacilityCodes[facility]);
    push_string(batch, "log.syslog.facility.name", kFacilityNames[facility]);
    push_number(batch, "log.syslog.severity.code", kFacilityCodes[severity]);
    push_string(batch, "log.syslog.severity.name", kSeverityNames[severity]);
  }
  if (parts.rfc5424) push_number(batch, "log.syslog.version", "1");
  push_present(batch, "host.hostname", parts.host);
  push_present(batch, "process.name", parts.app);
  if (all_digits(parts.procid)) {
    push_digits(batch, "process.pid", parts.procid);
  } else {
    push_present(batch, "log.syslog.procid", parts.procid);
  }
  push_present(batch, "log.syslog.msgid", parts.msgid);
  if (!parts.structured_data.empty()) {
    batch.fields.push_back(Field{
        "log.syslog.structured_data",
        Value{ValueKind::Json, true, structured_data_json(parts.structured_data, batch.arena)}});
  }
  push_string(batch, "message", parts.message);
  return true;
}

}  // namespace sluice
