#include "server/prometheus_parser.hpp"

#include <charconv>
#include <cmath>
#include <limits>
#include <optional>

#include <fmt/format.h>

namespace sluice {

namespace {

bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_blank(char c) { return c == ' ' || c == '\t'; }

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// One sample line, consumed left to right; each step says why it failed.
class LineReader {
 public:
  LineReader(std::string_view line, const PrometheusParseLimits& limits)
      : line_(line), limits_(limits) {}

  // Fills `out`, or returns the reason the line is not a sample.
  std::optional<std::string> read(PrometheusSample& out) {
    skip_blanks();
    if (!read_name(out.name)) return "expected a metric name";
    if (peek() == '{') {
      ++pos_;
      if (auto why = read_labels(out)) return why;
    }
    if (!is_blank(peek())) return "expected a blank before the value";
    skip_blanks();
    if (!read_value(out.value)) return "the value is not a number";
    skip_blanks();
    if (!at_end() && !read_timestamp()) return "the timestamp is not an integer";
    skip_blanks();
    if (!at_end()) return "unexpected text after the value";
    return std::nullopt;
  }

 private:
  [[nodiscard]] bool at_end() const { return pos_ >= line_.size(); }
  [[nodiscard]] char peek() const { return at_end() ? '\0' : line_[pos_]; }
  void skip_blanks() {
    while (!at_end() && is_blank(line_[pos_])) ++pos_;
  }

  // [a-zA-Z_:][a-zA-Z0-9_:]*
  bool read_name(std::string& out) {
    const size_t start = pos_;
    while (!at_end()) {
      const char c = line_[pos_];
      const bool ok = is_letter(c) || c == '_' || c == ':' || (pos_ > start && is_digit(c));
      if (!ok) break;
      ++pos_;
    }
    out.assign(line_.substr(start, pos_ - start));
    return pos_ > start;
  }

  // [a-zA-Z_][a-zA-Z0-9_]*
  bool read_label_name(std::string& out) {
    const size_t start = pos_;
    while (!at_end()) {
      const char c = line_[pos_];
      if (!(is_letter(c) || c == '_' || (pos_ > start && is_digit(c)))) break;
      ++pos_;
    }
    out.assign(line_.substr(start, pos_ - start));
    return pos_ > start;
  }

  // After '{': `name="value"` pairs separated by commas, a trailing comma allowed, then '}'.
  std::optional<std::string> read_labels(PrometheusSample& out) {
    for (;;) {
      skip_blanks();
      if (peek() == '}') {
        ++pos_;
        return std::nullopt;
      }
      if (out.labels.size() == limits_.max_labels_per_sample) {
        return fmt::format("more than {} labels", limits_.max_labels_per_sample);
      }
      std::string name;
      if (!read_label_name(name)) return "expected a label name or '}'";
      skip_blanks();
      if (peek() != '=') return "expected '=' after a label name";
      ++pos_;
      skip_blanks();
      if (peek() != '"') return "expected '\"' to open a label value";
      ++pos_;
      std::string value;
      if (auto why = read_label_value(value)) return why;
      for (const auto& [existing, unused] : out.labels) {
        if (existing == name) return fmt::format("label `{}` repeated", name);
      }
      out.labels.emplace_back(std::move(name), std::move(value));
      skip_blanks();
      if (peek() == ',') {
        ++pos_;
      } else if (peek() != '}') {
        return "expected ',' or '}' after a label value";
      }
    }
  }

  // After the opening quote, up to and including the closing one.
  std::optional<std::string> read_label_value(std::string& out) {
    while (!at_end()) {
      const char c = line_[pos_++];
      if (c == '"') return std::nullopt;
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (at_end()) break;
      const char escaped = line_[pos_++];
      if (escaped == '\\' || escaped == '"') {
        out.push_back(escaped);
      } else if (escaped == 'n') {
        out.push_back('\n');
      } else {
        return "unknown escape in a label value (only \\\\, \\\" and \\n)";
      }
    }
    return "unterminated label value";
  }

  std::string_view token() {
    const size_t start = pos_;
    while (!at_end() && !is_blank(line_[pos_])) ++pos_;
    return line_.substr(start, pos_ - start);
  }

  // A Go ParseFloat number: an optional sign, decimal or exponent form, NaN, Inf, Infinity.
  bool read_value(double& out) {
    std::string_view text = token();
    bool negative = false;
    if (!text.empty() && (text.front() == '+' || text.front() == '-')) {
      negative = text.front() == '-';
      text.remove_prefix(1);
    }
    if (text.empty() || text.front() == '+' || text.front() == '-') return false;
    if (equals_ignoring_case(text, "nan")) {
      out = std::numeric_limits<double>::quiet_NaN();
      return true;
    }
    if (equals_ignoring_case(text, "inf") || equals_ignoring_case(text, "infinity")) {
      out = negative ? -std::numeric_limits<double>::infinity()
                     : std::numeric_limits<double>::infinity();
      return true;
    }
    double value = 0;
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, value);
    // Out of range: from_chars leaves `value` alone; a huge magnitude is infinity, as in Go.
    if (ec == std::errc::result_out_of_range && ptr == end) {
      value = std::numeric_limits<double>::infinity();
    } else if (ec != std::errc() || ptr != end) {
      return false;
    }
    out = negative ? -value : value;
    return true;
  }

  // Milliseconds since the epoch; not used, but a line with a bad one is malformed.
  bool read_timestamp() {
    std::string_view text = token();
    if (!text.empty() && text.front() == '-') text.remove_prefix(1);
    if (text.empty() || text.size() > 19) return false;
    for (char c : text) {
      if (!is_digit(c)) return false;
    }
    return true;
  }

  std::string_view line_;
  const PrometheusParseLimits& limits_;
  size_t pos_ = 0;
};

}  // namespace

std::string_view PrometheusSample::label(std::string_view key) const {
  for (const auto& [label_name, label_value] : labels) {
    if (label_name == key) return label_value;
  }
  return {};
}

PrometheusPage parse_prometheus_text(std::string_view text, const PrometheusParseLimits& limits) {
  PrometheusPage page;
  size_t line_number = 0;
  auto malformed = [&](std::string_view why) {
    if (page.malformed_lines++ == 0) {
      page.first_error = fmt::format("line {}: {}", line_number, why);
    }
  };
  while (!text.empty()) {
    const size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    size_t first = 0;
    while (first < line.size() && is_blank(line[first])) ++first;
    if (first == line.size() || line[first] == '#') continue;
    if (line.size() > limits.max_line_bytes) {
      malformed(fmt::format("longer than {} bytes", limits.max_line_bytes));
      continue;
    }
    if (page.samples.size() == limits.max_samples) {
      page.truncated = true;
      break;
    }
    PrometheusSample sample;
    if (auto why = LineReader(line, limits).read(sample)) {
      malformed(*why);
      continue;
    }
    page.samples.push_back(std::move(sample));
  }
  return page;
}

}  // namespace sluice
