// Liveness (/health/live): the heartbeats of the pipeline's own threads, and a real pipeline
// whose sink is stuck (still live: that is readiness) or whose worker is stuck (not live).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.hpp"
#include "core/liveness.hpp"
#include "core/pipeline.hpp"
#include "server/liveness_report.hpp"
#include "support/batch.hpp"
#include "support/gated_sink.hpp"

namespace sluice {
namespace {

using testing::GatedSink;

constexpr int64_t kMs = 1'000'000;

TEST(PipelineHeartbeats, LiveWhileTheSupervisorTurnsAndNoWorkerIsStuck) {
  PipelineHeartbeats beats(2, 1000 * kMs);
  EXPECT_TRUE(beats.check(1000 * kMs, 100 * kMs).live);
  beats.supervisor_beat(1050 * kMs);
  LivenessStatus s = beats.check(1140 * kMs, 100 * kMs);
  EXPECT_TRUE(s.live);
  EXPECT_EQ(s.supervisor_age_ns, 90 * kMs);
  s = beats.check(1150 * kMs, 100 * kMs);
  EXPECT_FALSE(s.live);  // the supervisor has not turned for the whole stall limit
  EXPECT_EQ(s.stuck_workers, 0);
}

TEST(PipelineHeartbeats, AWorkerBusyOnOneBatchTooLongIsStuck) {
  PipelineHeartbeats beats(3, 0);
  beats.worker_busy(0, 100 * kMs);
  beats.worker_busy(2, 150 * kMs);
  beats.supervisor_beat(240 * kMs);
  LivenessStatus s = beats.check(299 * kMs, 200 * kMs);
  EXPECT_TRUE(s.live);
  EXPECT_EQ(s.longest_busy_ns, 199 * kMs);
  s = beats.check(300 * kMs, 200 * kMs);
  EXPECT_FALSE(s.live);
  EXPECT_EQ(s.stuck_workers, 1);
  beats.worker_idle(0);
  s = beats.check(300 * kMs, 200 * kMs);
  EXPECT_TRUE(s.live);
  EXPECT_EQ(s.longest_busy_ns, 150 * kMs);
}

TEST(PipelineHeartbeats, StoppingNeedsNoSupervisorButStillWatchesWorkers) {
  PipelineHeartbeats beats(1, 0);
  beats.stopping();
  LivenessStatus s = beats.check(10'000 * kMs, 100 * kMs);
  EXPECT_TRUE(s.live);
  EXPECT_TRUE(s.stopping);
  beats.worker_busy(0, 1000 * kMs);
  EXPECT_FALSE(beats.check(10'000 * kMs, 100 * kMs).live);
}

TEST(LivenessReport, OkStoppingAndStalled) {
  LivenessStatus s;
  s.supervisor_age_ns = 12 * kMs + 5;
  HealthReport r = liveness_report(s);
  EXPECT_TRUE(r.healthy);
  EXPECT_EQ(
      r.body,
      R"({"status":"ok","supervisor_age_ms":12,"longest_busy_worker_ms":0,"stuck_workers":0})");
  s.stopping = true;
  EXPECT_NE(liveness_report(s).body.find(R"("status":"stopping")"), std::string::npos);
  s.live = false;
  s.stuck_workers = 1;
  s.longest_busy_ns = 20'000 * kMs;
  r = liveness_report(s);
  EXPECT_FALSE(r.healthy);
  EXPECT_EQ(
      r.body,
      R"({"status":"stalled","supervisor_age_ms":12,"longest_busy_worker_ms":20000,"stuck_workers":1})");
}

// Pushes batches of one line until stopped, then waits for them to be acknowledged.
class EndlessSource final : public Source {
 public:
  void run(SourceContext& ctx) override {
    while (!stop_) {
      Batch* batch = ctx.acquire();
      batch->stream = "stdin";
      testing::fill_batch(*batch, {"line " + std::to_string(pushed.load())});
      ctx.push(batch);
      ++pushed;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ctx.wait_for_acks(ctx.shutdown_deadline_ns());
  }
  void stop() override { stop_ = true; }
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> pushed{0};
};

// Blocks the worker that runs it while `hold` is set: a worker stuck in a transform.
class BlockingTransform final : public Transform {
 public:
  void apply(Batch&, const SourceMeta&, std::span<const Event> in,
             std::vector<Event>& out) const override {
    while (hold.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    out.assign(in.begin(), in.end());
  }
  mutable std::atomic<bool> hold{false};
};

struct LivePipeline {
  LivePipeline() {
    auto source_owner = std::make_unique<EndlessSource>();
    source = source_owner.get();
    std::string error;
    ParserOptions parser;
    parser.kind = ParserKind::None;
    std::vector<SourceSpec> sources;
    sources.push_back(SourceSpec{"s", std::move(source_owner), EventParser::create(parser, &error),
                                 SourceMeta{"s", "h", false}});
    auto transform_owner = std::make_unique<BlockingTransform>();
    transform = transform_owner.get();
    std::vector<TransformSpec> transforms;
    transforms.push_back(TransformSpec{"t", std::move(transform_owner), {"s"}});
    auto sink_owner = std::make_unique<GatedSink>();
    sink = sink_owner.get();
    std::vector<SinkSpec> sinks;
    SinkSpec spec;
    spec.name = "out";
    spec.sink = std::move(sink_owner);
    spec.inputs = {"t"};
    spec.buffer_max_bytes = 64 << 10;  // fills quickly: backpressure reaches the workers
    sinks.push_back(std::move(spec));
    PipelineOptions options;
    options.workers = 2;
    options.worker_queue_bytes = 256 << 10;
    options.liveness_stall_ns = 200 * kMs;
    options.shutdown_timeout_ns = 5'000 * kMs;
    pipeline = std::make_unique<Pipeline>(options, std::move(sources), std::move(transforms),
                                          std::move(sinks));
    runner = std::thread([this] { exit_code = pipeline->run(); });
  }
  ~LivePipeline() {
    transform->hold = false;
    sink->release();
    source->stop();
    runner.join();
  }
  LivePipeline(const LivePipeline&) = delete;
  LivePipeline& operator=(const LivePipeline&) = delete;

  LivenessStatus liveness() const { return pipeline->liveness(monotonic_ns()); }

  template <typename Predicate>
  bool wait_for(Predicate done) const {
    const int64_t deadline = monotonic_ns() + 10'000 * kMs;
    while (!done()) {
      if (monotonic_ns() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }

  EndlessSource* source = nullptr;
  BlockingTransform* transform = nullptr;
  GatedSink* sink = nullptr;
  std::unique_ptr<Pipeline> pipeline;
  std::thread runner;
  int exit_code = -1;
};

// A destination that does not answer fills the sink queue and blocks the workers and the source
// (backpressure): that is for readiness; the pipeline stays live.
TEST(PipelineLiveness, AStuckSinkIsNotAStall) {
  LivePipeline p;
  // The source stops pushing once backpressure reaches it.
  ASSERT_TRUE(p.wait_for([&] {
    const uint64_t before = p.source->pushed.load();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    return p.source->pushed.load() == before && before > 0;
  }));
  // Checked over several times the stall limit.
  const int64_t until = monotonic_ns() + 1'000 * kMs;
  while (monotonic_ns() < until) {
    const LivenessStatus s = p.liveness();
    ASSERT_TRUE(s.live) << "supervisor " << s.supervisor_age_ns << " busy " << s.longest_busy_ns;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

TEST(PipelineLiveness, AWorkerStuckOnABatchIsNotLiveUntilItMovesAgain) {
  LivePipeline p;
  p.sink->release();
  ASSERT_TRUE(p.wait_for([&] { return p.source->pushed.load() > 10; }));
  EXPECT_TRUE(p.liveness().live);
  p.transform->hold = true;
  ASSERT_TRUE(p.wait_for([&] { return !p.liveness().live; }));
  const LivenessStatus s = p.liveness();
  EXPECT_GE(s.stuck_workers, 1);
  EXPECT_GE(s.longest_busy_ns, 200 * kMs);
  EXPECT_FALSE(s.stopping);
  p.transform->hold = false;
  ASSERT_TRUE(p.wait_for([&] { return p.liveness().live; }));
}

}  // namespace
}  // namespace sluice
