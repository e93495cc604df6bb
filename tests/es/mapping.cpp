#include "mapping.hpp"

#include <cstdlib>
#include <utility>
#include <vector>

namespace es_emu {

namespace {

// The type dynamic mapping gives a JSON value (ES: integers → long, fractions → float,
// strings → text, true/false → boolean, objects → object); "" for null (maps nothing).
std::string_view dynamic_type(const simdjson::dom::element& v) {
  switch (v.type()) {
    case simdjson::dom::element_type::INT64:
    case simdjson::dom::element_type::UINT64:
      return "long";
    case simdjson::dom::element_type::DOUBLE:
      return "float";
    case simdjson::dom::element_type::STRING:
      return "text";
    case simdjson::dom::element_type::BOOL:
      return "boolean";
    case simdjson::dom::element_type::OBJECT:
      return "object";
    default:
      return "";
  }
}

// Whether a mapped field accepts the value; ES coerces numeric strings into numbers and any
// concrete value into text.
bool accepts(std::string_view mapped, const simdjson::dom::element& v) {
  std::string_view type = dynamic_type(v);
  if (type.empty() || type == mapped) return true;
  if (mapped == "object" || type == "object") return false;
  if (mapped == "text") return true;
  if (mapped == "long" || mapped == "float") {
    if (type == "long" || type == "float") return true;
    if (type != "text") return false;
    std::string text(v.get_string().value_unsafe());
    char* end = nullptr;
    std::strtod(text.c_str(), &end);
    return !text.empty() && *end == '\0';
  }
  // boolean
  std::string_view text;
  return type == "text" && v.get_string().get(text) == simdjson::SUCCESS &&
         (text == "true" || text == "false" || text.empty());
}

}  // namespace

std::string map_document(Mapping& mapping, const simdjson::dom::object& doc, std::string_view id) {
  std::vector<std::pair<std::string_view, std::string_view>> added;
  for (auto field : doc) {
    std::vector<simdjson::dom::element> values;
    simdjson::dom::array array;
    if (field.value.get_array().get(array) == simdjson::SUCCESS) {
      for (auto v : array) values.push_back(v);
    } else {
      values.push_back(field.value);
    }
    for (const auto& v : values) {
      auto it = mapping.find(std::string(field.key));
      std::string_view mapped = it != mapping.end() ? std::string_view(it->second) : "";
      for (const auto& [k, t] : added) {
        if (k == field.key) mapped = t;
      }
      if (mapped.empty()) {
        if (!dynamic_type(v).empty()) added.emplace_back(field.key, dynamic_type(v));
        continue;
      }
      if (accepts(mapped, v)) continue;
      std::string key(field.key);
      if (mapped == "object") {
        std::string reason = "object mapping for [" + key;
        reason += "] tried to parse field [" + key;
        reason += "] as object, but found a concrete value";
        return reason;
      }
      std::string preview = simdjson::minify(v);
      if (preview.size() > 2 && preview.front() == '"')
        preview = preview.substr(1, preview.size() - 2);
      std::string reason = "[1:1] failed to parse field [" + key;
      reason += "] of type [";
      reason += mapped;
      reason += "] in document with id '";
      reason += id;
      reason += "'. Preview of field's value: '" + preview + "'";
      return reason;
    }
  }
  for (const auto& [k, t] : added) mapping.try_emplace(std::string(k), t);
  return {};
}

}  // namespace es_emu
