#pragma once
// UTF-8 validation of one sequence, shared by everything that writes text a strict reader will
// check: JSON strings, Prometheus labels, file, topic and index names. Inline: the JSON writer
// calls it per byte of non-ASCII text.
#include <cstddef>
#include <string_view>

namespace sluice {

// Length of the valid UTF-8 sequence starting at s[i] (1 for ASCII), or 0 when it is invalid
// (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF). `n` is the text's size.
inline size_t utf8_sequence_length(const unsigned char* s, size_t i, size_t n) {
  const unsigned char c = s[i];
  if (c < 0x80) return 1;
  auto cont = [&](size_t k) { return i + k < n && (s[i + k] & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && s[i + 1] < 0xA0) return 0;   // overlong
    if (c == 0xED && s[i + 1] >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && s[i + 1] < 0x90) return 0;   // overlong
    if (c == 0xF4 && s[i + 1] >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

inline size_t utf8_sequence_length(std::string_view text, size_t i) {
  return utf8_sequence_length(reinterpret_cast<const unsigned char*>(text.data()), i, text.size());
}

}  // namespace sluice
