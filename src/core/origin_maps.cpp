// add_origin_map: a map's encodings, worked out once per origin.
#include "core/origin_maps.hpp"

#include <algorithm>

#include "base/json_writer.hpp"
#include "core/text_encoder.hpp"
#include "sluice/byte_buffer.hpp"

namespace sluice {

namespace {

using Entries = std::vector<std::pair<std::string, std::string>>;

std::string dedotted(std::string_view key) {
  std::string out(key);
  std::replace(out.begin(), out.end(), '.', '_');
  return out;
}

// `{"k":"v",...}`. A key whose written form is one already written is left out (the first
// wins), so that the object never holds a key twice: with `dedot`, `a.b` and `a_b`; keys of
// invalid UTF-8 that differ only in bytes each written as U+FFFD.
std::string json_object(const Entries& entries, bool dedot) {
  ByteBuffer out;
  out.push_back('{');
  std::vector<std::string> written;
  ByteBuffer key_text;
  for (const auto& [key, value] : entries) {
    key_text.clear();
    append_json_string(key_text, dedot ? dedotted(key) : key, false);
    std::string name(key_text.view());
    if (std::find(written.begin(), written.end(), name) != written.end()) continue;
    if (!written.empty()) out.push_back(',');
    out.append(name);
    written.push_back(std::move(name));
    out.push_back(':');
    append_json_string(out, value, false);
  }
  out.push_back('}');
  return std::string(out.view());
}

std::string text_members(std::string_view map_key, const Entries& entries, bool color) {
  ByteBuffer out;
  std::string key;
  for (const auto& [entry_key, value] : entries) {
    key.assign(map_key);
    key.push_back('.');
    key.append(entry_key);
    append_text_member(out, key, Value{ValueKind::String, false, value}, color);
  }
  return std::string(out.view());
}

}  // namespace

void add_origin_map(Origin& origin, std::string key, Entries entries) {
  // Sorted by key, the last of equal keys kept: one output for one set of labels, whatever
  // order the API listed them in.
  std::stable_sort(entries.begin(), entries.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  Entries unique;
  unique.reserve(entries.size());
  for (auto& entry : entries) {
    if (!unique.empty() && unique.back().first == entry.first) {
      unique.back().second = std::move(entry.second);
    } else {
      unique.push_back(std::move(entry));
    }
  }
  if (unique.empty()) return;
  OriginMap map;
  map.json = json_object(unique, false);
  map.json_dedot = json_object(unique, true);
  map.text = text_members(key, unique, false);
  map.text_color = text_members(key, unique, true);
  map.key = std::move(key);
  map.entries = std::move(unique);
  for (OriginMap& existing : origin.maps) {
    if (existing.key == map.key) {
      existing = std::move(map);  // the map given again: it replaces the first
      return;
    }
  }
  if (origin.maps.size() < Origin::kMaxOriginMaps) origin.maps.push_back(std::move(map));
}

}  // namespace sluice
