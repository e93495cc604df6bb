// Fuzzes plain-text layout detection (parser: auto / text): detect_text_line on arbitrary bytes,
// then the whole line through the event parser and the JSON and text encoders, against a few
// year anchors (mid-year, New Year's Eve, a leap day) and one taken from the input.
// Invariants: every span lies inside the line; a level is a name of the level table (or, from
// the named parsers, a single letter or syslog keyword that parse_level reads); a pid is digits;
// parse_text_line appends nothing and leaves the time alone when it returns false; the encoded
// event is one valid JSON object with no key written twice (the merged `log`/`host`/`process`
// objects included) and the text output has no control characters.
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "base/level.hpp"
#include "core/encoder.hpp"
#include "fuzz_common.hpp"
#include "fuzz_encode_memo.hpp"
#include "parse/event_parser.hpp"
#include "parse/framer.hpp"
#include "parse/text_detect.hpp"

namespace sluice {
namespace {

bool inside(std::string_view part, std::string_view line) {
  if (part.data() == nullptr) return part.empty();
  return part.data() >= line.data() && part.data() + part.size() <= line.data() + line.size();
}

void check_detect(std::string_view line) {
  TextLine text;
  if (!detect_text_line(line, text)) return;
  for (std::string_view part : {text.level, text.logger, text.thread, text.pid, text.host,
                                text.source_line, text.message}) {
    FUZZ_CHECK(inside(part, line));
  }
  if (!text.level.empty()) FUZZ_CHECK(parse_level(text.level).has_value());
  for (char c : text.pid) FUZZ_CHECK(c >= '0' && c <= '9');
  for (char c : text.source_line) FUZZ_CHECK(c >= '0' && c <= '9');
  FUZZ_CHECK(text.format != TextFormat::None);
}

void check_parse_text_line(std::string_view line, int64_t anchor) {
  Batch batch;
  Event event;
  event.timestamp_ns = 42;  // as a container runtime sets it
  const TimestampContext ctx{nullptr, anchor};
  if (!parse_text_line(line, ctx, batch, event)) {
    FUZZ_CHECK(batch.fields.empty());
    FUZZ_CHECK(event.timestamp_ns == 42);
    return;
  }
  FUZZ_CHECK(!batch.fields.empty());
}

void check_pipeline(std::string_view line, int64_t anchor, ParserKind kind) {
  static const auto parsers = [] {
    std::string error;
    ParserOptions automatic, text;
    text.kind = ParserKind::Text;
    return std::make_pair(std::shared_ptr<EventParser>(EventParser::create(automatic, &error)),
                          std::shared_ptr<EventParser>(EventParser::create(text, &error)));
  }();
  Batch batch;
  batch.read_time_ns = 1;
  batch.origin = fuzz::origin_with_maps(line);
  std::string framed(line);
  framed.push_back('\n');
  frame_text(batch, framed);
  (kind == ParserKind::Text ? parsers.second : parsers.first)->parse(batch, anchor);
  SourceMeta meta{"src", "host-1", true};
  for (const Event& event : batch.events) {
    ByteBuffer out;
    encode_event(batch, event, meta, EncodingSpec{EncodingSpec::Kind::Json}, out);
    fuzz::check_encoded_json(out.view());
    fuzz::check_memo_replay(batch, event, SourceMeta{"src", "host-1", false});
    EncodingSpec dedot{EncodingSpec::Kind::Json};
    dedot.dedot_map_keys = true;
    fuzz::check_memo_replay(batch, event, SourceMeta{"src", "host-1", false}, dedot);
    out.clear();
    encode_event(batch, event, meta, EncodingSpec{EncodingSpec::Kind::Text, false}, out);
    fuzz::check_encoded_text(out.view());
  }
}

}  // namespace
}  // namespace sluice

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  std::string_view line(reinterpret_cast<const char*>(data), size);
  // One line: a newline would make the framer split it.
  line = line.substr(0, line.find('\n'));
  sluice::check_detect(line);
  for (int64_t anchor : {int64_t{1'710'408'413'000'000'000}, int64_t{1'735'689'599'000'000'000},
                         int64_t{1'709'164'800'000'000'000}}) {
    sluice::check_parse_text_line(line, anchor);
  }
  sluice::check_pipeline(line, 1'735'689'599'000'000'000, sluice::ParserKind::Auto);
  sluice::check_pipeline(line, 1'710'408'413'000'000'000, sluice::ParserKind::Text);
  if (size >= 8) {
    int64_t anchor;
    std::memcpy(&anchor, data, sizeof anchor);
    std::string_view rest = line.size() >= 8 ? line.substr(8) : std::string_view();
    sluice::check_parse_text_line(rest, anchor);
  }
  return 0;
}
