#pragma once
// `remap`: renames, removes and adds fields, in that order. Metadata fields (`source`,
// `stream`, `host.name`, `@timestamp`) can be removed or renamed too. The original events are
// left untouched: each output event gets its own field list in the batch (sibling branches of
// the topology still see the unchanged event).
#include <string>
#include <utility>
#include <vector>

#include "sluice/transform.hpp"

namespace sluice {

struct RemapOptions {
  std::vector<std::pair<std::string, std::string>> rename;  // from → to
  std::vector<std::string> remove;
  std::vector<std::pair<std::string, Value>> add;  // Value::text points into `storage`
  std::vector<std::unique_ptr<std::string>> storage;
};

class RemapTransform final : public Transform {
 public:
  explicit RemapTransform(RemapOptions options) : options_(std::move(options)) {}
  void apply(Batch& batch, const SourceMeta& meta, std::span<const Event> in,
             std::vector<Event>& out) const override;

 private:
  RemapOptions options_;
};

// Types a config scalar: numbers, true/false and null become JSON literals unless quoted.
Value typed_scalar(std::string_view text, bool quoted);

}  // namespace sluice
