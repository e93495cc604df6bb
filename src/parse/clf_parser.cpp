// Hot path for `parser: clf`: one left-to-right pass, values are views into the line.
#include "parse/clf_parser.hpp"

#include "parse/line_fields.hpp"

namespace sluice {

namespace {

inline bool is_digit(char c) { return is_ascii_digit(c); }

// A space-free token ending at the next space; false when there is none or it is empty.
bool take_token(std::string_view& rest, std::string_view& token) {
  size_t space = rest.find(' ');
  if (space == 0 || space == std::string_view::npos) return false;
  token = rest.substr(0, space);
  rest.remove_prefix(space + 1);
  return true;
}

// `"..."` at the start of rest, a backslash escaping the next byte (Apache writes `\"`);
// the content without quotes. Consumes one following space if there is one.
bool take_quoted(std::string_view& rest, std::string_view& content) {
  if (rest.empty() || rest[0] != '"') return false;
  size_t i = 1;
  while (i < rest.size() && rest[i] != '"') i += rest[i] == '\\' ? 2 : 1;
  if (i >= rest.size()) return false;
  content = rest.substr(1, i - 1);
  rest.remove_prefix(i + 1);
  if (!rest.empty() && rest[0] == ' ') rest.remove_prefix(1);
  return true;
}

// `METHOD SP target SP HTTP/x`; left unsplit when the request is not one (`-`, TLS bytes).
void split_request(ClfLine& out) {
  std::string_view r = out.request;
  size_t first = r.find(' ');
  size_t last = r.rfind(' ');
  if (first == std::string_view::npos || first == last || first == 0) return;
  std::string_view method = r.substr(0, first);
  std::string_view version = r.substr(last + 1);
  for (char c : method) {
    if (c < 'A' || c > 'Z') return;
  }
  if (!version.starts_with("HTTP/") || version.size() < 6) return;
  out.method = method;
  out.path = r.substr(first + 1, last - first - 1);
  out.version = version.substr(5);
}

// `dd/Mon/yyyy:hh:mm:ss +hhmm` (separators checked by the caller).
bool read_clf_time(std::string_view s, LineTime& time) {
  const int day = fixed_digits(s, 0, 2), month = month_from_name(s.substr(3)),
            year = fixed_digits(s, 7, 4), hours = fixed_digits(s, 22, 2),
            minutes = fixed_digits(s, 24, 2);
  if (day < 0 || month == 0 || year < 0 || hours < 0 || hours > 23 || minutes < 0 || minutes > 59 ||
      (s[21] != '+' && s[21] != '-') || read_clock(s, 12, time) != 20)
    return false;
  time.year = year;
  time.month = static_cast<uint8_t>(month);
  time.day = static_cast<uint8_t>(day);
  time.has_year = true;
  time.has_zone = true;
  time.utc_offset_seconds = (hours * 3600 + minutes * 60) * (s[21] == '-' ? -1 : 1);
  return true;
}

}  // namespace

bool recognise_clf(std::string_view line, TextLine& out) {
  ClfLine parts;
  if (!recognise_clf(line, parts)) return false;
  out = TextLine{};
  out.format = TextFormat::AccessLog;
  out.has_time = true;
  out.time = parts.time;
  out.message = line;
  return true;
}

bool recognise_clf(std::string_view line, ClfLine& out) {
  out = ClfLine{};
  std::string_view rest = line;
  std::string_view ident;
  if (!take_token(rest, out.client) || !take_token(rest, ident) || !take_token(rest, out.user))
    return false;
  // `[dd/Mon/yyyy:hh:mm:ss +hhmm]`: the shape is fixed.
  if (rest.size() < 29 || rest[0] != '[' || rest[27] != ']' || rest[3] != '/' || rest[7] != '/' ||
      rest[12] != ':' || rest[21] != ' ' || rest[28] != ' ' ||
      !read_clf_time(rest.substr(1, 26), out.time))
    return false;
  rest.remove_prefix(29);
  if (!take_quoted(rest, out.request)) return false;
  split_request(out);
  // Status: three digits.
  if (rest.size() < 3 || !is_digit(rest[0]) || !is_digit(rest[1]) || !is_digit(rest[2]) ||
      (rest.size() > 3 && rest[3] != ' '))
    return false;
  out.status = rest.substr(0, 3);
  rest.remove_prefix(std::min<size_t>(4, rest.size()));
  size_t bytes_end = rest.find(' ');
  out.bytes = rest.substr(0, bytes_end);
  if (out.bytes != "-" && !all_digits(out.bytes)) return false;
  rest = bytes_end == std::string_view::npos ? std::string_view() : rest.substr(bytes_end + 1);
  std::string_view referrer, agent;
  std::string_view after = rest;
  if (take_quoted(after, referrer) && take_quoted(after, agent)) {
    out.referrer = referrer;
    out.user_agent = agent;
    out.combined = true;
  }
  return true;
}

bool parse_clf_line(std::string_view line, const TimestampContext& ctx, Batch& batch,
                    Event& event) {
  ClfLine parts;
  if (!recognise_clf(line, parts)) return false;
  if (!apply_line_time(event, parts.time, ctx)) return false;
  push_string(batch, "source.address", parts.client);
  push_present(batch, "user.name", parts.user);
  push_present(batch, "http.request.method", parts.method);
  push_present(batch, "url.original", parts.path);
  push_present(batch, "http.version", parts.version);
  push_digits(batch, "http.response.status_code", parts.status);
  push_digits(batch, "http.response.body.bytes", parts.bytes);
  push_present(batch, "http.request.referrer", parts.referrer);
  push_present(batch, "user_agent.original", parts.user_agent);
  push_string(batch, "message", line);
  return true;
}

}  // namespace sluice
