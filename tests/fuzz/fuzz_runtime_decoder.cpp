// Fuzzes the container runtime decoder (Docker json-file and CRI records, partial joining). The
// input bytes are framed into records (with a random framer limit, so records get cut into
// pieces flagged split) and the records reach decode() in random-sized groups, the output batch
// sometimes reused across calls. Invariants:
//   - every output line lies inside its batch's buffer, which keeps kReadPadding bytes after
//     the end (the JSON parser reads that far), and no line is longer than max_line_bytes;
//   - flags are only split / parse error; raw (parse error) lines are timed at the read time;
//   - the decoder never makes bytes up: the output is never longer than the input;
//   - pending_offset() is that of a record already fed, or UINT64_MAX with nothing pending;
//     after flush_pending() nothing is pending;
//   - without intermediate flushes, how the records are grouped into decode() calls does not
//     change the output at all (the same lines, times, offsets, flags and streams as one call).
//
// Parameters are taken from the end of the input (FuzzedDataProvider), so plain-text seeds work.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_common.hpp"
#include "parse/framer.hpp"
#include "sluice/batch.hpp"
#include "sources/container/runtime_decoder.hpp"

namespace sluice {
namespace {

constexpr int64_t kReadTime = 1'710'408'413'000'000'000;

struct Line {
  std::string text;
  int64_t time;
  uint64_t offset;
  uint16_t flags;
  StreamId stream;
  bool operator==(const Line&) const = default;
};

class Run {
 public:
  explicit Run(size_t max_line) : decoder(max_line), max_line_(max_line) {}

  void decode(const Batch& in, Batch& out) {
    const size_t before = out.events.size();
    decoder.decode(in, out);
    for (const Event& e : in.events) {
      ++records_;
      input_bytes_ += e.line.size();
      max_offset_ = std::max(max_offset_, e.offset);
      fed_ = true;
    }
    collect(out, before);
  }
  void flush(Batch& out) {
    const size_t before = out.events.size();
    decoder.flush_pending(out);
    FUZZ_CHECK(!decoder.has_pending());
    collect(out, before);
  }

  RuntimeDecoder decoder;
  std::vector<Line> lines;

 private:
  void collect(const Batch& out, size_t first) {
    const char* base = out.bytes.data();
    FUZZ_CHECK(out.bytes.capacity() >= out.bytes.size() + kReadPadding);
    for (size_t i = 0; i < out.events.size(); ++i) {
      const Event& e = out.events[i];
      // Earlier events too: they must survive the buffer growing under them.
      FUZZ_CHECK(e.line.data() >= base);
      const auto at = static_cast<size_t>(e.line.data() - base);
      FUZZ_CHECK(at <= out.bytes.size() && e.line.size() <= out.bytes.size() - at);
      if (i < first) continue;
      FUZZ_CHECK(e.line.size() <= max_line_);
      FUZZ_CHECK((e.flags & ~(kFlagSplit | kFlagParseError)) == 0);
      if (e.flags & kFlagParseError) {
        FUZZ_CHECK(e.timestamp_ns == kReadTime);
        FUZZ_CHECK(e.stream_id == StreamId::FromBatch);
      }
      output_bytes_ += e.line.size();
      lines.push_back({std::string(e.line), e.timestamp_ns, e.offset, e.flags, e.stream_id});
    }
    FUZZ_CHECK(output_bytes_ <= input_bytes_);
    if (decoder.has_pending()) {
      FUZZ_CHECK(fed_ && decoder.pending_offset() <= max_offset_);
    } else {
      FUZZ_CHECK(decoder.pending_offset() == std::numeric_limits<uint64_t>::max());
    }
    FUZZ_CHECK(decoder.malformed() <= records_);
  }

  size_t max_line_;
  uint64_t records_ = 0;
  uint64_t input_bytes_ = 0;
  uint64_t output_bytes_ = 0;
  uint64_t max_offset_ = 0;
  bool fed_ = false;
};

// A batch holding records [begin, end) of `all`, as a source would hand them over.
void slice(const Batch& all, size_t begin, size_t end, Batch& in) {
  in.reset();
  size_t bytes = 0;
  for (size_t i = begin; i < end; ++i) bytes += all.events[i].line.size();
  in.bytes.reserve(bytes + kReadPadding);
  for (size_t i = begin; i < end; ++i) {
    Event e = all.events[i];
    const size_t at = in.bytes.size();
    in.bytes.append(e.line);
    e.line = std::string_view(in.bytes.data() + at, e.line.size());
    in.events.push_back(e);
  }
  in.read_time_ns = kReadTime;
}

}  // namespace
}  // namespace sluice

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice;
  FuzzedDataProvider params(data, size);
  const size_t max_line = params.PickValueInArray<size_t>({1, 2, 5, 16, 64, 4096, 1 << 20});
  const size_t framer_max = params.PickValueInArray<size_t>({3, 17, 40, 100, 1 << 20});
  const auto seed = params.ConsumeIntegral<uint32_t>();
  const bool reuse_out = params.ConsumeBool();
  const bool mid_flushes = params.ConsumeBool();
  const std::string text = params.ConsumeRemainingBytesAsString();

  Batch all;
  frame_text(all, text, FramerOptions{framer_max});
  for (Event& e : all.events) e.offset = static_cast<uint64_t>(e.line.data() - all.bytes.data());

  // Reference: every record in one call.
  Run whole(max_line);
  {
    Batch in;
    Batch out;
    slice(all, 0, all.events.size(), in);
    whole.decode(in, out);
    whole.flush(out);
  }

  Run parts(max_line);
  std::mt19937 rng(seed);
  Batch in;
  Batch out;
  bool last_empty = false;
  for (size_t i = 0; i < all.events.size();) {
    size_t n = rng() % 6;  // an empty call now and then, but never twice in a row
    if (n == 0 && last_empty) n = 1;
    n = std::min(n, all.events.size() - i);
    last_empty = n == 0;
    slice(all, i, i + n, in);
    if (!reuse_out) out.reset();
    parts.decode(in, out);
    if (mid_flushes && rng() % 4 == 0) parts.flush(out);
    i += n;
  }
  parts.flush(out);

  if (!mid_flushes) {
    FUZZ_CHECK(parts.lines == whole.lines);
    FUZZ_CHECK(parts.decoder.malformed() == whole.decoder.malformed());
    FUZZ_CHECK(parts.decoder.joined() == whole.decoder.joined());
  }
  return 0;
}
