#pragma once
#include <span>
#include <vector>

#include "sluice/batch.hpp"

namespace sluice {

struct SourceMeta;

// A transform maps the events of a batch that reach it to the events it passes on. It may add
// fields to the batch (remap) but never changes the events it was given, because sibling
// branches of the topology see the same events.
class Transform {
 public:
  virtual ~Transform() = default;
  virtual void apply(Batch& batch, const SourceMeta& meta, std::span<const Event> in,
                     std::vector<Event>& out) const = 0;
};

}  // namespace sluice
