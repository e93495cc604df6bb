#pragma once
// Runs lines through an EventParser of one named kind and collects what came out, for the
// named parsers' tests (syslog, clf, klog, logcat).
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "parse/event_parser.hpp"
#include "parse/timestamp.hpp"
#include "support/batch.hpp"

namespace sluice::testing {

struct ParsedLine {
  std::map<std::string, std::string> fields;  // key → value text as written to JSON
  std::map<std::string, ValueKind> kinds;
  int64_t timestamp_ns = 0;
  uint16_t flags = 0;
};

// 2026-12-07T00:00:00Z: the clock that infers the year of year-less times in these tests.
constexpr int64_t kTestNow = 1'796'601'600'000'000'000;
constexpr int64_t kTestReadTime = 1'000'000'000'000'000'000;

// An RFC 3339 time in ns, for expected values written the way a reader checks them.
inline int64_t rfc3339_ns(const std::string& text) {
  std::optional<int64_t> ns = parse_timestamp(text, TimestampContext{});
  EXPECT_TRUE(ns) << text;
  return ns.value_or(0);
}

inline std::vector<ParsedLine> parse_lines(const std::vector<std::string>& lines,
                                           ParserOptions options, int64_t preset_ns = 0) {
  Batch batch;
  fill_batch(batch, lines);
  batch.read_time_ns = kTestReadTime;
  for (Event& e : batch.events) e.timestamp_ns = preset_ns;
  std::string error;
  auto parser = EventParser::create(std::move(options), &error);
  EXPECT_TRUE(parser) << error;
  if (!parser) return {};
  parser->parse(batch, kTestNow);
  std::vector<ParsedLine> out;
  for (const Event& e : batch.events) {
    ParsedLine p;
    for (uint32_t i = e.first_field; i < e.first_field + e.field_count; ++i) {
      const Field& f = batch.fields[i];
      if (!f.key.data()) continue;
      p.fields[std::string(f.key)] = std::string(f.value.text);
      p.kinds[std::string(f.key)] = f.value.kind;
    }
    p.timestamp_ns = e.timestamp_ns;
    p.flags = e.flags;
    out.push_back(std::move(p));
  }
  return out;
}

inline ParsedLine parse_one(const std::string& line, ParserKind kind) {
  ParserOptions options;
  options.kind = kind;
  std::vector<ParsedLine> out = parse_lines({line}, std::move(options));
  return out.empty() ? ParsedLine{} : out[0];
}

// The lines of a corpus file (CRLF ends trimmed), or none with a test failure.
inline std::vector<std::string> corpus_lines(const std::string& name) {
  std::ifstream in(std::string(SLUICE_CORPUS_DIR) + "/" + name);
  EXPECT_TRUE(in) << "missing corpus file " << name;
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  return lines;
}

}  // namespace sluice::testing
