#include "core/pipeline_plan.hpp"

#include <algorithm>

#include "core/pipeline.hpp"

namespace sluice {

namespace {

bool uses(const std::vector<std::string>& inputs, const std::string& name) {
  return std::find(inputs.begin(), inputs.end(), name) != inputs.end();
}

class PlanBuilder {
 public:
  explicit PlanBuilder(const TopologyWiring& wiring) : wiring_(wiring) {}

  SourcePlan source(const std::string& name) {
    SourcePlan plan;
    plan.root = node(name, plan.deliveries);
    if (plan.deliveries == 0) errors.push_back("source `" + name + "` reaches no sink");
    return plan;
  }

  std::vector<std::string> errors;

 private:
  // The subtree of what reads `name`'s events: the transforms that list it as input, in their
  // declared order, then its outputs to the sinks that list it.
  PlanNode node(const std::string& name, int& deliveries) {
    PlanNode node;
    for (size_t i = 0; i < wiring_.transforms.size(); ++i) {
      const TopologyWiring::Transform& transform = wiring_.transforms[i];
      if (!uses(transform.inputs, name)) continue;
      if (std::find(path_.begin(), path_.end(), i) != path_.end()) {
        errors.push_back("transforms form a cycle through `" + transform.name + "`");
        continue;
      }
      path_.push_back(i);
      PlanNode child = this->node(transform.name, deliveries);
      path_.pop_back();
      child.transform = i;
      node.children.push_back(std::move(child));
    }
    for (size_t i = 0; i < wiring_.sinks.size(); ++i) {
      const TopologyWiring::Sink& sink = wiring_.sinks[i];
      if (!uses(sink.inputs, name)) continue;
      ++deliveries;
      add_output(node.outputs, sink, i);
    }
    return node;
  }

  // Sinks that want the same plain encoding share one encoded batch; templates and ids are
  // per sink.
  static void add_output(std::vector<PlanOutput>& outputs, const TopologyWiring::Sink& sink,
                         size_t index) {
    auto shared = std::find_if(outputs.begin(), outputs.end(), [&](const PlanOutput& o) {
      return !o.templated && !sink.templated && !o.ids && !sink.ids && o.encoding == sink.encoding;
    });
    if (shared != outputs.end()) {
      shared->sinks.push_back(index);
    } else {
      outputs.push_back(PlanOutput{sink.encoding, sink.templated, sink.ids, {index}});
    }
  }

  const TopologyWiring& wiring_;
  std::vector<size_t> path_;  // transforms on the way from the source to the current node
};

void check_inputs(const TopologyWiring& wiring, std::vector<std::string>& errors) {
  auto known = [&](const std::string& input) {
    return uses(wiring.sources, input) ||
           std::any_of(wiring.transforms.begin(), wiring.transforms.end(),
                       [&](const TopologyWiring::Transform& t) { return t.name == input; });
  };
  auto check = [&](const std::string& component, const std::vector<std::string>& inputs) {
    for (const std::string& input : inputs) {
      if (!known(input)) errors.push_back("`" + component + "` has unknown input `" + input + "`");
    }
  };
  for (const auto& transform : wiring.transforms) check(transform.name, transform.inputs);
  for (const auto& sink : wiring.sinks) check(sink.name, sink.inputs);
}

}  // namespace

TopologyWiring wiring_of(const std::vector<SourceSpec>& sources,
                         const std::vector<TransformSpec>& transforms,
                         const std::vector<SinkSpec>& sinks) {
  TopologyWiring wiring;
  for (const SourceSpec& source : sources) wiring.sources.push_back(source.name);
  for (const TransformSpec& transform : transforms) {
    wiring.transforms.push_back({transform.name, transform.inputs});
  }
  for (const SinkSpec& sink : sinks) {
    wiring.sinks.push_back({sink.name, sink.inputs, sink.sink->encoding(),
                            !sink.sink->templates().empty(), sink.sink->wants_event_ids()});
  }
  return wiring;
}

PipelinePlan build_pipeline_plan(const TopologyWiring& wiring) {
  PipelinePlan plan;
  check_inputs(wiring, plan.errors);
  PlanBuilder builder(wiring);
  for (const std::string& source : wiring.sources) plan.sources.push_back(builder.source(source));
  // A cycle is met once from every source that reaches it: say it once.
  for (const std::string& error : builder.errors) {
    if (!uses(plan.errors, error)) plan.errors.push_back(error);
  }
  return plan;
}

}  // namespace sluice
