#pragma once
// JSON object lines → fields, with simdjson On Demand. Top-level members become fields; strings
// without escapes point straight into the line (no copy); nested objects and arrays are
// re-serialised compactly into the arena, which also validates them completely. A key given
// twice, at the top or inside a nested object, keeps its last value only (duplicate_keys.hpp);
// a number beyond double range is kept as written.
#include <string_view>
#include <vector>

#include "sluice/arena.hpp"
#include "sluice/event.hpp"

namespace sluice {

// `line` must be followed by at least 64 readable bytes (simdjson's padding): `capacity` is the
// number of readable bytes from line.data(). Returns false unless the line is exactly one valid
// JSON object (surrounding whitespace allowed); then `fields` is left as it was.
bool parse_json_object(std::string_view line, size_t capacity, Arena& arena,
                       std::vector<Field>& fields);

// Finds `path` (dot-separated, quoted segments allowed: base/field_path.hpp) inside a compact
// JSON object text produced by this parser. Used by conditions and templates for nested fields
// such as `kubernetes.pod.name` and `x."a.b"`.
bool find_json_path(std::string_view json, std::string_view path, Arena& arena, Value* out);

}  // namespace sluice
