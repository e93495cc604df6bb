// Micro-benchmarks of the hot path: framing, parsing (+ timestamp), encoding, queue hop.
//
// Every benchmark works the way the pipeline does: one Batch (and one output ByteBuffer) is
// reset and reused across iterations, so after the first iteration nothing allocates and the
// figures are the steady state. Inputs are ~200-byte synthetic lines (bench/corpus_lines.hpp),
// 256 KiB per batch like StreamReader::kBatchBytes.
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/json_writer.hpp"
#include "core/bounded_queue.hpp"
#include "core/encoder.hpp"
#include "core/origin_maps.hpp"
#include "corpus_lines.hpp"
#include "parse/event_parser.hpp"
#include "parse/framer.hpp"
#include "parse/timestamp.hpp"
#include "sluice/batch.hpp"

namespace sluice {
namespace {

constexpr size_t kBatchBytes = 256 * 1024;
constexpr int64_t kNow = 1'710'408'413'000'000'000;
constexpr int64_t kReadTime = 1;  // fallback timestamp: never a time the lines carry

enum class LineKind { Json, Logfmt };

// About `bytes` of complete newline-terminated lines.
std::string make_lines(LineKind kind, size_t bytes, uint64_t seed = 42) {
  bench::Rng rng(seed);
  std::string text;
  text.reserve(bytes + bench::kMaxLineBytes);
  char line[bench::kMaxLineBytes];
  for (uint64_t i = 0; text.size() < bytes; ++i) {
    size_t n = kind == LineKind::Json ? bench::make_json_line(rng, i, line)
                                      : bench::make_logfmt_line(rng, i, line);
    text.append(line, n);
    text.push_back('\n');
  }
  return text;
}

// A batch holding `text`, with the read padding simdjson needs, framed into events.
void load_batch(Batch& batch, const std::string& text) {
  batch.reset();
  batch.stream = "stdin";
  batch.read_time_ns = kReadTime;
  frame_text(batch, text);
}

// Clears what parsing produced so the same framed batch can be parsed again (what
// Batch::reset() does to these members; bytes and events stay).
void clear_parsed(Batch& batch) {
  batch.fields.clear();
  batch.arena.reset();
}

std::unique_ptr<EventParser> make_parser(ParserKind kind) {
  ParserOptions options;
  options.kind = kind;
  std::string error;
  auto parser = EventParser::create(std::move(options), &error);
  if (!parser) std::abort();
  return parser;
}

// --- (1) framing ------------------------------------------------------------------------------

// Framing alone: the bytes stay in the batch, the events are cleared and a fresh framer scans
// them again.
void BM_Frame(benchmark::State& state) {
  const std::string text = make_lines(LineKind::Json, kBatchBytes);
  Batch batch;
  batch.bytes.reserve(text.size() + kReadPadding);
  batch.bytes.append(text);
  size_t lines = 0;
  for (auto _ : state) {
    batch.events.clear();
    LineFramer framer(FramerOptions{});
    size_t tail = framer.frame(batch);
    benchmark::DoNotOptimize(tail);
    lines = batch.events.size();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * lines));
  state.counters["lines_per_batch"] = static_cast<double>(lines);
}
BENCHMARK(BM_Frame);

// Lines of an excluded pod (`sluice.io/exclude`): framed only to be counted, then dropped.
void BM_CountDroppedLines(benchmark::State& state) {
  const std::string text = make_lines(LineKind::Json, kBatchBytes);
  Batch batch;
  batch.bytes.reserve(text.size() + kReadPadding);
  batch.bytes.append(text);
  uint64_t lines = 0;
  for (auto _ : state) {
    lines = 0;
    LineFramer framer(FramerOptions{});
    size_t tail = framer.count(batch, &lines);
    benchmark::DoNotOptimize(tail);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * lines));
  state.counters["lines_per_batch"] = static_cast<double>(lines);
}
BENCHMARK(BM_CountDroppedLines);

