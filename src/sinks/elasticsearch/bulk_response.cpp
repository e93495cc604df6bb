#include "sinks/elasticsearch/bulk_response.hpp"

#include <string>

namespace sluice::es {

namespace {

using simdjson::ondemand::json_type;

std::string describe_error(simdjson::ondemand::value error) {
  json_type type;
  if (error.type().get(type)) return "unknown error";
  if (type == json_type::string) {
    std::string_view text;
    return error.get_string().get(text) ? "unknown error" : std::string(text);
  }
  simdjson::ondemand::object object;
  if (type != json_type::object || error.get_object().get(object)) return "unknown error";
  std::string kind;
  std::string reason;
  for (auto field : object) {
    std::string_view key;
    if (field.unescaped_key().get(key)) break;
    std::string_view text;
    if (key == "type" && !field.value().get_string().get(text)) kind = text;
    if (key == "reason" && !field.value().get_string().get(text)) reason = text;
  }
  if (kind.empty()) return reason.empty() ? "unknown error" : reason;
  return reason.empty() ? kind : kind + ": " + reason;
}

}  // namespace

bool BulkResponseParser::read_items(simdjson::ondemand::array items, std::string* error) {
  for (auto element : items) {
    simdjson::ondemand::object item;
    if (element.get_object().get(item)) {
      *error = "an item is not an object";
      return false;
    }
    // {"<action>": {...}}: the only field.
    simdjson::ondemand::object result;
    bool found = false;
    for (auto action : item) {
      if (found || action.value().get_object().get(result)) {
        *error = "an item is not {\"<action>\": {...}}";
        return false;
      }
      found = true;
      ItemResult& out = items_.emplace_back();
      for (auto field : result) {
        std::string_view key;
        if (field.unescaped_key().get(key)) {
          *error = "unreadable item field";
          return false;
        }
        if (key == "status") {
          int64_t status = 0;
          if (field.value().get_int64().get(status)) {
            *error = "an item status is not a number";
            return false;
          }
          // Not narrowed blindly: 4294967497 would become 201, an item wrongly taken as stored.
          if (status < 100 || status > 599) {
            *error = "an item status is not an HTTP status: " + std::to_string(status);
            return false;
          }
          out.status = static_cast<int>(status);
        } else if (key == "error") {
          out.error = describe_error(field.value());
        }
      }
      if (out.status == 0) {
        *error = "an item has no status";
        return false;
      }
    }
    if (!found) {
      *error = "an item is empty";
      return false;
    }
  }
  return true;
}

BulkParse BulkResponseParser::parse(std::string& body, size_t expected_items) {
  items_.clear();
  BulkParse out = read_answer(body, expected_items);
  // Whatever was read before the answer turned out malformed (or `errors: false` came after
  // the items) is not a result: items() holds something only for Items.
  if (out.kind != BulkParse::Kind::Items) items_.clear();
  return out;
}

BulkParse BulkResponseParser::read_answer(std::string& body, size_t expected_items) {
  BulkParse out;
  body.reserve(body.size() + simdjson::SIMDJSON_PADDING);
  simdjson::padded_string_view view(body.data(), body.size(), body.capacity());
  simdjson::ondemand::document doc;
  simdjson::ondemand::object root;
  if (parser_.iterate(view).get(doc) || doc.get_object().get(root)) {
    out.error = "the answer is not a JSON object";
    return out;
  }
  bool has_errors = false;
  bool has_items = false;
  for (auto field : root) {
    std::string_view key;
    if (field.unescaped_key().get(key)) {
      out.error = "the answer is not valid JSON";
      return out;
    }
    // A second `errors` or `items` would make the answer say two things (and all_stored()
    // reads only the first `errors`): not a bulk answer.
    if ((key == "errors" && has_errors) || (key == "items" && has_items)) {
      out.error = "`" + std::string(key) + "` appears twice";
      return out;
    }
    if (key == "errors") {
      bool errors = true;
      if (field.value().get_bool().get(errors)) {
        out.error = "`errors` is not a boolean";
        return out;
      }
      has_errors = true;
      if (!errors) {
        // Elasticsearch writes `errors` before `items`: the items need not be read at all.
        out.kind = BulkParse::Kind::AllStored;
        return out;
      }
    } else if (key == "items") {
      simdjson::ondemand::array items;
      if (field.value().get_array().get(items) || !read_items(items, &out.error)) {
        if (out.error.empty()) out.error = "`items` is not an array";
        return out;
      }
      has_items = true;
    }
  }
  if (!has_errors || !has_items) {
    out.error = "not a bulk answer (no `errors` or `items`)";
    return out;
  }
  if (items_.size() != expected_items) {
    out.error = std::to_string(items_.size()) + " items in the answer to " +
                std::to_string(expected_items) + " actions";
    return out;
  }
  out.kind = BulkParse::Kind::Items;
  return out;
}

bool BulkResponseParser::all_stored(std::string& body) {
  body.reserve(body.size() + simdjson::SIMDJSON_PADDING);
  simdjson::padded_string_view view(body.data(), body.size(), body.capacity());
  simdjson::ondemand::document doc;
  simdjson::ondemand::object root;
  if (parser_.iterate(view).get(doc) || doc.get_object().get(root)) return false;
  for (auto field : root) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return false;
    if (key == "errors") {
      bool errors = true;
      return !field.value().get_bool().get(errors) && !errors;
    }
  }
  return false;
}

ItemFate item_fate(int status, bool create_with_id) {
  if (status >= 200 && status < 300) return ItemFate::Stored;
  if (status == 409 && create_with_id) return ItemFate::AlreadyPresent;
  if (status == 429 || status >= 500) return ItemFate::Retry;
  return ItemFate::DeadLetter;
}

RequestFate request_fate(bool responded, int status) {
  if (!responded || status == 429 || status >= 500 || status < 200) return RequestFate::Retry;
  if (status < 300) return RequestFate::ReadItems;
  if (status == 413) return RequestFate::Split;
  // 3xx (a redirect: wrong scheme or path) and other 4xx: nothing the data can fix.
  return RequestFate::Misconfigured;
}

std::string body_excerpt(std::string_view body, size_t max) {
  if (body.size() <= max) return std::string(body);
  size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(body[end]) & 0xC0) == 0x80) --end;
  return std::string(body.substr(0, end)) + "…";
}

}  // namespace sluice::es
