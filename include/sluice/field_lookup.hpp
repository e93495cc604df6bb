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
};

}  // namespace sluice