// As StreamReader does it: reset the batch, bytes arrive in 64 KiB reads (memcpy stands in for
// read(2)) and each read is framed; the unfinished tail carries into the next batch.
void BM_FrameChunkedReads(benchmark::State& state) {
  const std::string text = make_lines(LineKind::Json, kBatchBytes);
  constexpr size_t kRead = 64 * 1024;
  Batch batch;
  batch.bytes.reserve(text.size() + kReadPadding);
  LineFramer framer(FramerOptions{});
  for (auto _ : state) {
    batch.reset();
    framer.carried(0);
    for (size_t off = 0; off < text.size(); off += kRead) {
      size_t n = std::min(kRead, text.size() - off);
      std::memcpy(batch.bytes.prepare(n), text.data() + off, n);
      batch.bytes.commit(n);
      framer.frame(batch);
    }
    benchmark::DoNotOptimize(batch.events.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_FrameChunkedReads);

// --- (2)/(3) parse + timestamp ----------------------------------------------------------------

void parse_benchmark(benchmark::State& state, ParserKind kind, LineKind lines) {
  const std::string text = make_lines(lines, kBatchBytes);
  auto parser = make_parser(kind);
  Batch batch;
  load_batch(batch, text);
  for (auto _ : state) {
    clear_parsed(batch);
    parser->parse(batch, kNow);
    benchmark::DoNotOptimize(batch.fields.data());
  }
  // Every line must have parsed, with its timestamp taken from the `time` field.
  for (const Event& e : batch.events) {
    if (e.flags & kFlagParseError || e.timestamp_ns == kReadTime) {
      state.SkipWithError("a benchmark line did not parse");
      break;
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch.events.size()));
  state.counters["fields_per_line"] =
      static_cast<double>(batch.fields.size()) / static_cast<double>(batch.events.size());
}

void BM_ParseJson_Auto(benchmark::State& state) {
  parse_benchmark(state, ParserKind::Auto, LineKind::Json);
}
void BM_ParseJson_Json(benchmark::State& state) {
  parse_benchmark(state, ParserKind::Json, LineKind::Json);
}
void BM_ParseLogfmt_Logfmt(benchmark::State& state) {
  parse_benchmark(state, ParserKind::Logfmt, LineKind::Logfmt);
}
void BM_ParseLogfmt_Auto(benchmark::State& state) {
  parse_benchmark(state, ParserKind::Auto, LineKind::Logfmt);
}
BENCHMARK(BM_ParseJson_Auto);
BENCHMARK(BM_ParseJson_Json);
BENCHMARK(BM_ParseLogfmt_Logfmt);
BENCHMARK(BM_ParseLogfmt_Auto);

// The timestamp step alone, on the `time` values of the JSON batch.
void BM_ParseTimestampRfc3339(benchmark::State& state) {
  bench::Rng rng(7);
  std::vector<std::string> times;
  char line[bench::kMaxLineBytes];
  for (int i = 0; i < 1024; ++i) {
    std::string_view l(line, bench::make_json_line(rng, static_cast<uint64_t>(i), line));
    size_t begin = l.find("\"time\":\"") + 8;
    times.emplace_back(l.substr(begin, l.find('"', begin) - begin));
  }
  TimestampContext ctx{nullptr, kNow};
  for (auto _ : state) {
    for (const std::string& t : times) {
      auto ns = parse_timestamp(t, ctx);
      benchmark::DoNotOptimize(ns);
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * times.size()));
}
BENCHMARK(BM_ParseTimestampRfc3339);

// --- (4) encode -------------------------------------------------------------------------------

void encode_benchmark(benchmark::State& state, EncodingSpec::Kind kind) {
  const std::string text = make_lines(LineKind::Json, kBatchBytes);
  auto parser = make_parser(ParserKind::Json);
  Batch batch;
  load_batch(batch, text);
  parser->parse(batch, kNow);
  SourceMeta meta{"app", "bench-host.example.com", false};
  ByteBuffer out;
  for (auto _ : state) {
    out.clear();
    for (const Event& e : batch.events) encode_event(batch, e, meta, EncodingSpec{kind}, out);
    benchmark::DoNotOptimize(out.data());
  }
  // Input bytes (the lines) per second, as in the other stages; output size alongside.
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch.events.size()));
  state.counters["out_bytes_per_line"] =
      static_cast<double>(out.size()) / static_cast<double>(batch.events.size());
}
void BM_EncodeJson(benchmark::State& state) { encode_benchmark(state, EncodingSpec::Kind::Json); }
void BM_EncodeRaw(benchmark::State& state) { encode_benchmark(state, EncodingSpec::Kind::Raw); }
BENCHMARK(BM_EncodeJson);
BENCHMARK(BM_EncodeRaw);

