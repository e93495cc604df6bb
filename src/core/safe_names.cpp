#include "core/safe_names.hpp"

#include <cstring>

#include "base/utf8.hpp"

namespace sluice::names {

namespace {

constexpr size_t kMaxKeptTail = 32;
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

void replace_region(ByteBuffer& out, size_t start, char c) {
  out.resize(start);
  out.push_back(c);
}

// Shortens out[start, end) to its first kShortenedKeepBytes - tail bytes, `separator`, the hash
// of the whole region and its last `tail` bytes.
void shorten(ByteBuffer& out, size_t start, char separator, size_t tail) {
  std::string_view region(out.data() + start, out.size() - start);
  uint32_t hash = name_hash(region);
  size_t keep = utf8_cut(region, kShortenedKeepBytes - tail);
  char* base = out.data() + start;
  // The region is longer than what it becomes, so the tail moves towards the front.
  std::memmove(base + keep + 1 + kHashDigits, base + region.size() - tail, tail);
  static constexpr char kHex[] = "0123456789abcdef";
  base[keep] = separator;
  for (size_t k = 0; k < kHashDigits; ++k) {
    base[keep + 1 + k] = kHex[(hash >> (28 - 4 * k)) & 15];
  }
  out.resize(start + keep + 1 + kHashDigits + tail);
}

}  // namespace

void append_utf8(ByteBuffer& out, uint32_t cp) {
  char* p = out.prepare(4);
  size_t n = 0;
  if (cp < 0x80) {
    p[n++] = static_cast<char>(cp);
  } else if (cp < 0x800) {
    p[n++] = static_cast<char>(0xC0 | (cp >> 6));
    p[n++] = static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    p[n++] = static_cast<char>(0xE0 | (cp >> 12));
    p[n++] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    p[n++] = static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    p[n++] = static_cast<char>(0xF0 | (cp >> 18));
    p[n++] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    p[n++] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    p[n++] = static_cast<char>(0x80 | (cp & 0x3F));
  }
  out.commit(n);
}

void shorten_name(ByteBuffer& out, size_t start, size_t limit, char separator) {
  if (out.size() - start > limit) shorten(out, start, separator, 0);
}

uint32_t name_hash(std::string_view text) {
  uint32_t h = 2166136261u;
  for (char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 16777619u;
  }
  return h;
}

size_t utf8_cut(std::string_view text, size_t max) {
  if (max >= text.size()) return text.size();
  size_t n = max;
  // text[n] is the first byte left out: a continuation byte there means a character is split.
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  return n;
}

void append_path_value(ByteBuffer& out, std::string_view value) {
  if (value.empty()) {
    out.push_back('_');
    return;
  }
  const auto* s = reinterpret_cast<const unsigned char*>(value.data());
  const size_t n = value.size();
  char* p = out.prepare(n * kReplacement.size());  // worst case: every byte replaced
  size_t w = 0;
  for (size_t i = 0; i < n;) {
    size_t len = utf8_sequence_length(s, i, n);
    if (len == 0) {
      std::memcpy(p + w, kReplacement.data(), kReplacement.size());
      w += kReplacement.size();
      ++i;
      continue;
    }
    unsigned char c = s[i];
    bool c0_or_del = len == 1 && (c < 0x20 || c == 0x7F);
    bool separator = c == '/' || c == '\\';
    bool c1 = len == 2 && c == 0xC2 && s[i + 1] < 0xA0;  // U+0080..U+009F
    if (c0_or_del || separator || c1) {
      p[w++] = '_';
    } else {
      std::memcpy(p + w, s + i, len);
      w += len;
    }
    i += len;
  }
  out.commit(w);
}

void finish_path_component(ByteBuffer& out, size_t start, size_t fixed_tail) {
  std::string_view name(out.data() + start, out.size() - start);
  if (name.empty() || name == "." || name == "..") {
    replace_region(out, start, '_');
    return;
  }
  if (name.size() <= kMaxPathComponentBytes) return;
  shorten(out, start, '~', fixed_tail <= kMaxKeptTail ? fixed_tail : 0);
}

bool topic_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

void finish_topic_name(ByteBuffer& out, size_t start) {
  char* p = out.data() + start;
  size_t n = out.size() - start;
  for (size_t i = 0; i < n; ++i) {
    if (!topic_char(static_cast<unsigned char>(p[i]))) p[i] = '_';
  }
  std::string_view name(p, n);
  if (name.empty() || name == "." || name == "..") {
    replace_region(out, start, '_');
    return;
  }
  if (n > kMaxTopicBytes) shorten(out, start, '-', 0);
}

bool path_stays_under(std::string_view path, std::string_view fixed_prefix) {
  if (path.substr(0, fixed_prefix.size()) != fixed_prefix) return false;
  std::string_view rest = path.substr(fixed_prefix.size());
  if (rest.find('\0') != std::string_view::npos) return false;
  if (fixed_prefix.empty() && !rest.empty() && rest.front() == '/') return false;
  int depth = 0;
  while (!rest.empty()) {
    size_t slash = rest.find('/');
    std::string_view component = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    if (component.empty() || component == ".") continue;
    if (component == "..") {
      if (--depth < 0) return false;
    } else {
      ++depth;
    }
  }
  return depth > 0;
}

}  // namespace sluice::names
