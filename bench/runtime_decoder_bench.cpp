// The container runtime decoder (docker json-file and CRI lines into records), on ~64 MiB of one
// typical record repeated: bytes of framed lines decoded per second. Moved here from the unit
// tests, where it was a disabled gtest printing MB/s.
#include <benchmark/benchmark.h>

#include <string>

#include "parse/framer.hpp"
#include "sluice/batch.hpp"
#include "sources/container/runtime_decoder.hpp"

namespace sluice {
namespace {

// A request log line, as docker's json-file driver and as a CRI runtime write it.
constexpr const char* kDockerRecord =
    R"({"log":"10.0.0.1 - - [21/Feb/2018:17:26:53 +0000] \"GET /api/v1/items?id=42 )"
    R"(HTTP/1.1\" 200 2216 \"-\" \"curl/8.0\"\n","stream":"stdout",)"
    R"("time":"2018-02-21T17:26:53.360920913Z"})"
    "\n";
constexpr const char* kCriRecord =
    "2018-02-21T17:26:53.360920913Z stdout F 10.0.0.1 - - [21/Feb/2018:17:26:53 +0000] "
    "\"GET /api/v1/items?id=42 HTTP/1.1\" 200 2216 \"-\" \"curl/8.0\"\n";

void BM_RuntimeDecode(benchmark::State& state, const char* record) {
  std::string text;
  while (text.size() < (64u << 20)) text += record;
  Batch in;
  frame_text(in, text);
  RuntimeDecoder decoder(1 << 20);
  Batch out;
  for (auto _ : state) {
    out.reset();
    decoder.decode(in, out);
    benchmark::DoNotOptimize(out.events.data());
  }
  if (out.events.size() != in.events.size()) state.SkipWithError("a record was not decoded");
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["record_bytes"] = static_cast<double>(std::string(record).size());
}
BENCHMARK_CAPTURE(BM_RuntimeDecode, docker_json_file, kDockerRecord)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_RuntimeDecode, cri, kCriRecord)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace sluice