// JSON lines from a pod's log file, encoded as a worker does (through the memo). Arg 0: the
// origin has the path's metadata only; 1: also 6 labels and 2 annotations (add_origin_map);
// 2: the same, dedotted (the elasticsearch sink's encoding). A map is written from bytes built
// once per origin, so 1 and 2 should cost about what their extra output bytes cost to copy.
void BM_EncodeJsonPodOrigin(benchmark::State& state) {
  const std::string text = make_lines(LineKind::Json, kBatchBytes);
  auto parser = make_parser(ParserKind::Json);
  Batch batch;
  load_batch(batch, text);
  parser->parse(batch, kNow);
  auto origin = std::make_shared<Origin>();
  origin->file_path = "/var/log/containers/web-7d9f8c6b5-x2x4q_shop_app-0123456789abcdef.log";
  origin->fields = {{"kubernetes.pod.name", "web-7d9f8c6b5-x2x4q"},
                    {"kubernetes.namespace", "shop"},
                    {"kubernetes.container.name", "app"},
                    {"container.id", "0123456789abcdef"}};
  if (state.range(0) > 0) {
    add_origin_map(*origin, "kubernetes.labels",
                   {{"app", "web"},
                    {"app.kubernetes.io/name", "web"},
                    {"app.kubernetes.io/part-of", "shop"},
                    {"app.kubernetes.io/version", "1.4.2"},
                    {"pod-template-hash", "7d9f8c6b5"},
                    {"team", "payments"}});
    add_origin_map(*origin, "kubernetes.annotations",
                   {{"prometheus.io/scrape", "true"}, {"prometheus.io/port", "9090"}});
  }
  batch.origin = origin;
  EncodingSpec spec{EncodingSpec::Kind::Json};
  spec.dedot_map_keys = state.range(0) == 2;
  SourceMeta meta{"app", "bench-host.example.com", false};
  ByteBuffer out;
  EncodeMemo memo;
  for (auto _ : state) {
    out.clear();
    memo.reset();
    for (const Event& e : batch.events) encode_event(batch, e, meta, spec, out, memo);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch.events.size()));
  state.counters["out_bytes_per_line"] =
      static_cast<double>(out.size()) / static_cast<double>(batch.events.size());
}
BENCHMARK(BM_EncodeJsonPodOrigin)->ArgName("maps")->Arg(0)->Arg(1)->Arg(2);

// What a worker does with a batch on the JSON path (parse + timestamp + JSON encode): the
// single-core ceiling of `parser: json` with a JSON sink.
void BM_WorkerJsonPath(benchmark::State& state) {
  const std::string text = make_lines(LineKind::Json, kBatchBytes);
  auto parser = make_parser(ParserKind::Json);
  Batch batch;
  load_batch(batch, text);
  SourceMeta meta{"app", "bench-host.example.com", false};
  ByteBuffer out;
  EncodeMemo memo;  // as a worker encodes (core/encode_memo.hpp)
  for (auto _ : state) {
    clear_parsed(batch);
    parser->parse(batch, kNow);
    out.clear();
    memo.reset();
    for (const Event& e : batch.events) {
      encode_event(batch, e, meta, EncodingSpec{EncodingSpec::Kind::Json}, out, memo);
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch.events.size()));
}
BENCHMARK(BM_WorkerJsonPath);

