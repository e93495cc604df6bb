// Fuzzes logfmt parsing.
//   - parse_logfmt on the whole input, both strictness levels: a failure leaves the fields as
//     they were; keys are never empty, never repeated (the last value wins) and never hold a
//     space, tab, '=' or '"'; a line that passes the `auto` rule (RequireLeadingPair) parses the
//     same in lenient mode; and writing the fields back as logfmt (quoting and escaping values
//     as needed) parses to the same fields.
//   - EventParser `logfmt` and `auto` over the framed lines, then every event encoded as JSON
//     (must be one valid JSON object per line) and as text (no control characters).
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/encoder.hpp"
#include "fuzz_common.hpp"
#include "fuzz_encode_memo.hpp"
#include "parse/event_parser.hpp"
#include "parse/framer.hpp"
#include "parse/logfmt_parser.hpp"
#include "sluice/batch.hpp"

namespace sluice {
namespace {

constexpr int64_t kNow = 1'710'408'413'000'000'000;

bool key_ok(std::string_view key) {
  if (key.empty()) return false;
  for (char c : key) {
    if (c == ' ' || c == '\t' || c == '=' || c == '"') return false;
  }
  return true;
}

// The fields from `first` on that a later field with the same key did not remove.
std::vector<Field> live_fields(const std::vector<Field>& fields, size_t first) {
  std::vector<Field> live;
  for (size_t i = first; i < fields.size(); ++i) {
    if (fields[i].key.data() != nullptr) live.push_back(fields[i]);
  }
  return live;
}

// The fields written back as a logfmt line.
std::string write_logfmt(const std::vector<Field>& fields, size_t first) {
  std::string line;
  for (size_t i = first; i < fields.size(); ++i) {
    const Field& f = fields[i];
    if (f.key.data() == nullptr) continue;  // a duplicate key, removed
    if (!line.empty()) line += ' ';
    line += f.key;
    if (f.value.kind == ValueKind::Bool) continue;  // a bare key
    line += '=';
    std::string_view v = f.value.text;
    bool quote = v.find_first_of(" \t\"") != std::string_view::npos;
    if (!quote) {
      line += v;
      continue;
    }
    line += '"';
    for (char c : v) {
      if (c == '"' || c == '\\') line += '\\';
      line += c;
    }
    line += '"';
  }
  return line;
}

bool same_fields(const std::vector<Field>& a, size_t a_first, const std::vector<Field>& b,
                 size_t b_first) {
  if (a.size() - a_first != b.size() - b_first) return false;
  for (size_t i = 0; i < a.size() - a_first; ++i) {
    const Field& x = a[a_first + i];
    const Field& y = b[b_first + i];
    if (x.key != y.key || x.value.kind != y.value.kind || x.value.text != y.value.text) {
      return false;
    }
  }
  return true;
}

void check_parse_logfmt(std::string_view line) {
  Arena arena(1024);
  std::vector<Field> strict;
  std::vector<Field> lenient;
  // A field already present must survive a failed parse untouched.
  const Field sentinel{"sentinel", Value{ValueKind::Number, true, "1"}};
  strict.push_back(sentinel);
  lenient.push_back(sentinel);

  const bool strict_ok = parse_logfmt(line, LogfmtStrictness::RequireLeadingPair, arena, strict);
  const bool lenient_ok = parse_logfmt(line, LogfmtStrictness::Lenient, arena, lenient);
  FUZZ_CHECK(strict[0].key == "sentinel" && lenient[0].key == "sentinel");
  if (!strict_ok) FUZZ_CHECK(strict.size() == 1);
  if (!lenient_ok) FUZZ_CHECK(lenient.size() == 1);
  if (strict_ok) {
    FUZZ_CHECK(lenient_ok);
    FUZZ_CHECK(same_fields(strict, 1, lenient, 1));
    FUZZ_CHECK(strict[1].value.kind == ValueKind::String);  // it starts with a key=value pair
  }
  if (!lenient_ok) return;
  FUZZ_CHECK(lenient.size() > 1);
  const std::vector<Field> live = live_fields(lenient, 1);
  FUZZ_CHECK(!live.empty());
  for (size_t i = 0; i < live.size(); ++i) {
    const Field& f = live[i];
    FUZZ_CHECK(key_ok(f.key));
    for (size_t j = i + 1; j < live.size(); ++j) FUZZ_CHECK(live[j].key != f.key);
    FUZZ_CHECK(f.value.kind == ValueKind::String || f.value.kind == ValueKind::Bool);
    if (f.value.kind == ValueKind::Bool) FUZZ_CHECK(f.value.text == "true");
  }

  // Round trip through the logfmt writer. When a later bare key replaced the line's only
  // key=value pair (`a=1 a`), what is left is only bare keys, which no logfmt line parses to.
  const bool has_pair = std::any_of(
      live.begin(), live.end(), [](const Field& f) { return f.value.kind == ValueKind::String; });
  if (!has_pair) return;
  std::string again = write_logfmt(lenient, 1);
  std::vector<Field> reparsed;
  const bool reparsed_ok = parse_logfmt(again, LogfmtStrictness::Lenient, arena, reparsed);
  if (!reparsed_ok || !same_fields(live, 0, live_fields(reparsed, 0), 0)) {
    std::fprintf(stderr, "logfmt round trip differs; rewritten: %s\n", again.c_str());
    __builtin_trap();
  }
}

std::unique_ptr<EventParser> make_parser(ParserKind kind) {
  ParserOptions options;
  options.kind = kind;
  std::string error;
  auto parser = EventParser::create(std::move(options), &error);
  if (!parser) __builtin_trap();
  return parser;
}

void check_pipeline(const EventParser& parser, Batch& batch, ByteBuffer& out,
                    std::string_view input) {
  batch.reset();
  batch.stream = "stdout";
  batch.read_time_ns = kNow;
  frame_text(batch, input);
  parser.parse(batch, kNow);
  const SourceMeta meta{"fuzz", "fuzz-host", false};
  for (const Event& event : batch.events) {
    out.clear();
    encode_event(batch, event, meta, EncodingSpec{EncodingSpec::Kind::Json}, out);
    fuzz::check_memo_replay(batch, event, meta);
    fuzz::check_encoded_json(out.view());
    out.clear();
    encode_event(batch, event, meta, EncodingSpec{EncodingSpec::Kind::Text}, out);
    fuzz::check_encoded_text(out.view());
  }
  // From a pod's log file with label maps: dotted `kubernetes.*` keys of the line merge with them.
  batch.origin = fuzz::origin_with_maps(input);
  for (const Event& event : batch.events) fuzz::check_every_encoding(batch, event, meta);
}

}  // namespace
}  // namespace sluice

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto logfmt = sluice::make_parser(sluice::ParserKind::Logfmt);
  static const auto automatic = sluice::make_parser(sluice::ParserKind::Auto);
  static sluice::Batch batch;
  static sluice::ByteBuffer out;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  sluice::check_parse_logfmt(input);
  sluice::check_pipeline(*logfmt, batch, out, input);
  sluice::check_pipeline(*automatic, batch, out, input);
  return 0;
}
