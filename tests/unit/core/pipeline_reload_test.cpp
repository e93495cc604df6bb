// Live reload of a running pipeline (Pipeline::reload): what did not change keeps running, new
// sinks get what is read after the reload, and a removed sink whose destination is down never
// holds the others back past the deadline.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "base/clock.hpp"
#include "core/pipeline.hpp"
#include "sluice/transform.hpp"
#include "support/batch.hpp"
#include "support/gated_sink.hpp"

namespace sluice {
namespace {

using namespace std::chrono_literals;
constexpr auto kPatience = 20s;  // bounds a broken test; every wait ends on a condition

// Pushes batches of 10 lines "<n>" as the test allows them, until finish().
class MeteredSource final : public Source {
 public:
  void run(SourceContext& ctx) override {
    int n = 0;
    for (int b = 0;; ++b) {
      {
        std::unique_lock lock(mu_);
        changed_.wait(lock, [&] { return b < allowed_ || finishing_; });
        if (b >= allowed_) break;
      }
      Batch* batch = ctx.acquire();
      batch->stream = "stdin";
      std::vector<std::string> lines;
      for (int i = 0; i < 10; ++i) lines.push_back(std::to_string(n++));
      testing::fill_batch(*batch, lines);
      batch->checkpoint = static_cast<uint64_t>(b + 1);
      ctx.push(batch);
    }
    all_acked = ctx.wait_for_acks(monotonic_ns() + 10'000'000'000);
  }
  void allow(int batches) {
    std::lock_guard lock(mu_);
    allowed_ = batches;
    changed_.notify_all();
  }
  void stop() override { finish(); }
  void finish() {
    std::lock_guard lock(mu_);
    finishing_ = true;
    changed_.notify_all();
  }
  std::atomic<bool> all_acked{false};

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  int allowed_ = 0;
  bool finishing_ = false;
};

class RecordingSink final : public Sink {
 public:
  EncodingSpec encoding() const override { return {EncodingSpec::Kind::Raw, false}; }
  void consume(Delivery d) override {
    {
      std::lock_guard lock(mu);
      for (size_t i = 0; i < d.batch().count(); ++i) {
        std::string_view e = d.batch().event(i);
        lines.emplace_back(e.substr(0, e.size() - 1));
      }
    }
    d.done();
  }
  void shutdown() override {}
  size_t count() {
    std::lock_guard lock(mu);
    return lines.size();
  }
  std::mutex mu;
  std::vector<std::string> lines;
};

// A destination that is down: consume() blocks (a sink retrying) until the test lets it go.
class BlockingSink final : public Sink {
 public:
  EncodingSpec encoding() const override { return {EncodingSpec::Kind::Raw, false}; }
  void consume(Delivery d) override {
    std::unique_lock lock(mu_);
    ++entered_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return up_; });
    d.done();
  }
  void shutdown() override {}
  bool wait_until_blocked() {
    std::unique_lock lock(mu_);
    return changed_.wait_for(lock, kPatience, [&] { return entered_ > 0; });
  }
  void come_back() {
    std::lock_guard lock(mu_);
    up_ = true;
    changed_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  int entered_ = 0;
  bool up_ = false;
};

// Passes every event on, counting what this instance saw (into a counter the test owns: a
// replaced transform is destroyed once no worker routes by it).
class CountingTransform final : public Transform {
 public:
  explicit CountingTransform(std::atomic<size_t>& seen) : seen_(seen) {}
  void apply(Batch&, const SourceMeta&, std::span<const Event> in,
             std::vector<Event>& out) const override {
    seen_ += in.size();
    out.insert(out.end(), in.begin(), in.end());
  }

