#pragma once
// `parser: clf`: NCSA Common and Combined access logs (Apache, nginx, and most web servers'
// default), `client ident user [10/Oct/2000:13:55:36 -0700] "GET /a HTTP/1.1" 200 2326` and
// optionally `"referrer" "user agent"` (anything after those is ignored).
#include <string_view>

#include "parse/text_line.hpp"
#include "parse/timestamp.hpp"
#include "sluice/batch.hpp"

namespace sluice {

// The parts of an access line, as views into it (quoted parts without their quotes, escapes
// kept as written).
struct ClfLine {
  std::string_view client;
  std::string_view user;                   // `-` when none
  LineTime time;                           // inside the brackets (always with a year and an offset)
  std::string_view request;                // the whole request line
  std::string_view method, path, version;  // empty unless the request splits into these three
  std::string_view status;
  std::string_view bytes;                 // digits or `-`
  std::string_view referrer, user_agent;  // combined format only
  bool combined = false;
};

// Cheap structural recognition, no allocation.
bool recognise_clf(std::string_view line, ClfLine& out);

// The same as the auto detector sees it (format AccessLog): the time, the whole line as the
// message; no level.
bool recognise_clf(std::string_view line, TextLine& out);

// Recognises `line` and appends its fields (`source.address`, `user.name`,
// `http.request.method`, `url.original`, `http.version`, `http.response.status_code`,
// `http.response.body.bytes`, `http.request.referrer`, `user_agent.original`, `message`), setting
// the event's time. False (nothing appended) when the line is not an access log line.
bool parse_clf_line(std::string_view line, const TimestampContext& ctx, Batch& batch, Event& event);

}  // namespace sluice
