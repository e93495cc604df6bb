#pragma once
// Dynamic mapping for sluice_es_emulator: the first value of a field fixes its type, as
// Elasticsearch's dynamic mapping does, and a later value that cannot be read as that type fails
// its document with a 400 — the usual cause of rejected documents in real clusters (a field that
// is a number in one event and a word in another). Only top-level fields are mapped: enough for
// the tests, and simple.
#include <string>
#include <string_view>
#include <unordered_map>

#include <simdjson.h>

namespace es_emu {

// An index's mapping: field name → long | float | text | boolean | object.
using Mapping = std::unordered_map<std::string, std::string>;

// The reason (Elasticsearch's wording) `doc` cannot be indexed with `mapping`, or empty: then
// the document's new fields have been added to `mapping`.
std::string map_document(Mapping& mapping, const simdjson::dom::object& doc, std::string_view id);

}  // namespace es_emu
