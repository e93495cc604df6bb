// Fuzzes the `regex` parser (EventParser with an RE2 pattern of named groups). The first line of
// the input is a pattern, the rest is log text; the text is also parsed with a few fixed,
// realistic patterns (the node daemon's syslog one, Apache access, log4j, many groups, groups
// named like the timestamp fields), some with `target`, `keep_raw` and a time zone. Invariants:
//   - a pattern is either accepted (it compiles and has a named group) or refused with a message;
//   - a line the pattern does not match is flagged as a parse error and kept whole as `message`;
//     a matching line gets one field per named group that took part in the match (whatever the
//     number of groups), named like the group and holding exactly the captured bytes, which lie
//     inside the line;
//   - the JSON encoding of every event is one valid JSON object on one line; the text encoding
//     lets no control character through.
#include <re2/re2.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/encoder.hpp"
#include "fuzz_common.hpp"
#include "parse/event_parser.hpp"
#include "parse/framer.hpp"
#include "parse/timezone.hpp"
#include "sluice/batch.hpp"

namespace sluice {
namespace {

constexpr int64_t kNow = 1'710'408'413'000'000'000;  // 2024-03-14T09:26:53Z
// Longer patterns only make RE2's compiler slower, not the parser more interesting.
constexpr size_t kMaxPatternBytes = 512;

// 40 groups, the last ones named: more than a fixed-size array of captures would hold.
std::string many_groups() {
  std::string p;
  for (int i = 0; i < 36; ++i) p += "(\\S)";
  for (int i = 0; i < 4; ++i) p += "(?P<g" + std::to_string(i) + ">\\S*)";
  return p;
}

struct Fixed {
  std::string pattern;
  bool nested;
};

const std::vector<Fixed>& fixed_patterns() {
  static const auto* list = new std::vector<Fixed>{
      // deploy/node-daemon.yaml: rsyslog lines.
      {R"re(^(?P<time>\d{4}-\d\d-\d\dT\S+|[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) )re"
       R"re((?P<hostname>\S+) (?P<program>[^\s\[:]+)(?:\[(?P<pid>\d+)\])?: (?P<message>.*)$)re",
       false},
      // Apache / CLF access lines.
      {R"re(^(?P<client>\S+) \S+ (?P<user>\S+) \[(?P<timestamp>[^\]]+)\] "(?P<method>\S+) )re"
       R"re((?P<path>\S+) (?P<proto>[^"]*)" (?P<status>\d{3}) (?P<bytes>\d+|-))re",
       true},
      // log4j: `2015-10-18 18:01:47,978 INFO [thread] class: msg`.
      {R"re((?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+) +(?P<level>[A-Z]+) +)re"
       R"re((?:\[(?P<thread>[^\]]*)\] )?(?P<logger>[^:]+): (?P<msg>.*))re",
       false},
      // Groups that may match empty or not at all, and one named `message`.
      {R"re((?P<a>x*)(?P<b>y)?(?P<message>.*?)(?P<t>\d+)?$)re", true},
      {many_groups(), false},
  };
  return *list;
}

std::unique_ptr<EventParser> make_parser(const std::string& pattern, bool nested,
                                         std::string* error) {
  ParserOptions options;
  options.kind = ParserKind::Regex;
  options.pattern = pattern;
  if (nested) {
    options.target = "parsed";
    options.keep_raw = true;
    // Loaded once: reading the zone file for every input would dominate the run time.
    static const auto zone = [] {
      std::string zone_error;
      auto z = TimeZone::load("Europe/Berlin", &zone_error);
      if (!z) __builtin_trap();  // tzdata is a build dependency
      return z;
    }();
    options.zone = zone;
  }
  return EventParser::create(std::move(options), error);
}

bool inside(std::string_view inner, std::string_view outer) {
  return inner.data() >= outer.data() && inner.size() <= outer.size() &&
         static_cast<size_t>(inner.data() - outer.data()) <= outer.size() - inner.size();
}

