#include "core/template.hpp"

#include <algorithm>
#include <cstring>

#include "base/civil_time.hpp"
#include "base/field_path.hpp"
#include "core/safe_names.hpp"

namespace sluice {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

// The `}}` that closes a placeholder whose path starts at text[from]: the first one outside a
// quoted segment (which may hold `}}`), or npos.
size_t closing_braces(std::string_view text, size_t from) {
  bool quoted = false;
  for (size_t i = from; i + 1 < text.size(); ++i) {
    if (quoted && text[i] == '\\') {
      ++i;
    } else if (text[i] == '"') {
      quoted = !quoted;
    } else if (!quoted && text[i] == '}' && text[i + 1] == '}') {
      return i;
    }
  }
  // An unterminated quote: the first `}}`, so that the path's own error says what is wrong.
  return quoted ? text.find("}}", from) : std::string_view::npos;
}

void append_digits(ByteBuffer& out, int64_t value, int width) {
  char buf[24];
  int n = 0;
  bool negative = value < 0;
  uint64_t v = negative ? static_cast<uint64_t>(-value) : static_cast<uint64_t>(value);
  do {
    buf[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v > 0);
  while (n < width) buf[n++] = '0';
  if (negative) out.push_back('-');
  while (n > 0) out.push_back(buf[--n]);
}

void append_time(ByteBuffer& out, char conversion, int64_t ns) {
  CivilTime t = civil_from_ns(ns);
  switch (conversion) {
    case 'Y':
      append_digits(out, t.year, 4);
      break;
    case 'y':
      append_digits(out, t.year % 100, 2);
      break;
    case 'm':
      append_digits(out, t.month, 2);
      break;
    case 'd':
      append_digits(out, t.day, 2);
      break;
    case 'H':
      append_digits(out, t.hour, 2);
      break;
    case 'M':
      append_digits(out, t.minute, 2);
      break;
    case 'S':
      append_digits(out, t.second, 2);
      break;
    case 'j':
      append_digits(out,
                    days_from_civil(t.year, t.month, t.day) - days_from_civil(t.year, 1, 1) + 1, 3);
      break;
    case 'F':
      append_time(out, 'Y', ns);
      out.push_back('-');
      append_time(out, 'm', ns);
      out.push_back('-');
      append_time(out, 'd', ns);
      break;
    case 'T':
      append_time(out, 'H', ns);
      out.push_back(':');
      append_time(out, 'M', ns);
      out.push_back(':');
      append_time(out, 'S', ns);
      break;
    case 's': {
      int64_t s = ns / 1'000'000'000;
      if (ns % 1'000'000'000 < 0) --s;
      append_digits(out, s, 1);
      break;
    }
    default:
      break;
  }
}

// Control characters of a value become `_` (IndexName).
void append_without_controls(ByteBuffer& out, std::string_view value) {
  char* p = out.prepare(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    auto c = static_cast<unsigned char>(value[i]);
    p[i] = c < 0x20 || c == 0x7F ? '_' : static_cast<char>(c);
  }
  out.commit(value.size());
}

}  // namespace

std::optional<Template> Template::parse(std::string_view text, std::string* error) {
  Template t;
  t.text_ = std::string(text);
  std::string literal;
  auto flush_literal = [&] {
    std::string_view rest = literal;
    while (!rest.empty()) {
      size_t slash = rest.find('/');
      if (slash != 0) t.parts_.push_back({PartKind::Literal, std::string(rest.substr(0, slash))});
      if (slash == std::string_view::npos) break;
      t.parts_.push_back({PartKind::Separator, "/"});
      rest.remove_prefix(slash + 1);
    }
    literal.clear();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '{' && i + 1 < text.size() && text[i + 1] == '{') {
      size_t close = closing_braces(text, i + 2);
      if (close == std::string_view::npos) {
        *error = "unclosed `{{` in template `" + std::string(text) + "`";
        return std::nullopt;
      }
      std::string_view path = trim(text.substr(i + 2, close - i - 2));
      if (path.empty()) {
        *error = "empty `{{ }}` in template `" + std::string(text) + "`";
        return std::nullopt;
      }
      FieldPathScan scan = scan_field_path(path);
      if (!scan.error.empty()) {
        *error = "field name `" + std::string(path) + "` in template, at character " +
                 std::to_string(scan.error_at + 1) + ": " + scan.error;
        return std::nullopt;
      }
      if (scan.end != path.size()) {
        *error = "invalid field name `" + std::string(path) +
                 "` in template (letters, digits, `_`, `-`, `@` and `.`; a segment with other "
                 "characters in double quotes: `labels.\"app.kubernetes.io/name\"`)";
        return std::nullopt;
      }
      flush_literal();
      const bool plain_path = !has_quoted_segment(scan.canonical);
      t.parts_.push_back({PartKind::Field, std::move(scan.canonical), plain_path});
      t.is_static_ = false;
      i = close + 1;
    } else if (c == '%') {
      if (i + 1 >= text.size()) {
        *error = "template ends with a lone `%` (write `%%` for a percent sign)";
        return std::nullopt;
      }
      char conv = text[++i];
      if (conv == '%') {
        literal.push_back('%');
        continue;
      }
      if (std::strchr("YymdHMSjFTs", conv) == nullptr) {
        *error = std::string("unsupported time field `%") + conv + "` in template";
        return std::nullopt;
      }
      flush_literal();
      t.parts_.push_back({PartKind::Time, std::string(1, conv)});
      t.is_static_ = false;
    } else {
      literal.push_back(c);
    }
  }
  flush_literal();
  // The fixed prefix: literal parts before the first placeholder, up to the last separator.
  size_t fixed_end = 0;
  std::string prefix;
  for (const Part& part : t.parts_) {
    if (part.kind == PartKind::Field || part.kind == PartKind::Time) break;
    prefix += part.text;
    if (part.kind == PartKind::Separator) fixed_end = prefix.size();
  }
  t.fixed_prefix_ = t.is_static_ ? t.text_ : prefix.substr(0, fixed_end);
  return t;
}

bool Template::render(const FieldLookup& event, int64_t timestamp_ns, const RenderOptions& options,
                      ByteBuffer& out) const {
  if (options.mode == RenderMode::Path)
    return render_path(event, timestamp_ns, options.missing, out);
  const size_t start = out.size();
  bool complete = true;
  for (const Part& part : parts_) {
    switch (part.kind) {
      case PartKind::Literal:
      case PartKind::Separator:
        out.append(part.text);
        break;
      case PartKind::Time:
        append_time(out, part.text[0], timestamp_ns);
        break;
      case PartKind::Field: {
        std::optional<Value> value =
            part.plain_path ? event.get_plain(part.text) : event.get(part.text);
        if (!value) {
          complete = false;
          out.append(options.missing);
        } else if (options.mode == RenderMode::IndexName) {
          append_without_controls(out, value->text);
        } else {
          out.append(value->text);
        }
        break;
      }
    }
  }
  if (options.mode == RenderMode::KafkaTopic) {
    // A marker for a missing field that is not a legal topic name makes the sink use its
    // default topic: it must survive. Values cannot produce it (they are cleaned below).
    bool marker =
        !complete && std::any_of(options.missing.begin(), options.missing.end(), [](char c) {
          return !names::topic_char(static_cast<unsigned char>(c));
        });
    if (!marker) names::finish_topic_name(out, start);
  }
  return complete;
}

bool Template::render_path(const FieldLookup& event, int64_t timestamp_ns, std::string_view missing,
                           ByteBuffer& out) const {
  bool complete = true;
  size_t component = out.size();  // where the current path component starts
  size_t tail = out.size();       // where the template text after its last placeholder starts
  bool dynamic = false;           // the current component holds event data
  auto finish = [&] {
    if (dynamic) names::finish_path_component(out, component, out.size() - tail);
  };
  for (const Part& part : parts_) {
    switch (part.kind) {
      case PartKind::Literal:
        out.append(part.text);
        break;
      case PartKind::Separator:
        finish();
        out.push_back('/');
        component = tail = out.size();
        dynamic = false;
        break;
      case PartKind::Time:
        append_time(out, part.text[0], timestamp_ns);
        dynamic = true;
        tail = out.size();
        break;
      case PartKind::Field: {
        std::optional<Value> value =
            part.plain_path ? event.get_plain(part.text) : event.get(part.text);
        if (!value) complete = false;
        names::append_path_value(out, value ? value->text : missing);
        dynamic = true;
        tail = out.size();
        break;
      }
    }
  }
  finish();
  return complete;
}

}  // namespace sluice
