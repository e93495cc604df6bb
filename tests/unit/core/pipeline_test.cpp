#include "core/pipeline.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "base/clock.hpp"
#include "support/batch.hpp"
#include "support/gated_sink.hpp"
#include "support/temp_dir.hpp"
#include "transforms/condition.hpp"
#include "transforms/filter.hpp"
#include "transforms/remap.hpp"

namespace sluice {
namespace {

using testing::GatedSink;

// Pushes `batches` batches of `per_batch` lines "<source> <n>" through the real SourceContext.
class CountingSource final : public Source {
 public:
  CountingSource(std::string name, int batches, int per_batch)
      : name_(std::move(name)), batches_(batches), per_batch_(per_batch) {}
  void run(SourceContext& ctx) override {
    int n = 0;
    for (int b = 0; b < batches_ && !stop_; ++b) {
      Batch* batch = ctx.acquire();
      batch->stream = "stdin";
      std::vector<std::string> lines;
      for (int i = 0; i < per_batch_; ++i) lines.push_back(name_ + " " + std::to_string(n++));
      testing::fill_batch(*batch, lines);
      for (size_t i = 0; i < batch->events.size(); ++i) {
        batch->events[i].offset = static_cast<uint64_t>(n) - per_batch_ + i;
      }
      batch->checkpoint = static_cast<uint64_t>(b + 1);
      ctx.push(batch);
    }
    all_acked = ctx.wait_for_acks(monotonic_ns() + 10'000'000'000);
    final_checkpoint = ctx.acknowledged_checkpoint();
  }
  bool all_acked = false;
  uint64_t final_checkpoint = 0;
  void stop() override { stop_ = true; }

 private:
  std::string name_;
  int batches_;
  int per_batch_;
  std::atomic<bool> stop_{false};
};

// Records every event it is given; optionally slow, to exercise backpressure.
class RecordingSink final : public Sink {
 public:
  explicit RecordingSink(EncodingSpec spec, int delay_us = 0, bool wants_ids = false)
      : spec_(spec), delay_us_(delay_us), wants_ids_(wants_ids) {}
  EncodingSpec encoding() const override { return spec_; }
  bool wants_event_ids() const override { return wants_ids_; }
  void consume(Delivery d) override {
    if (delay_us_) std::this_thread::sleep_for(std::chrono::microseconds(delay_us_));
    {
      std::lock_guard lock(mu);
      ids.insert(ids.end(), d.batch().ids.begin(), d.batch().ids.end());
      for (size_t i = 0; i < d.batch().count(); ++i) {
        std::string_view e = d.batch().event(i);
        lines.emplace_back(e.substr(0, e.size() - 1));
      }
    }
    d.done();
  }
  void shutdown() override { shut_down = true; }

  std::mutex mu;
  std::vector<std::string> lines;
  std::vector<EventId> ids;
  bool shut_down = false;