class Checker {
 public:
  // `re`: the parser's pattern, compiled here too (as the reference matcher).
  void run(const EventParser& parser, const re2::RE2& re, std::string_view text) {
    const ParserOptions& options = parser.options();
    FUZZ_CHECK(re.ok() && re.pattern() == options.pattern);
    const int ngroups = re.NumberOfCapturingGroups() + 1;
    std::vector<re2::StringPiece> groups(static_cast<size_t>(ngroups));
    const std::map<std::string, int>& names = re.NamedCapturingGroups();
    FUZZ_CHECK(!names.empty());

    batch_.reset();
    batch_.stream = "stdout";
    batch_.read_time_ns = kNow;
    frame_text(batch_, text);
    // The lines as framed, before parsing (parse() leaves Event::line alone, but check it).
    std::vector<std::string_view> lines;
    for (const Event& e : batch_.events) lines.push_back(e.line);
    parser.parse(batch_, kNow);
    FUZZ_CHECK(lines.size() == batch_.events.size());

    const bool nested = !options.target.empty();
    const SourceMeta meta{"fuzz", "fuzz-host", options.keep_raw};
    for (size_t k = 0; k < batch_.events.size(); ++k) {
      const Event& event = batch_.events[k];
      const std::string_view line = lines[k];
      FUZZ_CHECK(event.line.data() == line.data() && event.line.size() == line.size());
      FUZZ_CHECK(static_cast<size_t>(event.first_field) + event.field_count <=
                 batch_.fields.size());
      const Field* first = batch_.fields.data() + event.first_field;
      const bool matched = re.Match(re2::StringPiece(line.data(), line.size()), 0, line.size(),
                                    re2::RE2::UNANCHORED, groups.data(), ngroups);
      if (!matched) {
        FUZZ_CHECK(event.flags & kFlagParseError);
        FUZZ_CHECK(event.field_count == 1 && first->key == "message");
        FUZZ_CHECK(first->value.text.data() == line.data() && first->value.text == line);
      } else if (nested) {
        FUZZ_CHECK((event.flags & kFlagParseError) == 0);
        FUZZ_CHECK(event.field_count == 1 && first->key == options.target);
        FUZZ_CHECK(first->value.kind == ValueKind::Json);
        FUZZ_CHECK(fuzz::is_json(first->value.text));
      } else {
        FUZZ_CHECK((event.flags & kFlagParseError) == 0);
        // One field per participating named group, in the order of the group names. (The
        // timestamp extraction blanks only an `@timestamp` key, which no RE2 group name is.)
        size_t expected = 0;
        for (const auto& [name, index] : names) {
          if (groups[static_cast<size_t>(index)].data() != nullptr) ++expected;
        }
        if (event.field_count != expected) {
          std::fprintf(stderr, "pattern %s: %u fields, %zu groups matched in: %.*s\n",
                       options.pattern.c_str(), event.field_count, expected,
                       static_cast<int>(line.size()), line.data());
          for (uint32_t i = 0; i < event.field_count; ++i) {
            std::fprintf(stderr, "  %.*s\n", static_cast<int>(first[i].key.size()),
                         first[i].key.data());
          }
        }
        FUZZ_CHECK(event.field_count == expected);
        size_t f = 0;
        for (const auto& [name, index] : names) {
          const re2::StringPiece& g = groups[static_cast<size_t>(index)];
          if (g.data() == nullptr) continue;
          const Field& field = first[f++];
          FUZZ_CHECK(field.key == name);
          FUZZ_CHECK(field.value.kind == ValueKind::String);
          FUZZ_CHECK(field.value.text.data() == g.data() && field.value.text.size() == g.size());
          FUZZ_CHECK(inside(field.value.text, line));
        }
      }
      out_.clear();
      encode_event(batch_, event, meta, EncodingSpec{EncodingSpec::Kind::Json}, out_);
      fuzz::check_encoded_json(out_.view());
      out_.clear();
      encode_event(batch_, event, meta, EncodingSpec{EncodingSpec::Kind::Text}, out_);
      fuzz::check_encoded_text(out_.view());
    }
  }

 private:
  Batch batch_;  // reused, like the pipeline's pooled batches
  ByteBuffer out_;
};

}  // namespace
}  // namespace sluice

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice;
  static Checker* checker = new Checker();
  struct Compiled {
    std::unique_ptr<EventParser> parser;
    std::unique_ptr<re2::RE2> re;
  };
  static const auto* fixed = [] {
    auto* list = new std::vector<Compiled>();
    for (const Fixed& f : fixed_patterns()) {
      std::string error;
      auto parser = make_parser(f.pattern, f.nested, &error);
      if (!parser) {
        std::fprintf(stderr, "fixed pattern refused: %s\n", error.c_str());
        __builtin_trap();
      }
      list->push_back({std::move(parser), std::make_unique<re2::RE2>(f.pattern, re2::RE2::Quiet)});
    }
    return list;
  }();

  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  const std::string_view pattern = input.substr(0, newline);
  // Empty but never null: ByteBuffer::append memcpy()s from it.
  const std::string_view text =
      input.substr(newline == std::string_view::npos ? size : newline + 1);

  if (!pattern.empty() && pattern.size() <= kMaxPatternBytes) {
    // Odd bytes of the pattern choose the nested variant, so both get fuzzed.
    const bool nested = (pattern.size() & 1) != 0;
    std::string error;
    auto parser = make_parser(std::string(pattern), nested, &error);
    if (parser) {
      FUZZ_CHECK(error.empty());
      const re2::RE2 re(parser->options().pattern, re2::RE2::Quiet);
      checker->run(*parser, re, text);
    } else {
      FUZZ_CHECK(!error.empty());
    }
  }
  for (const Compiled& c : *fixed) checker->run(*c.parser, *c.re, input);
  return 0;
}
