#pragma once
// A FieldLookup over a fixed map of field paths to string values, for the template tests.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/template.hpp"

namespace sluice::testing {

class MapLookup final : public FieldLookup {
 public:
  explicit MapLookup(std::map<std::string, std::string> m) : m_(std::move(m)) {}
  std::optional<Value> get(std::string_view path) const override {
    auto it = m_.find(std::string(path));
    if (it == m_.end()) return std::nullopt;
    return Value{ValueKind::String, true, it->second};
  }

 private:
  std::map<std::string, std::string> m_;
};

}  // namespace sluice::testing
