#pragma once
// Option reading for multiline joining (parse/multiline.hpp): the parser layer knows nothing of
// the YAML config, so the `multiline:` mapping of a source is read here.
#include <memory>

#include "parse/multiline.hpp"

namespace sluice {

class MapReader;

// Reads the optional `multiline:` mapping of a source (mode: java|python|go|custom,
// start_pattern, continue_pattern, flush_after, max_lines, max_bytes); `multiline: java` is short
// for `multiline: {mode: java}`. Returns null when absent; config errors name file:line:col.
std::shared_ptr<const MultilineOptions> read_multiline_options(MapReader& source_config);

}  // namespace sluice
