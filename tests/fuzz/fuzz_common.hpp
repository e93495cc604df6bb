#pragma once
// Helpers shared by the libFuzzer targets: an invariant check that always traps (NDEBUG does not
// disable it), and a validator for the JSON that sluice writes.
#include <simdjson.h>

#include <algorithm>
#include <cstdio>
#include <string_view>
#include <vector>

// A violated invariant is a crash libFuzzer reports (and saves the input of).
#define FUZZ_CHECK(cond)                                                                \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      __builtin_trap();                                                                 \
    }                                                                                   \
  } while (0)

namespace sluice::fuzz {

// A strict RFC 8259 checker, used only where simdjson's DOM parser refuses valid JSON: numbers
// outside the range of int64/uint64/double (`123456789012345678901234567890`, `1e400`), which
// the grammar allows and sluice passes through as written. The input must be valid UTF-8.
class StrictJson {
 public:
  static bool valid(std::string_view text) {
    StrictJson j(text);
    j.ws();
    if (!j.value(0)) return false;
    j.ws();
    return j.p_ == j.end_;
  }

  // Valid, and no object in it repeats a key. Keys are compared as written, which is exact for
  // sluice's output: it escapes every (unescaped) key the same way.
  static bool valid_with_unique_keys(std::string_view text) {
    StrictJson j(text);
    j.ws();
    if (!j.value(0)) return false;
    j.ws();
    return j.p_ == j.end_ && !j.duplicate_key_;
  }

 private:
  explicit StrictJson(std::string_view t) : p_(t.data()), end_(t.data() + t.size()) {}
  void ws() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }
  bool lit(std::string_view s) {
    if (static_cast<size_t>(end_ - p_) < s.size() || std::string_view(p_, s.size()) != s) {
      return false;
    }
    p_ += s.size();
    return true;
  }
  static bool digit(char c) { return c >= '0' && c <= '9'; }
  bool digits() {
    if (p_ == end_ || !digit(*p_)) return false;
    while (p_ < end_ && digit(*p_)) ++p_;
    return true;
  }
  bool number() {
    if (p_ < end_ && *p_ == '-') ++p_;
    if (p_ == end_) return false;
    if (*p_ == '0') {
      ++p_;
    } else if (!digits()) {
      return false;
    }
    if (p_ < end_ && *p_ == '.') {
      ++p_;
      if (!digits()) return false;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (!digits()) return false;
    }
    return true;
  }
  static bool hex(char c) { return digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
  bool string() {
    if (p_ == end_ || *p_ != '"') return false;
    ++p_;
    while (p_ < end_) {
      auto c = static_cast<unsigned char>(*p_++);
      if (c == '"') return true;
      if (c < 0x20) return false;
      if (c == '\\') {
        if (p_ == end_) return false;
        char e = *p_++;
        if (e == 'u') {
          for (int i = 0; i < 4; ++i) {
            if (p_ == end_ || !hex(*p_)) return false;
            ++p_;
          }
        } else if (e != '"' && e != '\\' && e != '/' && e != 'b' && e != 'f' && e != 'n' &&
                   e != 'r' && e != 't') {
          return false;
        }
      }
    }
    return false;
  }
  bool value(int depth) {
    if (depth > 1000 || p_ == end_) return false;
    switch (*p_) {
      case '{': {
        ++p_;
        ws();
        if (p_ < end_ && *p_ == '}') return ++p_, true;
        std::vector<std::string_view> keys;
        while (true) {
          ws();
          const char* key_begin = p_;
          if (!string()) return false;
          const std::string_view key(key_begin, static_cast<size_t>(p_ - key_begin));
          if (std::find(keys.begin(), keys.end(), key) != keys.end()) duplicate_key_ = true;
          keys.push_back(key);
          ws();
          if (p_ == end_ || *p_++ != ':') return false;
          ws();
          if (!value(depth + 1)) return false;
          ws();
          if (p_ == end_) return false;
          char c = *p_++;
          if (c == '}') return true;
          if (c != ',') return false;
        }
      }
      case '[': {
        ++p_;
        ws();
        if (p_ < end_ && *p_ == ']') return ++p_, true;
        while (true) {
          ws();
          if (!value(depth + 1)) return false;
          ws();
          if (p_ == end_) return false;
          char c = *p_++;
          if (c == ']') return true;
          if (c != ',') return false;
        }
      }
      case '"':
        return string();
      case 't':
        return lit("true");
      case 'f':
        return lit("false");
      case 'n':
        return lit("null");
      default:
        return number();
    }
  }

  const char* p_;
  const char* end_;
  bool duplicate_key_ = false;
};

// True when `text` is exactly one valid JSON value (valid UTF-8 included); with `object_only`, a
// JSON object.
inline bool is_json(std::string_view text, bool object_only = true) {
  static simdjson::dom::parser parser;
  simdjson::dom::element doc;
  auto error = parser.parse(text.data(), text.size()).get(doc);
  if (error == simdjson::NUMBER_ERROR || error == simdjson::NUMBER_OUT_OF_RANGE) {
    // simdjson only takes numbers it can represent; check the grammar instead.
    return simdjson::validate_utf8(text.data(), text.size()) && !text.empty() &&
           (!object_only || text.front() == '{') && StrictJson::valid(text);
  }
  return error == simdjson::SUCCESS && (!object_only || doc.is_object());
}

// One JSON-encoded event: a single line holding one JSON object that repeats no key at any
// level (Elasticsearch refuses a document that does).
inline void check_encoded_json(std::string_view encoded) {
  FUZZ_CHECK(!encoded.empty() && encoded.back() == '\n');
  std::string_view object = encoded.substr(0, encoded.size() - 1);
  FUZZ_CHECK(object.find('\n') == std::string_view::npos);
  if (!is_json(object)) {
    std::fprintf(stderr, "invalid JSON output: %.*s\n", static_cast<int>(object.size()),
                 object.data());
    __builtin_trap();
  }
  if (!StrictJson::valid_with_unique_keys(object)) {
    std::fprintf(stderr, "a key written twice: %.*s\n", static_cast<int>(object.size()),
                 object.data());
    __builtin_trap();
  }
}

// One text-encoded event (no colour): C0 control characters from the logs (ESC above all, which
// starts terminal escape sequences) never reach a terminal. DEL (0x7f) is not checked: values
// that need quoting are written with JSON escaping, which leaves DEL as it is. A message's own
// newlines are shown as lines: each one starts a continuation line indented by four spaces.
inline void check_encoded_text(std::string_view encoded) {
  FUZZ_CHECK(!encoded.empty() && encoded.back() == '\n');
  for (size_t i = 0; i + 1 < encoded.size(); ++i) {
    auto c = static_cast<unsigned char>(encoded[i]);
    if (c == '\n') {
      FUZZ_CHECK(encoded.substr(i + 1).starts_with("    "));
      continue;
    }
    FUZZ_CHECK(c == '\t' || c >= 0x20);
  }
}

}  // namespace sluice::fuzz
