#include "base/field_path.hpp"

namespace sluice {

bool is_plain_path_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '@';
}

namespace {

bool needs_quotes(std::string_view key) {
  if (key.empty()) return true;
  for (char c : key) {
    if (!is_plain_path_char(c)) return true;
  }
  return false;
}

// The quoted segment opening at path[at] (a '"'): the position of its closing quote, or npos.
size_t closing_quote(std::string_view path, size_t at) {
  for (size_t i = at + 1; i < path.size(); ++i) {
    if (path[i] == '\\') {
      ++i;
    } else if (path[i] == '"') {
      return i;
    }
  }
  return std::string_view::npos;
}

// Matches segment `segment` against `key` from key[*at] on; advances *at past what it names.
bool match_segment(const PathSegment& segment, std::string_view key, size_t* at) {
  size_t k = *at;
  const std::string_view raw = segment.raw;
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (segment.quoted && c == '\\' && i + 1 < raw.size()) c = raw[++i];
    if (k >= key.size() || key[k] != c) return false;
    ++k;
  }
  *at = k;
  return true;
}

}  // namespace

FieldPathScan scan_field_path(std::string_view text, size_t start) {
  FieldPathScan scan;
  size_t i = start;
  auto fail = [&](size_t at, std::string message) {
    scan.error = std::move(message);
    scan.error_at = at;
    scan.end = at;
    return scan;
  };
  while (i < text.size()) {
    const char c = text[i];
    if (is_plain_path_char(c) || c == '.') {
      scan.canonical.push_back(c);
      ++i;
      continue;
    }
    if (c != '"') break;
    if (i > start && text[i - 1] != '.') {
      return fail(i, "a quoted name in a field path must follow a '.' (write `a.\"b.c\"`)");
    }
    const size_t open = i;
    std::string name;  // escapes read: decides whether the canonical form needs the quotes
    ++i;
    bool closed = false;
    while (i < text.size()) {
      const char q = text[i];
      if (q == '"') {
        closed = true;
        break;
      }
      if (q == '\\') {
        if (i + 1 < text.size() && (text[i + 1] == '"' || text[i + 1] == '\\')) {
          name.push_back(text[i + 1]);
          i += 2;
          continue;
        }
        return fail(i, "in a quoted name of a field path only \\\" and \\\\ are escapes");
      }
      name.push_back(q);
      ++i;
    }
    if (!closed) {
      return fail(open, "unterminated quoted name in field path, expected a closing \"");
    }
    if (name.empty()) return fail(open, "empty quoted name \"\" in field path");
    ++i;  // the closing quote
    if (i < text.size() && (is_plain_path_char(text[i]) || text[i] == '"')) {
      return fail(i, "expected '.' after the quoted name in field path");
    }
    if (needs_quotes(name)) {
      scan.canonical.append(text.substr(open, i - open));
    } else {
      scan.canonical.append(name);
    }
  }
  scan.end = i;
  return scan;
}

bool PathSegment::equals(std::string_view key) const {
  size_t at = 0;
  return match_segment(*this, key, &at) && at == key.size();
}

bool PathSegments::next(PathSegment* segment) {
  if (rest_.data() == nullptr) return false;
  if (!rest_.empty() && rest_.front() == '"') {
    const size_t close = closing_quote(rest_, 0);
    if (close == std::string_view::npos) {  // not canonical: the rest is one name
      *segment = PathSegment{rest_.substr(1), true};
      rest_ = {};
      return true;
    }
    *segment = PathSegment{rest_.substr(1, close - 1), true};
    rest_.remove_prefix(close + 1);
  } else {
    const size_t dot = rest_.find('.');
    *segment = PathSegment{rest_.substr(0, dot), false};
    rest_.remove_prefix(dot == std::string_view::npos ? rest_.size() : dot);
  }
  if (rest_.empty()) {
    rest_ = {};  // no further segment (an empty but non-null view would be an empty segment)
  } else {
    rest_.remove_prefix(1);  // the separator
  }
  return true;
}

bool path_names_key(std::string_view path, std::string_view key) {
  if (!has_quoted_segment(path)) return path == key;
  PathSegments segments(path);
  PathSegment segment;
  size_t at = 0;
  bool first = true;
  while (segments.next(&segment)) {
    if (!first) {
      if (at >= key.size() || key[at] != '.') return false;
      ++at;
    }
    first = false;
    if (!match_segment(segment, key, &at)) return false;
  }
  return at == key.size();
}

std::string_view path_under(std::string_view path, std::string_view dotted_key) {
  if (!has_quoted_segment(path)) {
    if (path.size() > dotted_key.size() + 1 && path.starts_with(dotted_key) &&
        path[dotted_key.size()] == '.') {
      return path.substr(dotted_key.size() + 1);
    }
    return {};
  }
  PathSegments segments(path);
  PathSegment segment;
  size_t at = 0;
  bool first = true;
  while (segments.next(&segment)) {
    if (!first) {
      if (at >= dotted_key.size() || dotted_key[at] != '.') return {};
      ++at;
    }
    first = false;
    if (!match_segment(segment, dotted_key, &at)) return {};
    if (at == dotted_key.size()) {
      const std::string_view rest = segments.rest();
      return rest.empty() ? std::string_view() : rest;
    }
  }
  return {};
}

size_t last_path_separator(std::string_view path, size_t end) {
  if (!has_quoted_segment(path))
    return end == 0 ? std::string_view::npos : path.rfind('.', end - 1);
  size_t last = std::string_view::npos;
  for (size_t i = 0; i < end && i < path.size(); ++i) {
    if (path[i] == '"') {
      const size_t close = closing_quote(path, i);
      if (close == std::string_view::npos) break;
      i = close;
    } else if (path[i] == '.') {
      last = i;
    }
  }
  return last;
}

std::string flat_key_of_path(std::string_view path) {
  if (!has_quoted_segment(path)) return std::string(path);
  std::string key;
  PathSegments segments(path);
  PathSegment segment;
  bool first = true;
  while (segments.next(&segment)) {
    if (!first) key.push_back('.');
    first = false;
    for (size_t i = 0; i < segment.raw.size(); ++i) {
      char c = segment.raw[i];
      if (segment.quoted && c == '\\' && i + 1 < segment.raw.size()) c = segment.raw[++i];
      key.push_back(c);
    }
  }
  return key;
}

}  // namespace sluice
