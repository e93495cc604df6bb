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
#include "options/descriptor.hpp"

namespace sluice {

namespace {

std::unique_ptr<Transform> make_filter_transform(MapReader& config, const std::string&) {
  std::string expression = config.required_string("condition");
  std::string error;
  auto condition = Condition::compile(expression, &error);
  if (!condition) config.fail("condition", "invalid `condition`: " + error);
  return std::make_unique<FilterTransform>(std::move(condition));
}

}  // namespace

const ComponentDescriptor& filter_transform_descriptor() {
  static const ComponentDescriptor descriptor{
      .kind = ComponentKind::Transform,
      .type = "filter",
      .summary = "passes on the events that match a condition",
      .options =
          {
              {.key = "condition",
               .type = OptionType::String,
               .description = "e.g. `level >= warn and not msg =~ \"healthcheck\"` (the "
                              "language is below)",
               .required = true,
               .reloadable = true},
          },
      .make_transform = &make_filter_transform,
  };
  return descriptor;
}

}  // namespace sluice