 private:
  std::atomic<size_t>& seen_;
};

SourceSpec source_spec(std::unique_ptr<Source> source) {
  std::string error;
  ParserOptions options;
  options.kind = ParserKind::None;
  return SourceSpec{"s", std::move(source), EventParser::create(options, &error),
                    SourceMeta{"s", "h", false}, "s-config"};
}

SinkSpec sink_spec(const std::string& name, std::unique_ptr<Sink> sink,
                   const std::string& input = "s") {
  SinkSpec spec;
  spec.name = name;
  spec.sink = std::move(sink);
  spec.inputs = {input};
  spec.fingerprint = name + "-config";
  return spec;
}

template <typename Predicate>
bool eventually(Predicate predicate) {
  auto until = std::chrono::steady_clock::now() + kPatience;
  while (!predicate()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// reload() is refused until run() supervises; the test waits for that moment.
Pipeline::ReloadOutcome reload_when_running(
    Pipeline& pipeline, std::function<std::vector<SinkSpec>()> sinks,
    std::function<std::vector<SourceSpec>()> sources,
    std::function<std::vector<TransformSpec>()> transforms = [] {
      return std::vector<TransformSpec>{};
    }) {
  Pipeline::ReloadOutcome outcome;
  EXPECT_TRUE(eventually([&] {
    outcome = pipeline.reload(sources(), transforms(), sinks());
    return outcome.applied || outcome.error.find("not running") == std::string::npos;
  }));
  return outcome;
}

TEST(PipelineReload, AnUnchangedSinkKeepsItsStreamAndANewSinkGetsWhatIsReadAfter) {
  auto* source = new MeteredSource();
  RecordingSink* kept = nullptr;
  std::vector<SourceSpec> sources;
  sources.push_back(source_spec(std::unique_ptr<Source>(source)));
  std::vector<SinkSpec> sinks;
  auto kept_owner = std::make_unique<RecordingSink>();
  kept = kept_owner.get();
  sinks.push_back(sink_spec("kept", std::move(kept_owner)));
  Pipeline pipeline(PipelineOptions{}, std::move(sources), {}, std::move(sinks));
  std::thread runner([&] { EXPECT_EQ(pipeline.run(), 0); });

  source->allow(100);
  ASSERT_TRUE(eventually([&] { return kept->count() == 1000; }));
  RecordingSink* added = nullptr;
  Pipeline::ReloadOutcome outcome = reload_when_running(
      pipeline,
      [&] {
        std::vector<SinkSpec> next;
        next.push_back(sink_spec("kept", std::make_unique<RecordingSink>()));  // same config
        auto added_owner = std::make_unique<RecordingSink>();
        added = added_owner.get();
        next.push_back(sink_spec("added", std::move(added_owner)));
        return next;
      },
      [] {
        std::vector<SourceSpec> next;
        next.push_back(source_spec(std::make_unique<MeteredSource>()));  // same config: unused
        return next;
      });
  ASSERT_TRUE(outcome.applied) << outcome.error;
  EXPECT_EQ(outcome.summary, "started: sink added");
  source->allow(200);
  source->finish();
  runner.join();

  EXPECT_TRUE(source->all_acked);
  ASSERT_EQ(kept->lines.size(), 2000u);  // the same sink, its stream never interrupted
  for (size_t i = 0; i < 2000; ++i) ASSERT_EQ(kept->lines[i], std::to_string(i));
  ASSERT_EQ(added->lines.size(), 1000u);  // exactly what was read after the reload
  for (size_t i = 0; i < 1000; ++i) ASSERT_EQ(added->lines[i], std::to_string(1000 + i));
  EXPECT_EQ(pipeline.snapshot().sinks.size(), 2u);
}

TEST(PipelineReload, ARemovedSinkThatIsDownIsReleasedAtTheDeadlineAsDropped) {
  PipelineOptions options;
  options.shutdown_timeout_ns = 300'000'000;
  auto* source = new MeteredSource();
  std::vector<SourceSpec> sources;
  sources.push_back(source_spec(std::unique_ptr<Source>(source)));
  auto fast_owner = std::make_unique<RecordingSink>();
  RecordingSink* fast = fast_owner.get();
  auto down_owner = std::make_unique<BlockingSink>();
  BlockingSink* down = down_owner.get();
  std::vector<SinkSpec> sinks;
  sinks.push_back(sink_spec("fast", std::move(fast_owner)));
  sinks.push_back(sink_spec("down", std::move(down_owner)));
  Pipeline pipeline(options, std::move(sources), {}, std::move(sinks));
  std::thread runner([&] { EXPECT_EQ(pipeline.run(), 0); });

  source->allow(10);
  ASSERT_TRUE(eventually([&] { return fast->count() == 100; }));
  ASSERT_TRUE(down->wait_until_blocked());
  EXPECT_EQ(pipeline.snapshot().sources[0].acked_events, 0u);  // `down` holds every batch

  Pipeline::ReloadOutcome outcome = reload_when_running(
      pipeline,
      [] {
        std::vector<SinkSpec> next;
        next.push_back(sink_spec("fast", std::make_unique<RecordingSink>()));
        return next;
      },
      [] {
        std::vector<SourceSpec> next;
        next.push_back(source_spec(std::make_unique<MeteredSource>()));
        return next;
      });
  ASSERT_TRUE(outcome.applied) << outcome.error;
  EXPECT_EQ(outcome.summary, "stopped: sink down");
  // Everything `down` held or had queued was acknowledged as dropped: the source moves on.
  EXPECT_EQ(pipeline.reload_status().dropped().at("down"), 100u);
  EXPECT_EQ(pipeline.snapshot().sources[0].acked_events, 100u);
  source->allow(20);
  ASSERT_TRUE(eventually([&] { return pipeline.snapshot().sources[0].acked_events == 200; }));
  EXPECT_EQ(fast->count(), 200u);

  down->come_back();  // its late acknowledgements are ignored, its memory returned
  source->finish();
  runner.join();
  EXPECT_TRUE(source->all_acked);
}

TEST(PipelineReload, AChangedTransformAppliesFromTheNextBatch) {
  auto* source = new MeteredSource();
  std::vector<SourceSpec> sources;
  sources.push_back(source_spec(std::unique_ptr<Source>(source)));
  std::atomic<size_t> first{0};
  std::atomic<size_t> second{0};
  auto counting = [](std::atomic<size_t>& seen, const std::string& fingerprint) {
    return TransformSpec{"tag", std::make_unique<CountingTransform>(seen), {"s"}, fingerprint};
  };
  auto out_owner = std::make_unique<RecordingSink>();
  RecordingSink* out = out_owner.get();
  std::vector<TransformSpec> transforms;
  transforms.push_back(counting(first, "tag-one"));
  std::vector<SinkSpec> sinks;
  sinks.push_back(sink_spec("out", std::move(out_owner), "tag"));
  Pipeline pipeline(PipelineOptions{}, std::move(sources), std::move(transforms), std::move(sinks));
  std::thread runner([&] { EXPECT_EQ(pipeline.run(), 0); });

  source->allow(5);
  ASSERT_TRUE(eventually([&] { return out->count() == 50; }));
  Pipeline::ReloadOutcome outcome = reload_when_running(
      pipeline,
      [] {
        std::vector<SinkSpec> next;
        next.push_back(sink_spec("out", std::make_unique<RecordingSink>(), "tag"));
        return next;
      },
      [] {
        std::vector<SourceSpec> next;
        next.push_back(source_spec(std::make_unique<MeteredSource>()));
        return next;
      },
      [&] {
        std::vector<TransformSpec> next;
        next.push_back(counting(second, "tag-two"));
        return next;
      });
  ASSERT_TRUE(outcome.applied) << outcome.error;
  source->allow(10);
  source->finish();
  runner.join();
  ASSERT_EQ(out->lines.size(), 100u);
  for (size_t i = 0; i < 100; ++i) ASSERT_EQ(out->lines[i], std::to_string(i));
  EXPECT_EQ(first.load(), 50u);   // the batches read before the reload
  EXPECT_EQ(second.load(), 50u);  // and after
}

}  // namespace
}  // namespace sluice
