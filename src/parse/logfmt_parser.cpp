#include "parse/logfmt_parser.hpp"

#include "base/json_writer.hpp"
#include "parse/duplicate_keys.hpp"

namespace sluice {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t'; }

// A key is any run of bytes without space, '=' or '"' (what the Go logfmt encoders emit).
bool is_key_char(char c) { return !is_space(c) && c != '=' && c != '"'; }

bool is_identifier(std::string_view key) {
  if (key.empty() || !is_logfmt_identifier_start(key[0])) return false;
  for (char c : key) {
    if (!is_logfmt_identifier_start(c) && !(c >= '0' && c <= '9') && c != '.' && c != '-' &&
        c != '/')
      return false;
  }
  return true;
}

}  // namespace

bool parse_logfmt(std::string_view line, LogfmtStrictness strictness, Arena& arena,
                  std::vector<Field>& fields) {
  const size_t first = fields.size();
  auto fail = [&] {
    fields.resize(first);
    return false;
  };
  size_t pairs = 0;
  size_t i = 0;
  const size_t n = line.size();
  while (true) {
    while (i < n && is_space(line[i])) ++i;
    if (i >= n) break;
    size_t key_begin = i;
    unsigned high_bits = 0;
    while (i < n && is_key_char(line[i])) high_bits |= static_cast<unsigned char>(line[i++]);
    if (i == key_begin) return fail();  // a stray '=' or '"'
    std::string_view key = line.substr(key_begin, i - key_begin);
    if (strictness == LogfmtStrictness::RequireLeadingPair && !is_identifier(key)) return fail();
    // Keys are written with invalid UTF-8 replaced: replace it here, so that two keys that would
    // be written alike are found to be the same key.
    if ((high_bits & 0x80) != 0 && !is_valid_utf8(key)) key = repair_utf8(key, arena);
    if (i >= n || line[i] != '=') {
      if (i < n && !is_space(line[i])) return fail();
      if (strictness == LogfmtStrictness::RequireLeadingPair && pairs == 0) return fail();
      fields.push_back(Field{key, Value{ValueKind::Bool, true, "true"}});
      continue;
    }
    ++i;  // '='
    Field field{key, Value{ValueKind::String, false, {}}};
    if (i < n && line[i] == '"') {
      ++i;
      size_t value_begin = i;
      bool escaped = false;
      while (i < n && line[i] != '"') {
        if (line[i] == '\\' && i + 1 < n) {
          escaped = true;
          ++i;
        }
        ++i;
      }
      if (i >= n) return fail();  // unterminated quote
      std::string_view raw = line.substr(value_begin, i - value_begin);
      ++i;  // closing quote
      if (i < n && !is_space(line[i])) return fail();
      if (!escaped) {
        field.value.text = raw;
      } else {
        char* out = arena.allocate(raw.size());
        size_t len = 0;
        for (size_t k = 0; k < raw.size(); ++k) {
          char c = raw[k];
          if (c == '\\' && k + 1 < raw.size()) {
            char e = raw[++k];
            c = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e;
          }
          out[len++] = c;
        }
        field.value.text = std::string_view(out, len);
      }
    } else {
      size_t value_begin = i;
      while (i < n && !is_space(line[i])) {
        if (line[i] == '"') return fail();
        ++i;
      }
      field.value.text = line.substr(value_begin, i - value_begin);
    }
    fields.push_back(field);
    ++pairs;
  }
  if (pairs == 0) return fail();
  drop_duplicate_fields(std::span(fields).subspan(first));
  return true;
}

}  // namespace sluice
