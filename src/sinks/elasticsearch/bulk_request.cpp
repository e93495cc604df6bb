#include "sinks/elasticsearch/bulk_request.hpp"

#include <locale.h>
#include <wctype.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstring>

#include "base/json_writer.hpp"
#include "base/utf8.hpp"
#include "core/safe_names.hpp"

namespace sluice::es {

namespace {

constexpr char kBase64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

bool leading_forbidden(char c) { return c == '-' || c == '_' || c == '+'; }

constexpr uint32_t kNoCase = UINT32_MAX;

// The code point of one valid UTF-8 sequence.
uint32_t decode_utf8(std::string_view s) {
  auto b = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(s[k])); };
  switch (s.size()) {
    case 2:
      return ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
    case 3:
      return ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
    default:
      return ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
  }
}

// Unicode lowercase of a code point (glibc's tables of the C.UTF-8 locale, made once; thread-safe
// through towlower_l). kNoCase when that locale is missing: the character is then replaced
// rather than risk a name Elasticsearch refuses.
uint32_t lowercase(uint32_t cp) {
  static const locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", locale_t{});
  if (utf8 == locale_t{}) return kNoCase;
  auto lower = static_cast<uint32_t>(towlower_l(static_cast<wint_t>(cp), utf8));
  return lower <= 0x10FFFF && (lower < 0xD800 || lower > 0xDFFF) ? lower : kNoCase;
}

}  // namespace

// Characters Elasticsearch refuses in index names (`:` is deprecated there, refused here).
bool forbidden_in_index(unsigned char c) {
  switch (c) {
    case '\\':
    case '/':
    case '*':
    case '?':
    case '"':
    case '<':
    case '>':
    case '|':
    case ',':
    case '#':
    case ':':
    case ' ':
      return true;
    default:
      return c < 0x20 || c == 0x7f;
  }
}

void format_event_id(const EventId& id, char out[kEventIdChars]) {
  unsigned char bytes[16];
  for (int k = 0; k < 8; ++k) {
    bytes[k] = static_cast<unsigned char>(id.hi >> (56 - 8 * k));
    bytes[8 + k] = static_cast<unsigned char>(id.lo >> (56 - 8 * k));
  }
  size_t o = 0;
  for (size_t k = 0; k + 2 < 16; k += 3) {
    uint32_t v = (uint32_t{bytes[k]} << 16) | (uint32_t{bytes[k + 1]} << 8) | bytes[k + 2];
    out[o++] = kBase64Url[(v >> 18) & 63];
    out[o++] = kBase64Url[(v >> 12) & 63];
    out[o++] = kBase64Url[(v >> 6) & 63];
    out[o++] = kBase64Url[v & 63];
  }
  // 16 = 5 × 3 + 1: the last byte gives two characters, without padding.
  out[o++] = kBase64Url[bytes[15] >> 2];
  out[o] = kBase64Url[(bytes[15] & 3) << 4];
}

bool append_index_name(ByteBuffer& out, std::string_view name, bool drop_leading_dots) {
  const size_t start = out.size();
  out.reserve(start + name.size() + 16);
  for (size_t i = 0; i < name.size();) {
    auto c = static_cast<unsigned char>(name[i]);
    size_t len = utf8_sequence_length(name, i);
    if (len > 1) {
      // Elasticsearch accepts a name only if lowercasing it (Java, Locale.ROOT) changes nothing.
      uint32_t cp = decode_utf8(name.substr(i, len));
      uint32_t lower = lowercase(cp);
      if (lower == kNoCase) {
        out.push_back('_');
      } else {
        names::append_utf8(out, lower);
      }
      i += len;
      continue;
    }
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<unsigned char>(c - 'A' + 'a');
    } else if (len == 0 || forbidden_in_index(c)) {
      c = '_';  // an invalid UTF-8 byte, or a character Elasticsearch refuses
    }
    ++i;
    if (out.size() == start &&
        (leading_forbidden(static_cast<char>(c)) || (drop_leading_dots && c == '.'))) {
      continue;
    }
    out.push_back(static_cast<char>(c));
  }
  names::shorten_name(out, start, kMaxIndexBytes, '-');
  std::string_view result(out.data() + start, out.size() - start);
  if (result.empty() || result == "." || result == "..") {
    out.resize(start);
    return false;
  }
  return true;
}

bool is_valid_index_name(std::string_view name) {
  ByteBuffer buffer;
  return append_index_name(buffer, name) && buffer.view() == name;
}

std::string url_encode(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : value) {
    auto c = static_cast<unsigned char>(ch);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string bulk_target(std::string_view pipeline) {
  std::string target = "/_bulk";
  if (!pipeline.empty()) target += "?pipeline=" + url_encode(pipeline);
  return target;
}

void BulkBodyBuilder::append_index(ByteBuffer& body, const EncodedBatch& batch, size_t i) {
  if (spec_.index_slot < 0) {
    body.append(spec_.static_index);
    return;
  }
  std::string_view rendered = batch.rendered_value(i, static_cast<size_t>(spec_.index_slot));
  if (rendered.find(kMissingField) != std::string_view::npos ||
      !append_index_name(body, rendered, spec_.value_leads)) {
    body.append(spec_.default_index);
  }
}

void BulkBodyBuilder::append(ByteBuffer& body, const EncodedBatch& batch, size_t i) {
  body.append(spec_.action == Action::Create ? R"({"create":{"_index":")"
                                             : R"({"index":{"_index":")");
  // The name needs no JSON escaping: quotes, backslashes and control characters are replaced.
  append_index(body, batch, i);
  body.push_back('"');
  if (spec_.id == IdMode::Auto && i < batch.ids.size()) {
    body.append(R"(,"_id":")");
    format_event_id(batch.ids[i], body.prepare(kEventIdChars));
    body.commit(kEventIdChars);
    body.push_back('"');
  } else if (spec_.id == IdMode::Template) {
    std::string_view id = batch.rendered_value(i, static_cast<size_t>(spec_.id_slot));
    // A missing field: Elasticsearch generates the id.
    if (id.find(kMissingField) == std::string_view::npos) {
      body.append(R"(,"_id":)");
      append_json_string(body, id);
    }
  }
  body.append("}}\n");
  std::string_view event = batch.event(i);
  body.append(event);
  if (event.empty() || event.back() != '\n') body.push_back('\n');
}

std::string BulkBodyBuilder::index_of(const EncodedBatch& batch, size_t i) {
  scratch_.clear();
  append_index(scratch_, batch, i);
  return std::string(scratch_.view());
}

}  // namespace sluice::es
