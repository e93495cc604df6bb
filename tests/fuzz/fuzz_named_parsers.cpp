// Fuzzes the named plain-text parsers (syslog, clf, klog, logcat).
//   - Each recogniser on the whole input: every span it returns lies inside the input; the
//     TextLine view agrees with the format's own recogniser; a recognised line's time has
//     in-range clock fields.
//   - EventParser of each kind over the framed lines: a line is either parsed (no parse_error,
//     a `message` field, a time other than the read time unless the line's own time equals it)
//     or kept whole as `message` with parse_error; every event encodes as one valid JSON object
//     and as text without control characters.
//   - `multiline: auto` over the same lines, fed in batches of 1..8 lines (batches recycled as a
//     source does): the records, split back at their newlines, are exactly the lines the joiner
//     was given, in order (nothing lost, duplicated or reordered), none over max_lines lines.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/encoder.hpp"
#include "fuzz_common.hpp"
#include "fuzz_encode_memo.hpp"
#include "parse/clf_parser.hpp"
#include "parse/event_parser.hpp"
#include "parse/framer.hpp"
#include "parse/klog_parser.hpp"
#include "parse/logcat_parser.hpp"
#include "parse/multiline.hpp"
#include "parse/syslog_parser.hpp"
#include "sluice/batch.hpp"

namespace sluice {
namespace {

constexpr int64_t kNow = 1'710'408'413'000'000'000;

bool inside(std::string_view span, std::string_view input) {
  if (span.data() == nullptr) return span.empty();
  return span.data() >= input.data() && span.data() + span.size() <= input.data() + input.size();
}

void check_text_line(const TextLine& t, std::string_view input) {
  FUZZ_CHECK(inside(t.level, input) && inside(t.logger, input) && inside(t.thread, input));
  FUZZ_CHECK(inside(t.pid, input) && inside(t.host, input) && inside(t.message, input));
  if (t.has_time) {
    FUZZ_CHECK(t.time.hour <= 99 && t.time.minute <= 99 && t.time.second <= 99);
    FUZZ_CHECK(t.time.nanos < 1'000'000'000u);
  }
}

void check_recognisers(std::string_view input) {
  SyslogLine syslog;
  TextLine syslog_text;
  const bool is_syslog = recognise_syslog(input, syslog);
  FUZZ_CHECK(is_syslog == recognise_syslog(input, syslog_text));
  if (is_syslog) {
    FUZZ_CHECK(syslog.priority >= -1 && syslog.priority <= 191);
    FUZZ_CHECK(inside(syslog.host, input) && inside(syslog.app, input));
    FUZZ_CHECK(inside(syslog.procid, input) && inside(syslog.msgid, input));
    FUZZ_CHECK(inside(syslog.structured_data, input) && inside(syslog.message, input));
    check_text_line(syslog_text, input);
  }
  ClfLine clf;
  TextLine clf_text;
  const bool is_clf = recognise_clf(input, clf);
  FUZZ_CHECK(is_clf == recognise_clf(input, clf_text));
  if (is_clf) {
    FUZZ_CHECK(inside(clf.client, input) && inside(clf.request, input) && inside(clf.path, input));
    FUZZ_CHECK(inside(clf.referrer, input) && inside(clf.user_agent, input));
    FUZZ_CHECK(clf.status.size() == 3);
    check_text_line(clf_text, input);
  }
  KlogLine klog;
  if (recognise_klog(input, klog)) {
    FUZZ_CHECK(inside(klog.file, input) && inside(klog.line_number, input));
    check_text_line(klog.text, input);
  }
  LogcatLine logcat;
  if (recognise_logcat(input, logcat)) {
    FUZZ_CHECK(inside(logcat.thread_id, input));
    check_text_line(logcat.text, input);
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
    bool has_message = false;
    for (uint32_t i = event.first_field; i < event.first_field + event.field_count; ++i) {
      const Field& f = batch.fields[i];
      if (f.key != "message") continue;
      has_message = true;
      // A line that failed is kept whole.
      if (event.flags & kFlagParseError) FUZZ_CHECK(f.value.text == event.line);
    }
    FUZZ_CHECK(has_message);
    out.clear();
    encode_event(batch, event, meta, EncodingSpec{EncodingSpec::Kind::Json}, out);
    fuzz::check_memo_replay(batch, event, meta);
    fuzz::check_encoded_json(out.view());
    out.clear();
    encode_event(batch, event, meta, EncodingSpec{EncodingSpec::Kind::Text}, out);
    fuzz::check_encoded_text(out.view());
  }
}

void check_multiline_auto(std::string_view input) {
  Batch framed;
  frame_text(framed, input);
  std::vector<std::string> lines;
  for (const Event& e : framed.events) {
    if (e.flags & kFlagSplit) return;  // pieces of one line are not newline-separated
    lines.emplace_back(e.line);
  }
  if (lines.empty()) return;
  MultilineOptions options;
  options.mode = MultilineOptions::Mode::Auto;
  options.max_lines = 4;
  std::string error;
  auto joiner = MultilineJoiner::create(options, &error);
  if (!joiner) __builtin_trap();
  const size_t per_batch = 1 + static_cast<unsigned char>(input[0]) % 8;
  std::vector<std::string> records;
  std::vector<std::string> fed;
  Batch batch;
  for (size_t i = 0; i < lines.size(); i += per_batch) {
    std::string chunk;
    for (size_t j = i; j < std::min(lines.size(), i + per_batch); ++j) chunk += lines[j] + "\n";
    batch.reset();
    frame_text(batch, chunk);
    // What the joiner is given (a line ending in `\r\r` reads one `\r` shorter when framed
    // again, so this, not `lines`, is what the records must add up to).
    for (const Event& e : batch.events) fed.emplace_back(e.line);
    joiner->join(batch, static_cast<int64_t>(i));
    for (const Event& e : batch.events) records.emplace_back(e.line);
    std::fill(batch.bytes.data(), batch.bytes.data() + batch.bytes.size(), '#');
  }
  batch.reset();
  joiner->flush(batch, 0, true);
  for (const Event& e : batch.events) records.emplace_back(e.line);
  std::vector<std::string> split;
  for (const std::string& record : records) {
    size_t count = 0;
    for (size_t pos = 0;; ++count) {
      size_t nl = record.find('\n', pos);
      split.push_back(record.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos));
      if (nl == std::string::npos) break;
      pos = nl + 1;
    }
    FUZZ_CHECK(count + 1 <= options.max_lines);
  }
  FUZZ_CHECK(split == fed);
}

}  // namespace
}  // namespace sluice

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using sluice::ParserKind;
  static const std::unique_ptr<sluice::EventParser> parsers[] = {
      sluice::make_parser(ParserKind::Syslog), sluice::make_parser(ParserKind::Clf),
      sluice::make_parser(ParserKind::Klog), sluice::make_parser(ParserKind::Logcat)};
  static sluice::Batch batch;
  static sluice::ByteBuffer out;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  sluice::check_recognisers(input);
  sluice::check_multiline_auto(input);
  for (const auto& parser : parsers) sluice::check_pipeline(*parser, batch, out, input);
  return 0;
}
