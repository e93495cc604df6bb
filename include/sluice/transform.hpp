#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "sluice/batch.hpp"

namespace sluice {

struct SourceMeta;

// What a transform counts itself, beyond the events in and out that the workers count: read
// when /metrics is scraped.
struct TransformCounters {
  // Events the transform dropped on purpose, by reason: series of
  // sluice_component_dropped_events_total{reason="..."}.
  std::vector<std::pair<std::string, uint64_t>> dropped;
  // Families of its own, each with the `component` label and at most one more.
  struct Family {
    std::string name;
    std::string type;  // "counter" or "gauge"
    std::string help;
    std::string label;  // empty: the samples carry `component` only
    std::vector<std::pair<std::string, uint64_t>> samples;  // label value → value
  };
  std::vector<Family> families;
};

// A transform maps the events of a batch that reach it to the events it passes on. It may add
// fields to the batch (remap) but never changes the events it was given, because sibling
// branches of the topology see the same events. The workers call apply() concurrently, one
// batch each: a transform that keeps state across batches (throttle) guards it itself.
class Transform {
 public:
  virtual ~Transform() = default;
  virtual void apply(Batch& batch, const SourceMeta& meta, std::span<const Event> in,
                     std::vector<Event>& out) const = 0;
  // Called from any thread while the workers apply the transform.
  virtual void read_counters(TransformCounters& counters) const { (void)counters; }
};

}  // namespace sluice
