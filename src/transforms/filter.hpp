#pragma once
// `filter`: passes on the events for which `condition` holds (see condition.hpp).
#include <memory>

#include "sluice/transform.hpp"
#include "transforms/condition.hpp"

namespace sluice {

class FilterTransform final : public Transform {
 public:
  explicit FilterTransform(std::unique_ptr<Condition> condition)
      : condition_(std::move(condition)) {}
  void apply(Batch& batch, const SourceMeta& meta, std::span<const Event> in,
             std::vector<Event>& out) const override;

 private:
  std::unique_ptr<Condition> condition_;
};

}  // namespace sluice
