#include "base/json_writer.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>

#include <simdjson.h>

#include "base/utf8.hpp"

namespace sluice {

namespace {

constexpr std::array<uint8_t, 256> make_escape_table() {
  std::array<uint8_t, 256> table{};
  for (int c = 0; c < 0x20; ++c) table[c] = 1;
  table['"'] = 1;
  table['\\'] = 1;
  return table;
}
constexpr auto kNeedsEscape = make_escape_table();
constexpr char kHex[] = "0123456789abcdef";

char* write_escape(char* p, unsigned char c) {
  *p++ = '\\';
  switch (c) {
    case '"':
      *p++ = '"';
      break;
    case '\\':
      *p++ = '\\';
      break;
    case '\n':
      *p++ = 'n';
      break;
    case '\r':
      *p++ = 'r';
      break;
    case '\t':
      *p++ = 't';
      break;
    case '\b':
      *p++ = 'b';
      break;
    case '\f':
      *p++ = 'f';
      break;
    default:
      *p++ = 'u';
      *p++ = '0';
      *p++ = '0';
      *p++ = kHex[c >> 4];
      *p++ = kHex[c & 0xF];
  }
  return p;
}

// True when one of the 8 bytes of `w` is below 0x20, '"' or '\\' (exact as a yes/no answer:
// the classic has-zero-byte / has-less-than tricks, which work per byte without carries
// leaking into the result).
inline bool word_needs_escape(uint64_t w) {
  constexpr uint64_t kOnes = 0x0101010101010101ull;
  constexpr uint64_t kHighs = 0x8080808080808080ull;
  uint64_t below_space = (w - kOnes * 0x20) & ~w & kHighs;
  uint64_t q = w ^ (kOnes * '"');
  uint64_t quote = (q - kOnes) & ~q & kHighs;
  uint64_t b = w ^ (kOnes * '\\');
  uint64_t backslash = (b - kOnes) & ~b & kHighs;
  return (below_space | quote | backslash) != 0;
}

// Copies valid UTF-8, escaping what JSON requires. `p` has room for 6 bytes per input byte.
char* write_escaped_valid(char* p, const char* s, size_t n) {
  size_t i = 0;
  while (i < n) {
    size_t run = i;
    // Most log text needs no escaping at all: skip clean 8-byte words, then find the byte.
    while (run + 8 <= n) {
      uint64_t word;
      std::memcpy(&word, s + run, 8);
      if (word_needs_escape(word)) break;
      run += 8;
    }
    while (run < n && !kNeedsEscape[static_cast<unsigned char>(s[run])]) ++run;
    std::memcpy(p, s + i, run - i);
    p += run - i;
    if (run < n) p = write_escape(p, static_cast<unsigned char>(s[run++]));
    i = run;
  }
  return p;
}

char* write_escaped_repairing(char* p, const char* text, size_t n) {
  const auto* s = reinterpret_cast<const unsigned char*>(text);
  size_t i = 0;
  while (i < n) {
    size_t len = utf8_sequence_length(s, i, n);
    if (len == 0) {
      constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
      std::copy_n(kReplacement.data(), kReplacement.size(), p);
      p += 3;
      ++i;
    } else if (len == 1) {
      if (kNeedsEscape[s[i]]) {
        p = write_escape(p, s[i]);
      } else {
        *p++ = static_cast<char>(s[i]);
      }
      ++i;
    } else {
      std::memcpy(p, text + i, len);
      p += len;
      i += len;
    }
  }
  return p;
}

}  // namespace

bool is_valid_utf8(std::string_view text) {
  // Keys and most short values are ASCII: a word-at-a-time check is cheaper there than the
  // SIMD validator's dispatch.
  if (text.size() <= 64) {
    const char* p = text.data();
    size_t n = text.size();
    uint64_t high = 0;
    for (; n >= 8; p += 8, n -= 8) {
      uint64_t word;
      std::memcpy(&word, p, 8);
      high |= word;
    }
    for (; n > 0; ++p, --n) high |= static_cast<unsigned char>(*p);
    if ((high & 0x8080808080808080ull) == 0) return true;
  }
  return simdjson::validate_utf8(text.data(), text.size());
}

std::string_view repair_utf8(std::string_view text, Arena& arena) {
  constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
  char* out = arena.allocate(text.size() * kReplacement.size());
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  size_t len = 0;
  for (size_t i = 0; i < text.size();) {
    const size_t n = utf8_sequence_length(s, i, text.size());
    if (n == 0) {
      std::copy_n(kReplacement.data(), kReplacement.size(), out + len);
      len += kReplacement.size();
      ++i;
    } else {
      std::memcpy(out + len, text.data() + i, n);
      len += n;
      i += n;
    }
  }
  return {out, len};
}

void append_json_string(ByteBuffer& out, std::string_view text, bool utf8_valid) {
  char* start = out.prepare(text.size() * 6 + 2);
  char* p = start;
  *p++ = '"';
  if (utf8_valid || is_valid_utf8(text)) {
    p = write_escaped_valid(p, text.data(), text.size());
  } else {
    p = write_escaped_repairing(p, text.data(), text.size());
  }
  *p++ = '"';
  out.commit(static_cast<size_t>(p - start));
}

}  // namespace sluice
