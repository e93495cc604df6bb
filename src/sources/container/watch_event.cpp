#include "sources/container/watch_event.hpp"

namespace sluice::kube {

namespace od = simdjson::ondemand;

namespace {

// A pod with a large annotation passed: its copy is not kept for the watch's life.
constexpr size_t kKeptLineCapacity = 1U << 20;

// The fields of the event's root object; false with `error` set.
bool read_event_fields(od::object root, WatchTarget& target, std::string* type, ObjectHead* head,
                       std::string* error) {
  bool read_object = false;
  for (auto result : root) {
    od::field field;
    std::string_view key;
    if (std::move(result).get(field) || field.unescaped_key().get(key)) {
      *error = "not valid JSON";
      return false;
    }
    if (key == "type") {
      std::string_view text;
      if (field.value().get_string().get(text)) {
        *error = "type is not a string";
        return false;
      }
      *type = text;
    } else if (key == "object") {
      od::object object;
      if (field.value().get_object().get(object)) {
        *error = "object is not an object";
        return false;
      }
      if (!target.read(object, head, error)) return false;
      read_object = true;
    }
  }
  if (!read_object) *error = "an event without object";
  return read_object;
}

}  // namespace

bool read_watch_event(od::parser& parser, std::string& padded_copy, std::string_view line,
                      WatchTarget& target, std::string* type, ObjectHead* head,
                      std::string* error) {
  padded_copy.assign(line);
  padded_copy.reserve(line.size() + simdjson::SIMDJSON_PADDING);
  const simdjson::padded_string_view view(padded_copy.data(), padded_copy.size(),
                                          padded_copy.capacity());
  od::document doc;
  od::object root;
  bool ok = false;
  if (parser.iterate(view).get(doc) || doc.get_object().get(root)) {
    *error = "not a JSON object";
  } else {
    ok = read_event_fields(root, target, type, head, error);
  }
  if (padded_copy.capacity() > kKeptLineCapacity) {
    padded_copy.clear();
    padded_copy.shrink_to_fit();
  }
  // A target that refused the object without saying why still made the event unreadable.
  if (!ok && error->empty()) *error = "an unreadable object";
  return ok;
}

}  // namespace sluice::kube
