#include "parse/json_parser.hpp"

#include <cstring>

#include <simdjson.h>

#include "core/json_writer.hpp"
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

bool serialize(od::value value, ByteBuffer& out, int depth);

bool serialize_string(std::string_view s, ByteBuffer& out) {
  append_json_string(out, s, true);
  return true;
}

bool serialize_object(od::object object, ByteBuffer& out, int depth) {
  out.push_back('{');
  bool first = true;
  for (auto field : object) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return false;
    if (!first) out.push_back(',');
    first = false;
    serialize_string(key, out);
    out.push_back(':');
    od::value v;
    if (field.value().get(v)) return false;
    if (!serialize(v, out, depth + 1)) return false;
  }
  out.push_back('}');
  return true;
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
      std::string_view token = trim_right(value.raw_json_token());
      double ignored;
      if (value.get_double().get(ignored)) {
        // Integers beyond double range are still valid JSON numbers.
        od::number n;
        if (value.get_number().get(n)) return false;
      }
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
        if (value.get_double().get(ignored)) {
          od::number n;
          if (value.get_number().get(n)) return fail();
        }
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
  while (true) {
    size_t dot = path.find('.');
    std::string_view key = path.substr(0, dot);
    od::object object;
    if (current.get_object().get(object)) return false;
    od::value next;
    if (object.find_field_unordered(key).get(next)) return false;
    current = next;
    if (dot == std::string_view::npos) break;
    path.remove_prefix(dot + 1);
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
