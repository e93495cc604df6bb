#include "parse/json_parser.hpp"

#include <cstring>

#include <simdjson.h>

#include "base/field_path.hpp"
#include "base/json_writer.hpp"
#include "parse/duplicate_keys.hpp"
#include "sluice/byte_buffer.hpp"

namespace sluice {

namespace od = simdjson::ondemand;

namespace {

constexpr int kMaxDepth = 64;

// The text between the quotes of a raw JSON string starting at `raw` (just after the opening
// quote), when it contains no escape; otherwise an empty optional-like {nullptr,0}.
std::string_view unescaped_span(const char* raw, const char* end) {
  const char* quote =
      static_cast<const char*>(std::memchr(raw, '"', static_cast<size_t>(end - raw)));
  if (!quote) return {};
  if (std::memchr(raw, '\\', static_cast<size_t>(quote - raw))) return {};
  return {raw, static_cast<size_t>(quote - raw)};
}

std::string_view trim_right(std::string_view s) {
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// RFC 8259: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?  Only asked about numbers simdjson
// could not convert, so kept out of line (cold).
[[gnu::cold, gnu::noinline]] bool is_json_number(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  auto digits = [&] {
    const size_t start = i;
    while (i < n && s[i] >= '0' && s[i] <= '9') ++i;
    return i - start;
  };
  if (i < n && s[i] == '-') ++i;
  if (i < n && s[i] == '0') {
    ++i;
  } else if (digits() == 0) {
    return false;
  }
  if (i < n && s[i] == '.') {
    ++i;
    if (digits() == 0) return false;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
    if (digits() == 0) return false;
  }
  return i == n;
}

// Whether `value`, a number whose text is `token`, is valid. A number simdjson cannot represent
// (`1e999999`, `-1e400`, an integer of 400 digits) is still a valid JSON number: it is kept as
// that same token rather than failing the whole line, being turned into a string, or being
// rounded to infinity or 0. Copied verbatim, the output stays valid JSON and loses nothing;
// what the destination makes of it is its mapping's business (Elasticsearch stores it in a
// keyword or text field, and refuses it for a numeric one, which sends that document to the
// dead-letter file with the reason).
inline bool valid_number(od::value& value, std::string_view token) {
  double ignored;
  return !value.get_double().get(ignored) || is_json_number(token);
}

bool serialize(od::value value, ByteBuffer& out, int depth);

// Where a member of the object being written lies in the output buffer (offsets, as the buffer
// may grow): its key with quotes, then up to the end of its value.
struct MemberSpan {
  size_t key_begin;
  size_t key_end;
  size_t end;
  bool dropped;
};
thread_local std::vector<MemberSpan> tls_members;

// Drops the members of the object written from `object_begin` (its '{') whose key a later
// member repeats, moving the rest down in place. Keys are compared as written (between their
// quotes): the writer escapes unescaped keys one canonical way, so equal keys are equal bytes.
void drop_duplicate_members(ByteBuffer& out, size_t object_begin, std::span<MemberSpan> members) {
  const char* data = out.data();
  const size_t dropped = drop_earlier_duplicates(
      members.size(),
      [&](size_t i) {
        return std::string_view(data + members[i].key_begin + 1,
                                members[i].key_end - members[i].key_begin - 2);
      },
      [&](size_t i) { members[i].dropped = true; });
  if (dropped == 0) return;
  char* p = out.data();
  size_t at = object_begin + 1;
  for (const MemberSpan& m : members) {
    if (m.dropped) continue;
    if (at != object_begin + 1) p[at++] = ',';
    std::memmove(p + at, p + m.key_begin, m.end - m.key_begin);
    at += m.end - m.key_begin;
  }
  p[at++] = '}';
  out.resize(at);
}

bool serialize_string(std::string_view s, ByteBuffer& out) {
  append_json_string(out, s, true);
  return true;
}

bool serialize_object(od::object object, ByteBuffer& out, int depth) {
  std::vector<MemberSpan>& members = tls_members;
  const size_t object_begin = out.size();
  const size_t first_member = members.size();
  // Members of nested objects are pushed above ours and popped when those objects end.
  auto done = [&](bool ok) {
    members.resize(first_member);
    return ok;
  };
  out.push_back('{');
  bool first = true;
  for (auto field : object) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return done(false);
    if (!first) out.push_back(',');
    first = false;
    MemberSpan member{out.size(), 0, 0, false};
    serialize_string(key, out);
    member.key_end = out.size();
    out.push_back(':');
    od::value v;
    if (field.value().get(v)) return done(false);
    if (!serialize(v, out, depth + 1)) return done(false);
    member.end = out.size();
    members.push_back(member);
  }
  out.push_back('}');
  if (members.size() - first_member > 1) {
    drop_duplicate_members(out, object_begin, std::span(members).subspan(first_member));
  }
  return done(true);
}

bool serialize_array(od::array array, ByteBuffer& out, int depth) {
  out.push_back('[');
  bool first = true;
  for (auto element : array) {
    od::value v;
    if (element.get(v)) return false;
    if (!first) out.push_back(',');
    first = false;
    if (!serialize(v, out, depth + 1)) return false;
  }
  out.push_back(']');
  return true;
}

bool serialize(od::value value, ByteBuffer& out, int depth) {
  if (depth > kMaxDepth) return false;
  od::json_type type;
  if (value.type().get(type)) return false;
  switch (type) {
    case od::json_type::object: {
      od::object o;
      if (value.get_object().get(o)) return false;
      return serialize_object(o, out, depth);
    }
    case od::json_type::array: {
      od::array a;
      if (value.get_array().get(a)) return false;
      return serialize_array(a, out, depth);
    }
    case od::json_type::string: {
      std::string_view s;
      if (value.get_string().get(s)) return false;
      return serialize_string(s, out);
    }
    case od::json_type::number: {
      const std::string_view token = trim_right(value.raw_json_token());
      if (!valid_number(value, token)) return false;
      out.append(token);
      return true;
    }
    case od::json_type::boolean: {
      bool b;
      if (value.get_bool().get(b)) return false;
      out.append(b ? "true" : "false");
      return true;
    }
    case od::json_type::null: {
      bool is_null = false;
      if (value.is_null().get(is_null) || !is_null) return false;
      out.append("null");
      return true;
    }
  }
  return false;
}

thread_local od::parser tls_parser;
thread_local ByteBuffer tls_nested;

}  // namespace

bool parse_json_object(std::string_view line, size_t capacity, Arena& arena,
                       std::vector<Field>& fields) {
  const size_t first = fields.size();
  auto fail = [&] {
    fields.resize(first);
    return false;
  };
  if (capacity < line.size() + simdjson::SIMDJSON_PADDING) return false;
  const char* end = line.data() + line.size();

  od::document doc;
  if (tls_parser.iterate(line.data(), line.size(), capacity).get(doc)) return false;
  od::object object;
  if (doc.get_object().get(object)) return false;

  for (auto member : object) {
    Field field;
    od::raw_json_string raw_key;
    if (member.key().get(raw_key)) return fail();
    field.key = unescaped_span(raw_key.raw(), end);
    if (field.key.data() == nullptr) {
      std::string_view key;
      if (member.unescaped_key().get(key)) return fail();
      field.key = arena.copy(key);
      // An empty key must not look like a removed field (null data).
      if (field.key.data() == nullptr) field.key = std::string_view("");
    }
    od::value value;
    if (member.value().get(value)) return fail();
    od::json_type type;
    if (value.type().get(type)) return fail();
    field.value.utf8_valid = true;
    switch (type) {
      case od::json_type::string: {
        field.value.kind = ValueKind::String;
        od::raw_json_string raw;
        if (value.get_raw_json_string().get(raw)) return fail();
        std::string_view direct = unescaped_span(raw.raw(), end);
        if (direct.data() != nullptr) {
          field.value.text = direct;
        } else {
          std::string_view s;
          if (value.get_string().get(s)) return fail();
          field.value.text = arena.copy(s);
        }
        break;
      }
      case od::json_type::number: {
        field.value.kind = ValueKind::Number;
        field.value.text = trim_right(value.raw_json_token());
        double ignored;
        // See valid_number(): beyond double range, the token is kept as written.
        if (value.get_double().get(ignored) && !is_json_number(field.value.text)) return fail();
        break;
      }
      case od::json_type::boolean: {
        bool b;
        if (value.get_bool().get(b)) return fail();
        field.value.kind = ValueKind::Bool;
        field.value.text = b ? "true" : "false";
        break;
      }
      case od::json_type::null: {
        bool is_null = false;
        if (value.is_null().get(is_null) || !is_null) return fail();
        field.value.kind = ValueKind::Null;
        field.value.text = "null";
        break;
      }
      case od::json_type::object:
      case od::json_type::array: {
        tls_nested.clear();
        if (!serialize(value, tls_nested, 1)) return fail();
        field.value.kind = ValueKind::Json;
        field.value.text = arena.copy(tls_nested.view());
        break;
      }
    }
    fields.push_back(field);
  }
  // Anything after the object (`{"a":1} trailing`) makes the line not a JSON object.
  const char* trailing = nullptr;
  if (doc.current_location().get(trailing) == simdjson::SUCCESS) return fail();
  drop_duplicate_fields(std::span(fields).subspan(first));
  return true;
}

bool find_json_path(std::string_view json, std::string_view path, Arena& arena, Value* out) {
  // The JSON text sits in an arena without simdjson's padding: copy it into a padded,
  // per-thread buffer (reused, so a filter on a nested field allocates nothing per event).
  thread_local ByteBuffer padded;
  thread_local od::parser parser;
  padded.clear();
  padded.reserve(json.size() + simdjson::SIMDJSON_PADDING);
  padded.append(json);
  od::document doc;
  if (parser.iterate(padded.data(), json.size(), padded.capacity()).get(doc)) return false;
  od::value current;
  if (doc.get_value().get(current)) return false;
  // Inlined into both loops: a call per segment showed in the instructions of a filter on a
  // nested field.
  auto step = [&current](std::string_view key) __attribute__((always_inline)) {
    od::object object;
    if (current.get_object().get(object)) return false;
    od::value next;
    if (object.find_field_unordered(key).get(next)) return false;
    current = next;
    return true;
  };
  if (!has_quoted_segment(path)) {
    // Plain segments split at every dot, without the quote-aware scanner (conditions and
    // templates on nested fields look up such paths for every event).
    while (true) {
      const size_t dot = path.find('.');
      if (!step(path.substr(0, dot))) return false;
      if (dot == std::string_view::npos) break;
      path.remove_prefix(dot + 1);
    }
  } else {
    // A quoted segment is compared as written between its quotes: its only escapes, \" and \\,
    // are JSON's, and simdjson compares keys as they are written in the JSON text.
    PathSegments segments(path);
    PathSegment segment;
    while (segments.next(&segment)) {
      if (!step(segment.raw)) return false;
    }
  }
  od::json_type type;
  if (current.type().get(type)) return false;
  switch (type) {
    case od::json_type::string: {
      std::string_view s;
      if (current.get_string().get(s)) return false;
      *out = Value{ValueKind::String, true, arena.copy(s)};
      return true;
    }
    case od::json_type::number:
      *out = Value{ValueKind::Number, true, arena.copy(trim_right(current.raw_json_token()))};
      return true;
    case od::json_type::boolean: {
      bool b;
      if (current.get_bool().get(b)) return false;
      *out = Value{ValueKind::Bool, true, b ? "true" : "false"};
      return true;
    }
    case od::json_type::null:
      *out = Value{ValueKind::Null, true, "null"};
      return true;
    default: {
      tls_nested.clear();
      if (!serialize(current, tls_nested, 1)) return false;
      *out = Value{ValueKind::Json, true, arena.copy(tls_nested.view())};
      return true;
    }
  }
}

}  // namespace sluice
