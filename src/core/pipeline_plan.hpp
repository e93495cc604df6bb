#pragma once
// The routing plan: for each source, the tree of transforms its events flow through and the
// encoded outputs handed to sinks at each node. Built from the topology's wiring (names, inputs,
// what each sink wants encoded) without starting anything, so it can be checked on its own, and
// compared with the running one (a live reload diffs two plans), the way Vector separates
// building a topology (topology/builder.rs) from running it (running.rs).
#include <cstddef>
#include <string>
#include <vector>

#include "sluice/encoding.hpp"

namespace sluice {

struct SourceSpec;
struct TransformSpec;
struct SinkSpec;

// What the plan is built from: the components' names and wiring, and per sink the encoding it
// wants. Indices below refer to these vectors.
struct TopologyWiring {
  struct Transform {
    std::string name;
    std::vector<std::string> inputs;
  };
  struct Sink {
    std::string name;
    std::vector<std::string> inputs;
    EncodingSpec encoding;
    bool templated = false;  // renders templates per event (its own output, never shared)
    bool ids = false;        // wants event ids
  };
  std::vector<std::string> sources;
  std::vector<Transform> transforms;
  std::vector<Sink> sinks;
};

// The wiring of built components (asks each sink what it wants encoded; starts nothing).
TopologyWiring wiring_of(const std::vector<SourceSpec>& sources,
                         const std::vector<TransformSpec>& transforms,
                         const std::vector<SinkSpec>& sinks);

// One encoding of a node's events, shared by the sinks that want the same bytes.
struct PlanOutput {
  EncodingSpec encoding;
  bool templated = false;  // then `sinks` has exactly one sink, whose templates are rendered
  bool ids = false;
  std::vector<size_t> sinks;
  bool operator==(const PlanOutput&) const = default;
};

struct PlanNode {
  static constexpr size_t kSource = static_cast<size_t>(-1);
  size_t transform = kSource;  // the transform applied on the way into this node
  std::vector<PlanOutput> outputs;
  std::vector<PlanNode> children;
  bool operator==(const PlanNode&) const = default;
};

struct SourcePlan {
  PlanNode root;
  int deliveries = 0;  // sinks each of the source's batches reaches (acks to wait for)
  bool operator==(const SourcePlan&) const = default;
};

struct PipelinePlan {
  std::vector<SourcePlan> sources;  // in the order of TopologyWiring::sources
  // Wiring the plan cannot run: an input naming no source or transform, transforms in a cycle,
  // a source no sink receives. (Config validation reports these with file and line first.)
  std::vector<std::string> errors;
  [[nodiscard]] bool ok() const { return errors.empty(); }
  bool operator==(const PipelinePlan&) const = default;
};

PipelinePlan build_pipeline_plan(const TopologyWiring& wiring);

}  // namespace sluice
