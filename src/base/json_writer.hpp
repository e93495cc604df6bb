#pragma once
// Appending JSON text to a buffer: strings escaped per RFC 8259, invalid UTF-8 replaced by
// U+FFFD, control characters and NUL written as \u00XX. Used by every JSON encoder.
#include <string_view>

#include "sluice/arena.hpp"
#include "sluice/byte_buffer.hpp"

namespace sluice {

// Appends `"..."`. `utf8_valid` skips validation when the caller already knows.
void append_json_string(ByteBuffer& out, std::string_view text, bool utf8_valid = false);

// True when `text` is valid UTF-8 (SIMD-accelerated).
bool is_valid_utf8(std::string_view text);

// `text` (known not to be valid UTF-8) with every byte that starts no valid sequence replaced
// by U+FFFD, exactly as append_json_string writes it; the result lives in `arena`. Keys that
// differ only in such bytes would otherwise be written as one key twice.
std::string_view repair_utf8(std::string_view text, Arena& arena);

}  // namespace sluice
