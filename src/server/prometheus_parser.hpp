#pragma once
// A reader for the Prometheus text exposition format 0.0.4, the counterpart of
// server/prometheus.hpp's writer: `sluice top` reads a running sluice's /metrics with it.
// The page is a network answer, so nothing in it is trusted: a malformed line is skipped and
// counted (the rest of the page still counts), and limits bound what one page can make the
// reader hold. Comments (`# HELP`, `# TYPE`) carry nothing the reader needs and are skipped.
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice {

struct PrometheusSample {
  std::string name;
  // In the order written; values unescaped (`\\`, `\"`, `\n`).
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;  // NaN and ±Inf as written

  // The value of label `key`, or "" when the sample has no such label (as PromQL treats it).
  [[nodiscard]] std::string_view label(std::string_view key) const;
};

struct PrometheusParseLimits {
  size_t max_samples = 200'000;
  size_t max_labels_per_sample = 32;
  size_t max_line_bytes = 64 * 1024;
};

struct PrometheusPage {
  std::vector<PrometheusSample> samples;
  size_t malformed_lines = 0;  // skipped: not a comment, blank, or well-formed sample
  std::string first_error;     // why the first malformed line was skipped, with its line number
  bool truncated = false;      // max_samples reached; the rest of the page was not read
};

// Parses `text` line by line (LF or CRLF). A sample line is
// `name[{label="value",...}] value [timestamp]`; the timestamp is read and ignored.
PrometheusPage parse_prometheus_text(std::string_view text,
                                     const PrometheusParseLimits& limits = {});

}  // namespace sluice
