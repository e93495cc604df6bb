// Transforms on a parsed batch, per event: `filter` (a condition on two fields, or on a member
// of a parsed object), `remap` (a rename, a removal and an addition) and `throttle` (a key
// rendered from two fields, a bucket looked up and taken). The same batch of
// ~200-byte JSON lines (bench/corpus_lines.hpp, 256 KiB) is applied again and again, as the
// workers apply a transform to each batch; nothing allocates after the first iteration.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "core/event_view.hpp"
#include "corpus_lines.hpp"
#include "parse/event_parser.hpp"
#include "parse/framer.hpp"
#include "sluice/source_meta.hpp"
#include "transforms/condition.hpp"
#include "transforms/filter.hpp"
#include "transforms/remap.hpp"
#include "transforms/throttle.hpp"

namespace sluice {
namespace {

constexpr size_t kBatchBytes = 256 * 1024;

// A parsed batch of JSON lines (their `logger` and `level` fields make 32 throttle keys).
void parsed_batch(Batch& batch) {
  bench::Rng rng(42);
  std::string text;
  char line[bench::kMaxLineBytes];
  for (uint64_t i = 0; text.size() < kBatchBytes; ++i) {
    text.append(line, bench::make_json_line(rng, i, line));
    text.push_back('\n');
  }
  batch.reset();
  batch.stream = "stdin";
  frame_text(batch, text);
  std::string error;
  ParserOptions options;
  options.kind = ParserKind::Json;
  auto parser = EventParser::create(std::move(options), &error);
  if (!parser) std::abort();
  parser->parse(batch, 1);
}

// `grouped_by`: the batch's events are reordered so that those with the same rendering of
// this template come together.
void run_transform(benchmark::State& state, const Transform& transform,
                   const Template* grouped_by = nullptr) {
  Batch batch;
  parsed_batch(batch);
  const SourceMeta meta{"app", "bench-host.example.com", false};
  if (grouped_by != nullptr) {
    std::vector<std::pair<std::string, Event>> keyed;
    for (const Event& e : batch.events) {
      ByteBuffer key;
      grouped_by->render(EventView(batch, e, meta), e.timestamp_ns, {}, key);
      keyed.emplace_back(std::string(key.view()), e);
    }
    std::stable_sort(keyed.begin(), keyed.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (size_t i = 0; i < keyed.size(); ++i) batch.events[i] = keyed[i].second;
  }
  std::vector<Event> out;
  out.reserve(batch.events.size());
  // remap appends each output event's fields to the batch: dropped after each iteration, so
  // that every iteration starts from the same batch (the capacity stays).
  const size_t parsed_fields = batch.fields.size();
  for (auto _ : state) {
    out.clear();
    transform.apply(batch, meta, batch.events, out);
    benchmark::DoNotOptimize(out.data());
    batch.fields.resize(parsed_fields);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch.events.size()));
  state.counters["passed_per_batch"] = static_cast<double>(out.size());
  state.counters["events_per_batch"] = static_cast<double>(batch.events.size());
}

void BM_TransformFilter(benchmark::State& state) {
  std::string error;
  FilterTransform filter(
      Condition::compile(R"(level >= warn or logger == "checkout.api")", &error));
  run_transform(state, filter);
}
BENCHMARK(BM_TransformFilter);

// A member of a parsed object (`http` on a quarter of the lines): the longest dotted prefix
// that is a field, then a lookup inside its JSON; the other lines fall through to the metadata.
void BM_TransformFilterNested(benchmark::State& state) {
  std::string error;
  FilterTransform filter(Condition::compile("http.status >= 500", &error));
  run_transform(state, filter);
}
BENCHMARK(BM_TransformFilterNested);

void BM_TransformRemap(benchmark::State& state) {
  RemapOptions options;
  options.rename.emplace_back("logger", "log.logger");
  options.remove.emplace_back("span_id");
  options.add.emplace_back("env", Value{ValueKind::String, true, "production"});
  RemapTransform remap(std::move(options));
  run_transform(state, remap);
}
BENCHMARK(BM_TransformRemap);

// Arg 0: 32 keys from two fields, mixed within the batch, a rate no key reaches (every event
// passes); 1: the same, a rate every key exceeds (most are dropped); 2: as 0 with the events
// grouped by key, as the events of a container log file's batch share their pod. The clock
// stands still: refills cost the same whatever the time.
void BM_TransformThrottle(benchmark::State& state) {
  ThrottleOptions o;
  o.name = "bench";
  std::string error;
  o.key = Template::parse("{{ logger }}/{{ level }}", &error);
  if (!o.key) std::abort();
  const Template key = *o.key;
  const bool dropping = state.range(0) == 1;
  o.limits.events_per_second = dropping ? 10 : 1e9;
  o.limits.burst = dropping ? 10 : 1e9;
  o.clock = [] { return int64_t{1'000'000'000}; };
  ThrottleTransform throttle(std::move(o));
  run_transform(state, throttle, state.range(0) == 2 ? &key : nullptr);
  state.counters["keys"] = static_cast<double>(throttle.live_keys());
}
BENCHMARK(BM_TransformThrottle)->ArgName("case")->Arg(0)->Arg(1)->Arg(2);

}  // namespace
}  // namespace sluice