 private:
  EncodingSpec spec_;
  int delay_us_;
  bool wants_ids_;
};

SourceSpec source(const std::string& name, int batches, int per_batch) {
  std::string error;
  ParserOptions options;
  options.kind = ParserKind::None;
  return SourceSpec{name, std::make_unique<CountingSource>(name, batches, per_batch),
                    EventParser::create(options, &error), SourceMeta{name, "h", false}};
}

SinkSpec sink_spec(const std::string& name, std::unique_ptr<Sink> sink,
                   std::vector<std::string> inputs) {
  SinkSpec spec;
  spec.name = name;
  spec.sink = std::move(sink);
  spec.inputs = std::move(inputs);
  return spec;
}

SinkSpec sink(const std::string& name, RecordingSink*& out, std::vector<std::string> inputs,
              WhenFull when_full = WhenFull::Block, int64_t buffer = 8 << 20, int delay_us = 0,
              bool wants_ids = false) {
  auto s = std::make_unique<RecordingSink>(EncodingSpec{EncodingSpec::Kind::Raw, false}, delay_us,
                                           wants_ids);
  out = s.get();
  SinkSpec spec = sink_spec(name, std::move(s), std::move(inputs));
  spec.buffer_max_bytes = buffer;
  spec.when_full = when_full;
  return spec;
}

uint64_t metric(const Pipeline& p, const std::string& name,
                std::atomic<uint64_t> ComponentMetrics::*m) {
  for (const auto& c : p.metrics()) {
    if (c->name == name) return (c->*m).load();
  }
  return ~0ull;
}

TEST(Pipeline, EverySinkSeesEachSourceInOrderWithManyWorkers) {
  RecordingSink* a = nullptr;
  RecordingSink* b = nullptr;
  std::vector<SourceSpec> sources;
  sources.push_back(source("s1", 300, 50));
  sources.push_back(source("s2", 200, 70));
  std::vector<SinkSpec> sinks;
  sinks.push_back(sink("a", a, {"s1", "s2"}));
  sinks.push_back(sink("b", b, {"s1"}, WhenFull::Block, 4096));  // tiny buffer: backpressure
  PipelineOptions options;
  options.workers = 4;
  Pipeline pipeline(options, std::move(sources), {}, std::move(sinks));
  EXPECT_EQ(pipeline.run(), 0);

  auto check_order = [](const std::vector<std::string>& lines, const std::string& src, int n) {
    int next = 0;
    for (const auto& l : lines) {
      if (l.rfind(src + " ", 0) != 0) continue;
      ASSERT_EQ(l, src + " " + std::to_string(next)) << "out of order";
      ++next;
    }
    EXPECT_EQ(next, n);
  };
  check_order(a->lines, "s1", 15000);
  check_order(a->lines, "s2", 14000);
  EXPECT_EQ(a->lines.size(), 29000u);
  check_order(b->lines, "s1", 15000);
  EXPECT_EQ(b->lines.size(), 15000u);
  EXPECT_TRUE(a->shut_down);
  EXPECT_EQ(metric(pipeline, "b", &ComponentMetrics::dropped), 0u);
}

TEST(Pipeline, SinksThatWantEventIdsGetOneDistinctIdPerEvent) {
  RecordingSink* with_ids = nullptr;
  RecordingSink* without = nullptr;
  std::vector<SourceSpec> sources;
  sources.push_back(source("s1", 20, 50));
  sources.push_back(source("s2", 20, 50));
  std::vector<SinkSpec> sinks;
  sinks.push_back(sink("ids", with_ids, {"s1", "s2"}, WhenFull::Block, 8 << 20, 0, true));
  sinks.push_back(sink("plain", without, {"s1", "s2"}));
  PipelineOptions options;
  options.workers = 2;
  Pipeline pipeline(options, std::move(sources), {}, std::move(sinks));
  EXPECT_EQ(pipeline.run(), 0);
  ASSERT_EQ(with_ids->lines.size(), 2000u);
  ASSERT_EQ(with_ids->ids.size(), 2000u);
  EXPECT_TRUE(without->ids.empty());  // not computed for a sink that does not ask
  std::set<std::pair<uint64_t, uint64_t>> distinct;
  for (EventId id : with_ids->ids) distinct.emplace(id.hi, id.lo);
  EXPECT_EQ(distinct.size(), 2000u);  // same offsets in s1 and s2: the source name differs
}

TEST(Pipeline, SourcesSeeTheirBatchesAcknowledgedInOrder) {
  RecordingSink* a = nullptr;
  RecordingSink* slow = nullptr;
  std::vector<SourceSpec> sources;
  sources.push_back(source("s", 40, 10));
  auto* counting = static_cast<CountingSource*>(sources[0].source.get());
  std::vector<SinkSpec> sinks;
  sinks.push_back(sink("a", a, {"s"}));
  sinks.push_back(sink("slow", slow, {"s"}, WhenFull::Block, 1024, 500));
  PipelineOptions options;
  options.workers = 3;
  Pipeline pipeline(options, std::move(sources), {}, std::move(sinks));
  EXPECT_EQ(pipeline.run(), 0);
  // The source waited until both sinks, the slow one included, acknowledged every batch.
  EXPECT_TRUE(counting->all_acked);
  EXPECT_EQ(counting->final_checkpoint, 40u);
  EXPECT_EQ(slow->lines.size(), 400u);
}

TEST(Pipeline, DropNewestCountsWhatASlowSinkMisses) {
  RecordingSink* slow = nullptr;
  RecordingSink* fast = nullptr;
  std::vector<SourceSpec> sources;
  sources.push_back(source("s", 200, 20));
  std::vector<SinkSpec> sinks;
  sinks.push_back(sink("slow", slow, {"s"}, WhenFull::DropNewest, 1, 2000));
  sinks.push_back(sink("fast", fast, {"s"}));
  PipelineOptions options;
  options.workers = 2;
  Pipeline pipeline(options, std::move(sources), {}, std::move(sinks));
  EXPECT_EQ(pipeline.run(), 0);
  uint64_t dropped = metric(pipeline, "slow", &ComponentMetrics::dropped);
  EXPECT_GT(dropped, 0u);
  EXPECT_EQ(slow->lines.size() + dropped, 4000u);  // every event either written or counted
  EXPECT_EQ(fast->lines.size(), 4000u);            // a slow sink does not hold back the others
}

TEST(Pipeline, TransformsBranchWithoutAffectingSiblings) {
  RecordingSink* all = nullptr;
  RecordingSink* even = nullptr;
  std::vector<SourceSpec> sources;
  sources.push_back(source("s", 10, 10));
  std::string error;
  std::vector<TransformSpec> transforms;
  transforms.push_back(TransformSpec{
      "evens",
      std::make_unique<FilterTransform>(Condition::compile("message =~ '[02468]$'", &error)),
      {"s"}});
  RemapOptions remap;
  remap.add.emplace_back("tag", Value{ValueKind::String, true, "x"});
  transforms.push_back(
      TransformSpec{"tagged", std::make_unique<RemapTransform>(std::move(remap)), {"evens"}});
  std::vector<SinkSpec> sinks;
  sinks.push_back(sink("all", all, {"s"}));
  sinks.push_back(sink("even", even, {"tagged"}));
  Pipeline pipeline(PipelineOptions{}, std::move(sources), std::move(transforms), std::move(sinks));
  EXPECT_EQ(pipeline.run(), 0);
  EXPECT_EQ(all->lines.size(), 100u);
  EXPECT_EQ(even->lines.size(), 50u);
  EXPECT_EQ(metric(pipeline, "evens", &ComponentMetrics::events_in), 100u);
  EXPECT_EQ(metric(pipeline, "evens", &ComponentMetrics::events_out), 50u);
}

// Pushes two batches that each hold 2 MiB of capacity (and a little more for the event), as
// reused batches of short parsed lines do (their fields grow with the parse and stay).
class FatBatchSource final : public Source {
 public:
  void run(SourceContext& ctx) override {
    for (int b = 0; b < 2; ++b) {
      Batch* batch = ctx.acquire();
      batch->stream = "stdin";
      batch->bytes.reserve(2 << 20);
      testing::fill_batch(*batch, {"fat " + std::to_string(b)});
      ctx.push(batch);
    }
    ctx.wait_for_acks(monotonic_ns() + 30'000'000'000);
  }
  void stop() override {}
};

// Holds each batch until two are inside it at once (or 10 s have passed, in a broken run):
// whether two workers ever run together.
class MeetingTransform final : public Transform {
 public:
  void apply(Batch&, const SourceMeta&, std::span<const Event> in,
             std::vector<Event>& out) const override {
    std::unique_lock lock(mu_);
    peak_ = std::max(peak_, ++inside_);
    cv_.notify_all();
    if (cv_.wait_for(lock, std::chrono::seconds(10), [this] { return peak_ >= 2; })) met = true;
    --inside_;
    out.assign(in.begin(), in.end());
  }
  mutable bool met = false;

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  mutable int inside_ = 0;
  mutable int peak_ = 0;  // the most batches inside at once
};

TEST(Pipeline, TwoWorkersRunTogetherOnBatchesLargerThanHalfOfFourMiB) {
  // The work queue's bound counts the batches being processed: a bound that two such batches
  // do not fit in makes the workers take turns.
  RecordingSink* out = nullptr;
  std::string error;
  ParserOptions parser;
  parser.kind = ParserKind::None;
  std::vector<SourceSpec> sources;
  sources.push_back(SourceSpec{"s", std::make_unique<FatBatchSource>(),
                               EventParser::create(parser, &error), SourceMeta{"s", "h", false}});
  auto meeting_owner = std::make_unique<MeetingTransform>();
  MeetingTransform* meeting = meeting_owner.get();
  std::vector<TransformSpec> transforms;
  transforms.push_back(TransformSpec{"meet", std::move(meeting_owner), {"s"}});
  std::vector<SinkSpec> sinks;
  sinks.push_back(sink("out", out, {"meet"}));
  PipelineOptions options;
  options.workers = 2;
  Pipeline pipeline(options, std::move(sources), std::move(transforms), std::move(sinks));
  EXPECT_EQ(pipeline.run(), 0);
  EXPECT_TRUE(meeting->met) << "the second batch waited for the first to finish";
  EXPECT_EQ(out->lines, (std::vector<std::string>{"fat 0", "fat 1"}));
}

TEST(Pipeline, AStuckSinkWithAMemoryBufferHoldsTheSourceButNotTheOtherSinks) {
  RecordingSink* fast = nullptr;
  auto gated_owner = std::make_unique<GatedSink>();
  GatedSink* gated = gated_owner.get();
  std::vector<SourceSpec> sources;
  sources.push_back(source("s", 40, 10));
  std::vector<SinkSpec> sinks;
  sinks.push_back(sink("fast", fast, {"s"}));
  sinks.push_back(sink_spec("stuck", std::move(gated_owner), {"s"}));
  Pipeline pipeline(PipelineOptions{}, std::move(sources), {}, std::move(sinks));
  std::thread runner([&] { EXPECT_EQ(pipeline.run(), 0); });
  auto fast_lines = [&] {
    std::lock_guard lock(fast->mu);
    return fast->lines.size();
  };
  for (int i = 0; i < 5000 && fast_lines() < 400; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(fast_lines(), 400u);  // within the stuck sink's buffer, the others go on
  PipelineSnapshot snap = pipeline.snapshot();
  EXPECT_EQ(snap.sources[0].pushed_events, 400u);
  EXPECT_EQ(snap.sources[0].acked_events, 0u);  // but nothing is acknowledged to the source
  gated->release();
  runner.join();
  EXPECT_EQ(pipeline.snapshot().sources[0].acked_events, 400u);
}

TEST(Pipeline, ADiskBufferedStuckSinkHoldsBackNothingAndGetsEverythingAfterARestart) {
  const testing::TempDir tmp("sluice-pipeline-disk");
  DiskBufferOptions disk;
  disk.dir = tmp.at("buffers/stuck");
  disk.fsync_interval_ns = 20'000'000;
  PipelineOptions options;
  options.shutdown_timeout_ns = 1'000'000'000;
  {
    RecordingSink* fast = nullptr;
    auto gated_owner = std::make_unique<GatedSink>();
    std::vector<SourceSpec> sources;
    sources.push_back(source("s", 40, 10));
    auto* counting = static_cast<CountingSource*>(sources[0].source.get());
    std::vector<SinkSpec> sinks;
    sinks.push_back(sink("fast", fast, {"s"}));
    SinkSpec stuck = sink_spec("stuck", std::move(gated_owner), {"s"});
    stuck.buffer_max_bytes = 1;  // read back one batch at a time
    stuck.disk = disk;
    sinks.push_back(std::move(stuck));
    Pipeline pipeline(options, std::move(sources), {}, std::move(sinks));
    EXPECT_EQ(pipeline.run(), 0);
    // The source was acknowledged as soon as the batches were on disk.
    EXPECT_TRUE(counting->all_acked);
    EXPECT_EQ(counting->final_checkpoint, 40u);
    EXPECT_EQ(fast->lines.size(), 400u);
  }
  // The next start delivers the whole backlog, in order.
  RecordingSink* replay = nullptr;
  std::vector<SourceSpec> sources;
  sources.push_back(source("s", 0, 10));
  std::vector<SinkSpec> sinks;
  sinks.push_back(sink("stuck", replay, {"s"}));
  sinks.back().disk = disk;
  Pipeline pipeline(options, std::move(sources), {}, std::move(sinks));
  EXPECT_EQ(pipeline.run(), 0);
  ASSERT_EQ(replay->lines.size(), 400u);
  for (size_t i = 0; i < 400; ++i) EXPECT_EQ(replay->lines[i], "s " + std::to_string(i));
}

TEST(Pipeline, ADiskBufferThatCannotBeOpenedFailsTheRun) {
  RecordingSink* out = nullptr;
  std::vector<SourceSpec> sources;
  sources.push_back(source("s", 1, 1));
  std::vector<SinkSpec> sinks;
  sinks.push_back(sink("out", out, {"s"}));
  DiskBufferOptions disk;
  disk.dir = "/proc/sluice-cannot-create-this";
  sinks.back().disk = disk;
  Pipeline pipeline(PipelineOptions{}, std::move(sources), {}, std::move(sinks));
  EXPECT_EQ(pipeline.run(), 1);
}
}  // namespace
}  // namespace sluice
