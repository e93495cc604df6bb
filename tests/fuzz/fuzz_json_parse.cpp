// Fuzzes the JSON path: arbitrary bytes are framed into lines, parsed by EventParser (`json`,
// `auto`, and `auto` with `target`, `keep_raw` and a time zone), and every event is encoded.
// Invariants:
//   - the JSON encoding of every event is exactly one line holding one valid JSON object (valid
//     UTF-8 included), whatever the input, and
//   - a field that points into the batch's line buffer stays inside the input bytes (not the
//     padding after them), and a Value::Json field is itself a valid JSON object or array;
//   - the text encoding never lets a control character (terminal escape) through;
//   - the same, for events from an origin with label maps (fuzz_encode_memo.hpp).
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "core/encoder.hpp"
#include "fuzz_common.hpp"
#include "fuzz_encode_memo.hpp"
#include "parse/event_parser.hpp"
#include "parse/framer.hpp"
#include "parse/timezone.hpp"
#include "sluice/batch.hpp"

namespace sluice {
namespace {

constexpr int64_t kNow = 1'710'408'413'000'000'000;  // 2024-03-14T09:26:53Z

std::unique_ptr<EventParser> make_parser(ParserKind kind, bool nested) {
  ParserOptions options;
  options.kind = kind;
  if (nested) {
    options.target = "parsed";
    options.keep_raw = true;
    std::string error;
    options.zone = TimeZone::load("Europe/Berlin", &error);
    if (!options.zone) __builtin_trap();  // tzdata is a build dependency
  }
  std::string error;
  auto parser = EventParser::create(std::move(options), &error);
  if (!parser) __builtin_trap();
  return parser;
}

struct Setup {
  std::unique_ptr<EventParser> json = make_parser(ParserKind::Json, false);
  std::unique_ptr<EventParser> automatic = make_parser(ParserKind::Auto, false);
  std::unique_ptr<EventParser> nested = make_parser(ParserKind::Auto, true);
  Batch batch;  // reused, like the pipeline's pooled batches
  ByteBuffer out;
};

void run(Setup& s, const EventParser& parser, std::string_view input) {
  Batch& batch = s.batch;
  batch.reset();
  batch.stream = "stdin";
  batch.read_time_ns = kNow;
  frame_text(batch, input);
  parser.parse(batch, kNow);

  const SourceMeta meta{"fuzz", "fuzz-host", parser.options().keep_raw};
  const char* bytes_begin = batch.bytes.data();
  const char* bytes_end = bytes_begin + batch.bytes.size();
  const char* capacity_end = bytes_begin + batch.bytes.capacity();
  for (const Event& event : batch.events) {
    FUZZ_CHECK(static_cast<size_t>(event.first_field) + event.field_count <= batch.fields.size());
    for (uint32_t i = event.first_field; i < event.first_field + event.field_count; ++i) {
      const Field& f = batch.fields[i];
      if (f.value.kind == ValueKind::Json) {
        FUZZ_CHECK(!f.value.text.empty());
        FUZZ_CHECK(f.value.text.front() == '{' || f.value.text.front() == '[');
        FUZZ_CHECK(fuzz::is_json(f.value.text, false));
      }
      // Texts that were not copied point into the input bytes.
      for (std::string_view text : {f.key, f.value.text}) {
        const char* p = text.data();
        if (p >= bytes_begin && p < capacity_end) {
          FUZZ_CHECK(p <= bytes_end && text.size() <= static_cast<size_t>(bytes_end - p));
        }
      }
    }
    s.out.clear();
    encode_event(batch, event, meta, EncodingSpec{EncodingSpec::Kind::Json}, s.out);
    fuzz::check_encoded_json(s.out.view());
    fuzz::check_memo_replay(batch, event, meta);
    s.out.clear();
    encode_event(batch, event, meta, EncodingSpec{EncodingSpec::Kind::Text}, s.out);
    fuzz::check_encoded_text(s.out.view());
  }
  // The same events from a pod's log file whose label maps hold the input's bytes.
  batch.origin = fuzz::origin_with_maps(input);
  for (const Event& event : batch.events) fuzz::check_every_encoding(batch, event, meta);
}

}  // namespace
}  // namespace sluice

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static sluice::Setup* setup = new sluice::Setup();
  std::string_view input(reinterpret_cast<const char*>(data), size);
  sluice::run(*setup, *setup->json, input);
  sluice::run(*setup, *setup->automatic, input);
  sluice::run(*setup, *setup->nested, input);
  return 0;
}
