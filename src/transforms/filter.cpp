#include "transforms/filter.hpp"

#include "core/event_view.hpp"

namespace sluice {

void FilterTransform::apply(Batch& batch, const SourceMeta& meta, std::span<const Event> in,
                            std::vector<Event>& out) const {
  for (const Event& event : in) {
    EventView view(batch, event, meta);
    if (condition_->matches(view)) out.push_back(event);
  }
}

}  // namespace sluice

#include "options/components.hpp"

namespace sluice {

std::unique_ptr<Transform> make_filter_transform(MapReader& config) {
  std::string expression = config.required_string("condition");
  std::string error;
  auto condition = Condition::compile(expression, &error);
  if (!condition) config.fail("condition", "invalid `condition`: " + error);
  return std::make_unique<FilterTransform>(std::move(condition));
}

}  // namespace sluice
