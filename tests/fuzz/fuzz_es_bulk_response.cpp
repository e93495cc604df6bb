// Fuzzes the reading of Elasticsearch `_bulk` answers (es::BulkResponseParser, one parser reused
// across bodies, as the sink does). Invariants:
//   - parse() leaves the body's bytes as they were;
//   - Malformed comes with a reason and no items; AllStored with no items; Items with exactly one
//     item per action, each with an HTTP status (100-599);
//   - the transport's fast path agrees with parse(): all_stored() is true for an AllStored answer
//     and false for one that has per-item results;
//   - on a body that is valid JSON, the outcome (kind, every status and error text) is that of a
//     reference reading of the same rules with simdjson's DOM parser (the sink's parser uses the
//     on-demand API, which validates only what it reads);
//   - body_excerpt() returns a prefix of at most `max` bytes (plus "…") that ends on a UTF-8
//     character boundary.
#include <simdjson.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_common.hpp"
#include "sinks/elasticsearch/bulk_response.hpp"

namespace sluice::es {
namespace {

struct Reference {
  BulkParse::Kind kind = BulkParse::Kind::Malformed;
  std::vector<ItemResult> items;
};

std::string reference_error(simdjson::dom::element error) {
  std::string_view text;
  if (error.is_string()) return std::string(error.get_string().value_unsafe());
  if (!error.is_object()) return "unknown error";
  std::string kind;
  std::string reason;
  // simdjson_result::value_unsafe() returns a reference into the result: keep the object.
  const simdjson::dom::object object = error.get_object().value_unsafe();
  for (auto [key, value] : object) {
    if (key == "type" && !value.get_string().get(text)) kind = text;
    if (key == "reason" && !value.get_string().get(text)) reason = text;
  }
  if (kind.empty()) return reason.empty() ? "unknown error" : reason;
  return reason.empty() ? kind : kind + ": " + reason;
}

// The rules of bulk_response.hpp, read from a DOM. Malformed is returned without items.
Reference reference(simdjson::dom::element root, size_t expected_items) {
  Reference out;
  auto malformed = [] { return Reference{}; };
  if (!root.is_object()) return malformed();
  bool has_errors = false;
  bool has_items = false;
  const simdjson::dom::object object = root.get_object().value_unsafe();
  for (auto [key, value] : object) {
    if (key == "errors") {
      // A second `errors` or `items` would make the answer mean two things.
      if (has_errors || !value.is_bool()) return malformed();
      has_errors = true;
      if (!value.get_bool().value_unsafe()) {
        out.kind = BulkParse::Kind::AllStored;
        out.items.clear();
        return out;
      }
    } else if (key == "items") {
      if (has_items || !value.is_array()) return malformed();
      has_items = true;
      const simdjson::dom::array array = value.get_array().value_unsafe();
      for (simdjson::dom::element element : array) {
        if (!element.is_object()) return malformed();
        simdjson::dom::object item = element.get_object().value_unsafe();
        if (item.size() != 1) return malformed();
        simdjson::dom::element result = (*item.begin()).value;
        if (!result.is_object()) return malformed();
        ItemResult& r = out.items.emplace_back();
        const simdjson::dom::object fields = result.get_object().value_unsafe();
        for (auto [field, v] : fields) {
          if (field == "status") {
            int64_t status = 0;
            if (v.get_int64().get(status) || status < 100 || status > 599) return malformed();
            r.status = static_cast<int>(status);
          } else if (field == "error") {
            r.error = reference_error(v);
          }
        }
        if (r.status == 0) return malformed();
      }
    }
  }
  if (!has_errors || !has_items || out.items.size() != expected_items) return malformed();
  out.kind = BulkParse::Kind::Items;
  return out;
}

const char* kind_name(BulkParse::Kind kind) {
  switch (kind) {
    case BulkParse::Kind::AllStored:
      return "AllStored";
    case BulkParse::Kind::Items:
      return "Items";
    case BulkParse::Kind::Malformed:
      return "Malformed";
  }
  return "?";
}

void check_parse(BulkResponseParser& parser, std::string_view input, size_t expected,
                 const std::optional<simdjson::dom::element>& dom, bool fast_path) {
  std::string body(input);
  const BulkParse parse = parser.parse(body, expected);
  FUZZ_CHECK(body == input);
  const std::vector<ItemResult>& items = parser.items();
  switch (parse.kind) {
    case BulkParse::Kind::Malformed:
      FUZZ_CHECK(!parse.error.empty());
      FUZZ_CHECK(items.empty());
      break;
    case BulkParse::Kind::AllStored:
      FUZZ_CHECK(items.empty());
      FUZZ_CHECK(fast_path);
      break;
    case BulkParse::Kind::Items:
      FUZZ_CHECK(items.size() == expected);
      for (const ItemResult& item : items) FUZZ_CHECK(item.status >= 100 && item.status <= 599);
      FUZZ_CHECK(!fast_path);
      break;
  }
  if (!dom) return;
  const Reference ref = reference(*dom, expected);
  bool same = ref.kind == parse.kind && ref.items.size() == items.size();
  for (size_t i = 0; same && i < items.size(); ++i) {
    same = ref.items[i].status == items[i].status && ref.items[i].error == items[i].error;
  }
  if (!same) {
    std::fprintf(stderr, "parse() says %s with %zu items (%s), the reference %s with %zu items\n",
                 kind_name(parse.kind), items.size(), parse.error.c_str(), kind_name(ref.kind),
                 ref.items.size());
    __builtin_trap();
  }
}

void check_excerpt(std::string_view body, size_t max) {
  const std::string excerpt = body_excerpt(body, max);
  if (body.size() <= max) {
    FUZZ_CHECK(excerpt == body);
    return;
  }
  static constexpr std::string_view kEllipsis = "…";
  FUZZ_CHECK(excerpt.size() >= kEllipsis.size());
  const std::string_view kept(excerpt.data(), excerpt.size() - kEllipsis.size());
  FUZZ_CHECK(std::string_view(excerpt).substr(kept.size()) == kEllipsis);
  FUZZ_CHECK(kept.size() <= max && body.substr(0, kept.size()) == kept);
  // Cut before a character, never inside one: the next byte is not a continuation byte.
  FUZZ_CHECK((static_cast<unsigned char>(body[kept.size()]) & 0xC0) != 0x80 || kept.empty());
  if (simdjson::validate_utf8(body.data(), body.size())) {
    FUZZ_CHECK(simdjson::validate_utf8(excerpt.data(), excerpt.size()));
  }
}

}  // namespace
}  // namespace sluice::es

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice::es;
  static auto* parser = new BulkResponseParser();
  static auto* dom_parser = new simdjson::dom::parser();
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  std::optional<simdjson::dom::element> dom;
  simdjson::dom::element element;
  if (!dom_parser->parse(input.data(), input.size()).get(element)) dom = element;

  std::string body(input);
  const bool fast_path = parser->all_stored(body);
  FUZZ_CHECK(body == input);

  // Item counts around the one in the answer, when it has one, so that both the Items outcome
  // and the count mismatch are reached.
  std::vector<size_t> counts{0, 1, 2};
  if (dom) {
    simdjson::dom::array items;
    if (!(*dom)["items"].get_array().get(items)) {
      counts.push_back(items.size());
      counts.push_back(items.size() + 1);
    }
  }
  for (size_t expected : counts) check_parse(*parser, input, expected, dom, fast_path);

  for (size_t max : {size_t{0}, size_t{1}, size_t{3}, size_t{300}}) check_excerpt(input, max);
  return 0;
}