// append_json_string on a 200-byte string. Arg 0: plain ASCII, validated; 1: plain ASCII known
// valid (skips validation); 2: with quotes, a tab and non-ASCII text; 3: invalid UTF-8 (repair).
void BM_AppendJsonString(benchmark::State& state) {
  std::string s;
  switch (state.range(0)) {
    case 2: {
      const std::string piece = "say \"hi\"\tZürich ";  // 17 bytes
      while (s.size() < 200) s += piece;
      break;
    }
    case 3: {
      const std::string piece = "latin-1 caf\xe9 au lait ";  // \xe9 alone is invalid UTF-8
      while (s.size() < 200) s += piece;
      break;
    }
    default: {
      const std::string piece = "request completed for /api/v1/orders ";
      while (s.size() < 200) s += piece;
    }
  }
  s.resize(200);
  if (state.range(0) == 2 || state.range(0) == 3) {
    // Do not cut a multi-byte character in the valid variant.
    while (state.range(0) == 2 && (static_cast<unsigned char>(s.back()) & 0x80)) s.pop_back();
  }
  const bool known_valid = state.range(0) == 1;
  ByteBuffer out;
  for (auto _ : state) {
    out.clear();
    append_json_string(out, s, known_valid);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * s.size()));
}
BENCHMARK(BM_AppendJsonString)->ArgName("variant")->Arg(0)->Arg(1)->Arg(2)->Arg(3);

// --- (5) queue hop ----------------------------------------------------------------------------

// One producer pushes Batch pointers through a BoundedQueue to a consumer thread that pops and
// releases their cost, as a source hands batches to the workers (`kWithToken` = false) or a
// worker hands encoded batches to a sink with the source's producer token (true). Arg: how many
// items fit under the bound (cost 1 each); 32 is the pipeline's case (8 MiB of 256 KiB batches),
// where the producer keeps hitting the bound and sleeps on the atomic. Each iteration moves
// kItems items.
template <bool kWithToken>
void BM_QueueHop(benchmark::State& state) {
  constexpr int64_t kItems = 16384;
  const auto capacity = static_cast<int64_t>(state.range(0));
  BoundedQueue<Batch*> queue(capacity);
  auto token = queue.make_token();
  std::vector<Batch> batches(64);
  std::atomic<int64_t> consumed{0};
  std::thread consumer([&] {
    uint64_t checksum = 0;
    while (true) {
      Batch* b = nullptr;
      queue.pop(b);
      if (b == nullptr) break;
      checksum += b->seq;  // touch the item, like a worker would
      queue.release(1);
      consumed.fetch_add(1, std::memory_order_release);
    }
    benchmark::DoNotOptimize(checksum);
  });
  int64_t pushed = 0;
  for (auto _ : state) {
    for (int64_t i = 0; i < kItems; ++i) {
      Batch* b = &batches[static_cast<size_t>(pushed++ & 63)];
      if constexpr (kWithToken) {
        queue.push(b, 1, *token);
      } else {
        queue.push(b, 1);
      }
    }
    while (consumed.load(std::memory_order_acquire) < pushed) {
    }
  }
  queue.push_control(nullptr);
  consumer.join();
  state.SetItemsProcessed(state.iterations() * kItems);
}
BENCHMARK(BM_QueueHop<false>)->ArgName("capacity")->Arg(32)->Arg(4096)->UseRealTime();
BENCHMARK(BM_QueueHop<true>)->ArgName("capacity")->Arg(32)->Arg(4096)->UseRealTime();

}  // namespace
}  // namespace sluice
