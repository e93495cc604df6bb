#include "base/json_writer.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>

#include <simdjson.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

inline uint64_t load_word(const char* s) {
  uint64_t w;
  std::memcpy(&w, s, 8);
  return w;
}

inline uint32_t load_half(const char* s) {
  uint32_t w;
  std::memcpy(&w, s, 4);
  return w;
}

// True when a byte of `w` is below 0x20, '"', '\\' or not ASCII: the word cannot be copied as
// it is. Exact as a yes/no answer: a byte with its high bit set answers yes by itself, and when
// there is none the per-byte subtractions borrow first at the lowest byte that matches.
inline bool word_needs_more_than_copy(uint64_t w) {
  constexpr uint64_t kOnes = 0x0101010101010101ull;
  constexpr uint64_t kHighs = 0x8080808080808080ull;
  const uint64_t below_space = w - kOnes * 0x20;
  const uint64_t quote = (w ^ (kOnes * '"')) - kOnes;
  const uint64_t backslash = (w ^ (kOnes * '\\')) - kOnes;
  return ((below_space | quote | backslash | w) & kHighs) != 0;
}

// Whether the n < 16 bytes at `s` are all plain ASCII (no byte needs more than a copy): read
// as two overlapping words, or two overlapping halves or three single bytes gathered into one
// word (padded with 'A'). Never OR two words: that makes bytes of its own.
inline bool short_is_plain_ascii(const char* s, size_t n) {
  if (n >= 8) {
    return !word_needs_more_than_copy(load_word(s)) &&
           !word_needs_more_than_copy(load_word(s + n - 8));
  }
  if (n >= 4) {
    return !word_needs_more_than_copy(load_half(s) |
                                      (static_cast<uint64_t>(load_half(s + n - 4)) << 32));
  }
  if (n == 0) return true;
  const uint64_t bytes = static_cast<unsigned char>(s[0]) |
                         (static_cast<uint64_t>(static_cast<unsigned char>(s[n / 2])) << 8) |
                         (static_cast<uint64_t>(static_cast<unsigned char>(s[n - 1])) << 16);
  return !word_needs_more_than_copy(bytes | 0x4141414141000000ull);
}

// Copies the n < 16 bytes with overlapping moves rather than a call.
inline void copy_short(char* p, const char* s, size_t n) {
  if (n >= 8) {
    const uint64_t head = load_word(s), tail = load_word(s + n - 8);
    std::memcpy(p, &head, 8);
    std::memcpy(p + n - 8, &tail, 8);
  } else if (n >= 4) {
    const uint32_t head = load_half(s), tail = load_half(s + n - 4);
    std::memcpy(p, &head, 4);
    std::memcpy(p + n - 4, &tail, 4);
  } else if (n > 0) {
    const char first = s[0], middle = s[n / 2], last = s[n - 1];
    p[0] = first;
    p[n / 2] = middle;
    p[n - 1] = last;
  }
}

#if defined(__SSE2__)
// Whether a byte of the 16 is below 0x20, '"', '\\' or not ASCII (the signed comparison puts
// bytes from 0x80 up below 0x20 too).
inline bool block_needs_more_than_copy(__m128i v) {
  const __m128i below_space = _mm_cmplt_epi8(v, _mm_set1_epi8(0x20));
  const __m128i quote = _mm_cmpeq_epi8(v, _mm_set1_epi8('"'));
  const __m128i backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'));
  return _mm_movemask_epi8(_mm_or_si128(below_space, _mm_or_si128(quote, backslash))) != 0;
}
#endif

// Copies the longest prefix of s[0, n) that is whole blocks of plain ASCII to `p` (room for n
// bytes), checking and copying in the same pass; n when all of it is plain (the last block may
// overlap the one before). Most keys and values are: they need nothing else.
inline size_t copy_plain_ascii_prefix(char* p, const char* s, size_t n) {
#if defined(__SSE2__)
  constexpr size_t kBlock = 16;
  size_t i = 0;
  for (; i + kBlock <= n; i += kBlock) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i));
    if (block_needs_more_than_copy(v)) return i;
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p + i), v);
  }
  if (i == n) return n;
  if (n >= kBlock) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + n - kBlock));
    if (block_needs_more_than_copy(v)) return i;
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p + n - kBlock), v);
    return n;
  }
#else
  constexpr size_t kBlock = 8;
  size_t i = 0;
  for (; i + kBlock <= n; i += kBlock) {
    const uint64_t w = load_word(s + i);
    if (word_needs_more_than_copy(w)) return i;
    std::memcpy(p + i, &w, kBlock);
  }
  if (i == n) return n;
  if (n >= kBlock) {
    const uint64_t w = load_word(s + n - kBlock);
    if (word_needs_more_than_copy(w)) return i;
    std::memcpy(p + n - kBlock, &w, kBlock);
    return n;
  }
#endif
  if (!short_is_plain_ascii(s, n)) return 0;
  copy_short(p, s, n);
  return n;
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

namespace {

// What follows the plain ASCII prefix (escapes, non-ASCII), kept out of line so that the common
// case, a plain string, is a short function. The prefix is ASCII, so the rest is valid UTF-8
// exactly when the whole string is.
[[gnu::noinline]] char* write_rest(char* p, std::string_view rest, bool utf8_valid) {
  if (utf8_valid || is_valid_utf8(rest)) return write_escaped_valid(p, rest.data(), rest.size());
  return write_escaped_repairing(p, rest.data(), rest.size());
}

}  // namespace

void append_json_string(ByteBuffer& out, std::string_view text, bool utf8_valid) {
  const size_t n = text.size();
  char* start = out.prepare(n * 6 + 2);
  char* p = start;
  *p++ = '"';
  const size_t plain = copy_plain_ascii_prefix(p, text.data(), n);
  p += plain;
  if (plain < n) p = write_rest(p, text.substr(plain), utf8_valid);
  *p++ = '"';
  out.commit(static_cast<size_t>(p - start));
}

}  // namespace sluice
