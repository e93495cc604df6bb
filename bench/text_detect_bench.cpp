// Plain text through a worker (parse + timestamp + JSON encode), with the layout detection of
// `parser: auto` and without it (`parser: none`), beside BM_WorkerJsonPath in the same run
// (micro_bench.cpp): the issue-14 target is >= 300 MB/s with detection on the 2-core machine.
//
// Lines: ~200 bytes in the common layouts, one layout per batch (a file keeps its layout) or all
// mixed, deterministic. The same reuse discipline as micro_bench.cpp: one batch, reset and
// reparsed, so nothing allocates after the first iteration.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>

#include "core/encoder.hpp"
#include "corpus_lines.hpp"
#include "parse/event_parser.hpp"
#include "parse/framer.hpp"
#include "sluice/batch.hpp"

namespace sluice {
namespace {

constexpr size_t kTextBatchBytes = 256 * 1024;
constexpr int64_t kTextNow = 1'710'408'413'000'000'000;

enum class Layout { Log4j, Iso, Syslog, Python, Mixed };

const char* const kLevels[] = {"INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR"};
const char* const kLoggers[] = {"org.apache.hadoop.mapreduce.v2.app.MRAppMaster",
                                "com.example.checkout.OrderService", "io.netty.channel.Pool"};
const char* const kWords[] = {"order",   "placed", "for",   "user",    "timeout", "retrying",
                              "request", "served", "cache", "miss",    "db",      "connection",
                              "pool",    "closed", "slow",  "payment", "queued",  "shard"};

// One line of `layout` (not Mixed), about 200 bytes.
std::string text_line(bench::Rng& rng, Layout layout, uint64_t i) {
  char head[160];
  const unsigned h = rng.below(24), m = rng.below(60), s = rng.below(60), ms = rng.below(1000);
  const char* level = kLevels[rng.below(6)];
  int n = 0;
  switch (layout) {
    case Layout::Log4j:
      n = std::snprintf(head, sizeof head, "2024-03-14 %02u:%02u:%02u,%03u %s [main-%u] %s: ", h, m,
                        s, ms, level, rng.below(8), kLoggers[rng.below(3)]);
      break;
    case Layout::Iso:
      n = std::snprintf(head, sizeof head, "2024-03-14T%02u:%02u:%02u.%03uZ %s ", h, m, s, ms,
                        level);
      break;
    case Layout::Syslog:
      n = std::snprintf(head, sizeof head, "Mar 14 %02u:%02u:%02u web-%u sshd[%u]: ", h, m, s,
                        rng.below(9), 1000 + rng.below(30000));
      break;
    case Layout::Python:
      n = std::snprintf(head, sizeof head, "2024-03-14 %02u:%02u:%02u,%03u - app.db - %s - ", h, m,
                        s, ms, level);
      break;
    case Layout::Mixed:
      break;
  }
  std::string line(head, static_cast<size_t>(n));
  line += "seq=" + std::to_string(i);
  while (line.size() < 200) {
    line.push_back(' ');
    line += kWords[rng.below(18)];
  }
  return line;
}

std::string text_lines(Layout layout, size_t bytes) {
  bench::Rng rng(11);
  std::string text;
  for (uint64_t i = 0; text.size() < bytes; ++i) {
    const Layout l = layout == Layout::Mixed ? static_cast<Layout>(i % 4) : layout;
    text += text_line(rng, l, i);
    text.push_back('\n');
  }
  return text;
}

void worker_text_path(benchmark::State& state, ParserKind kind, Layout layout) {
  const std::string text = text_lines(layout, kTextBatchBytes);
  ParserOptions options;
  options.kind = kind;
  std::string error;
  auto parser = EventParser::create(options, &error);
  Batch batch;
  batch.stream = "stdin";
  batch.read_time_ns = 1;
  frame_text(batch, text);
  SourceMeta meta{"app", "bench-host.example.com", false};
  ByteBuffer out;
  EncodeMemo memo;  // as a worker encodes (core/encode_memo.hpp)
  for (auto _ : state) {
    batch.fields.clear();
    batch.arena.reset();
    for (Event& e : batch.events) e.timestamp_ns = 0;
    parser->parse(batch, kTextNow);
    out.clear();
    memo.reset();
    for (const Event& e : batch.events) {
      encode_event(batch, e, meta, EncodingSpec{EncodingSpec::Kind::Json}, out, memo);
    }
    benchmark::DoNotOptimize(out.data());
  }
  // With detection every line must have its own time (never the read time, 1).
  if (kind != ParserKind::None) {
    for (const Event& e : batch.events) {
      if (e.timestamp_ns == 1) {
        state.SkipWithError("a benchmark line was not recognised");
        break;
      }
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch.events.size()));
}

void BM_WorkerTextPath_Detect_Log4j(benchmark::State& s) {
  worker_text_path(s, ParserKind::Auto, Layout::Log4j);
}
void BM_WorkerTextPath_Detect_Iso(benchmark::State& s) {
  worker_text_path(s, ParserKind::Auto, Layout::Iso);
}
void BM_WorkerTextPath_Detect_Syslog(benchmark::State& s) {
  worker_text_path(s, ParserKind::Auto, Layout::Syslog);
}
void BM_WorkerTextPath_Detect_Python(benchmark::State& s) {
  worker_text_path(s, ParserKind::Auto, Layout::Python);
}
void BM_WorkerTextPath_Detect_Mixed(benchmark::State& s) {
  worker_text_path(s, ParserKind::Auto, Layout::Mixed);
}
void BM_WorkerTextPath_NoDetection_Mixed(benchmark::State& s) {
  worker_text_path(s, ParserKind::None, Layout::Mixed);
}
BENCHMARK(BM_WorkerTextPath_Detect_Log4j);
BENCHMARK(BM_WorkerTextPath_Detect_Iso);
BENCHMARK(BM_WorkerTextPath_Detect_Syslog);
BENCHMARK(BM_WorkerTextPath_Detect_Python);
BENCHMARK(BM_WorkerTextPath_Detect_Mixed);
BENCHMARK(BM_WorkerTextPath_NoDetection_Mixed);

}  // namespace
}  // namespace sluice
