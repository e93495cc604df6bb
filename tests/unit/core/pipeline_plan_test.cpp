#include "core/pipeline_plan.hpp"

#include <gtest/gtest.h>

#include "core/pipeline.hpp"

namespace sluice {
namespace {

constexpr EncodingSpec kJson{EncodingSpec::Kind::Json, false};
constexpr EncodingSpec kRaw{EncodingSpec::Kind::Raw, false};

TopologyWiring::Sink sink(std::string name, std::vector<std::string> inputs,
                          EncodingSpec encoding = kJson, bool templated = false, bool ids = false) {
  return {std::move(name), std::move(inputs), encoding, templated, ids};
}

TEST(PipelinePlan, SinksWantingTheSameEncodingShareOneOutput) {
  TopologyWiring wiring;
  wiring.sources = {"app"};
  wiring.sinks = {sink("a", {"app"}), sink("b", {"app"}, kRaw), sink("c", {"app"})};
  PipelinePlan plan = build_pipeline_plan(wiring);
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan.sources.size(), 1u);
  const PlanNode& root = plan.sources[0].root;
  EXPECT_EQ(root.transform, PlanNode::kSource);
  ASSERT_EQ(root.outputs.size(), 2u);
  EXPECT_EQ(root.outputs[0].encoding, kJson);
  EXPECT_EQ(root.outputs[0].sinks, (std::vector<size_t>{0, 2}));
  EXPECT_EQ(root.outputs[1].encoding, kRaw);
  EXPECT_EQ(root.outputs[1].sinks, (std::vector<size_t>{1}));
  EXPECT_EQ(plan.sources[0].deliveries, 3);
}

TEST(PipelinePlan, TemplatedSinksAndSinksWantingIdsGetTheirOwnOutput) {
  TopologyWiring wiring;
  wiring.sources = {"app"};
  wiring.sinks = {sink("t1", {"app"}, kJson, true), sink("t2", {"app"}, kJson, true),
                  sink("ids", {"app"}, kJson, false, true), sink("plain", {"app"})};
  PipelinePlan plan = build_pipeline_plan(wiring);
  ASSERT_TRUE(plan.ok());
  const auto& outputs = plan.sources[0].root.outputs;
  ASSERT_EQ(outputs.size(), 4u);
  for (size_t i = 0; i < outputs.size(); ++i) {
    EXPECT_EQ(outputs[i].sinks, (std::vector<size_t>{i})) << i;
  }
  EXPECT_TRUE(outputs[0].templated);
  EXPECT_TRUE(outputs[2].ids);
  EXPECT_FALSE(outputs[3].templated || outputs[3].ids);
}

TEST(PipelinePlan, TransformsBranchAndChainInDeclaredOrder) {
  // app → parse → (errors → err_sink), (all_sink); app → raw_sink; other → all_sink.
  TopologyWiring wiring;
  wiring.sources = {"app", "other"};
  wiring.transforms = {{"parse", {"app"}}, {"errors", {"parse"}}};
  wiring.sinks = {sink("raw_sink", {"app"}, kRaw), sink("err_sink", {"errors"}),
                  sink("all_sink", {"parse", "other"})};
  PipelinePlan plan = build_pipeline_plan(wiring);
  ASSERT_TRUE(plan.ok()) << plan.errors.front();

  const SourcePlan& app = plan.sources[0];
  EXPECT_EQ(app.deliveries, 3);
  ASSERT_EQ(app.root.outputs.size(), 1u);
  EXPECT_EQ(app.root.outputs[0].sinks, (std::vector<size_t>{0}));
  ASSERT_EQ(app.root.children.size(), 1u);
  const PlanNode& parse = app.root.children[0];
  EXPECT_EQ(parse.transform, 0u);
  ASSERT_EQ(parse.outputs.size(), 1u);
  EXPECT_EQ(parse.outputs[0].sinks, (std::vector<size_t>{2}));
  ASSERT_EQ(parse.children.size(), 1u);
  EXPECT_EQ(parse.children[0].transform, 1u);
  EXPECT_EQ(parse.children[0].outputs[0].sinks, (std::vector<size_t>{1}));

  const SourcePlan& other = plan.sources[1];
  EXPECT_EQ(other.deliveries, 1);
  EXPECT_TRUE(other.root.children.empty());
  EXPECT_EQ(other.root.outputs[0].sinks, (std::vector<size_t>{2}));
}

TEST(PipelinePlan, PlansOfTheSameWiringAreEqualAndARewiredSinkMakesThemDiffer) {
  TopologyWiring wiring;
  wiring.sources = {"app", "other"};
  wiring.transforms = {{"parse", {"app"}}};
  wiring.sinks = {sink("out", {"parse"}), sink("copy", {"other"})};
  PipelinePlan before = build_pipeline_plan(wiring);
  EXPECT_EQ(before, build_pipeline_plan(wiring));

  wiring.sinks[1].inputs = {"parse", "other"};
  PipelinePlan after = build_pipeline_plan(wiring);
  ASSERT_TRUE(after.ok());
  EXPECT_NE(before, after);
  EXPECT_EQ(before.sources[1], after.sources[1]);  // `other` flows as before
  EXPECT_NE(before.sources[0], after.sources[0]);
  EXPECT_EQ(after.sources[0].deliveries, 2);
}

TEST(PipelinePlan, AnInputNamingNothingIsReported) {
  TopologyWiring wiring;
  wiring.sources = {"app"};
  wiring.transforms = {{"parse", {"app", "missing_source"}}};
  wiring.sinks = {sink("out", {"parse", "typo"})};
  PipelinePlan plan = build_pipeline_plan(wiring);
  EXPECT_EQ(plan.errors, (std::vector<std::string>{"`parse` has unknown input `missing_source`",
                                                   "`out` has unknown input `typo`"}));
}

TEST(PipelinePlan, TransformsInACycleAreReportedOnceAndTheBuildEnds) {
  TopologyWiring wiring;
  wiring.sources = {"app", "other"};
  wiring.transforms = {{"a", {"app", "other", "b"}}, {"b", {"a"}}};
  wiring.sinks = {sink("out", {"b"})};
  PipelinePlan plan = build_pipeline_plan(wiring);
  EXPECT_EQ(plan.errors, (std::vector<std::string>{"transforms form a cycle through `a`"}));
}

TEST(PipelinePlan, ASourceNoSinkReceivesIsReported) {
  TopologyWiring wiring;
  wiring.sources = {"app", "forgotten"};
  wiring.transforms = {{"drop_all", {"forgotten"}}};
  wiring.sinks = {sink("out", {"app"})};
  PipelinePlan plan = build_pipeline_plan(wiring);
  EXPECT_EQ(plan.errors, (std::vector<std::string>{"source `forgotten` reaches no sink"}));
  EXPECT_EQ(plan.sources[0].deliveries, 1);
}

// A source that must not run: the pipeline refuses its topology first.
class NeverRunSource final : public Source {
 public:
  bool start(std::string* error) override {
    ADD_FAILURE() << "started";
    return true;
  }
  void run(SourceContext&) override { ADD_FAILURE() << "ran"; }
  void stop() override {}
};

class NullSink final : public Sink {
 public:
  [[nodiscard]] EncodingSpec encoding() const override { return kJson; }
  void consume(Delivery d) override { d.done(); }
  void shutdown() override {}
};

TEST(PipelinePlan, APipelineWhosePlanCannotRunFailsWithoutStartingAnything) {
  std::vector<SourceSpec> sources;
  sources.push_back(SourceSpec{"app", std::make_unique<NeverRunSource>(), nullptr, {}});
  std::vector<SinkSpec> sinks(1);
  sinks[0].name = "out";
  sinks[0].sink = std::make_unique<NullSink>();
  sinks[0].inputs = {"ap"};
  Pipeline pipeline(PipelineOptions{}, std::move(sources), {}, std::move(sinks));
  EXPECT_EQ(pipeline.run(), 1);
}

}  // namespace
}  // namespace sluice
