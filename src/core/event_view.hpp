#pragma once
// Field access on one event, for conditions, templates and remaps: parsed fields first, then
// nested members of JSON fields (`kubernetes.pod.name`), then metadata (`@timestamp`, `source`,
// `stream`, `host.name`, `message`).
#include <optional>
#include <string_view>

#include "sluice/batch.hpp"
#include "sluice/field_lookup.hpp"
#include "sluice/source_meta.hpp"

namespace sluice {

class EventView final : public FieldLookup {
 public:
  EventView(Batch& batch, const Event& event, const SourceMeta& meta)
      : batch_(batch), event_(event), meta_(meta) {}

  [[nodiscard]] std::optional<Value> get(std::string_view path) const override;

 private:
  Batch& batch_;
  const Event& event_;
  const SourceMeta& meta_;
};

}  // namespace sluice
