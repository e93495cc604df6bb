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
  [[nodiscard]] std::optional<Value> get_plain(std::string_view path) const override;

 private:
  // The lookup, compiled once for plain dotted paths (compared as they are) and once for paths
  // with a quoted segment (split into segments as they are compared). Inlined into get() and
  // get_plain(): the call in between showed in the instructions per condition.
  template <bool kQuoted>
  [[nodiscard, gnu::always_inline]] inline std::optional<Value> find(std::string_view path) const;

  Batch& batch_;
  const Event& event_;
  const SourceMeta& meta_;
};

}  // namespace sluice
