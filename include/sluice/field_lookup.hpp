#pragma once
// How code reads fields of an event by path (`level`, `kubernetes.pod.name`) without knowing
// how the event is stored: conditions (transforms/) and templates (core/) read through it, and
// core's EventView implements it. A public interface so that both layers may see it.
#include <optional>
#include <string_view>

#include "sluice/event.hpp"

namespace sluice {

class FieldLookup {
 public:
  virtual ~FieldLookup() = default;
  [[nodiscard]] virtual std::optional<Value> get(std::string_view path) const = 0;
  // The same lookup for a path its caller checked once, when it compiled the path, to have no
  // double-quoted segment (base/field_path.hpp's has_quoted_segment): conditions and templates
  // look paths up for every event, and that check per lookup was most of what quoted segments
  // cost paths that have none. By default get(); defined out of line (core/event_view.cpp) so
  // that callers do not test for this default before every call.
  [[nodiscard]] virtual std::optional<Value> get_plain(std::string_view path) const;
};

}  // namespace sluice
