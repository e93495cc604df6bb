#include "server/prometheus.hpp"

#include <cmath>
#include <cstddef>

#include <fmt/format.h>

#include "base/json_writer.hpp"
#include "base/utf8.hpp"

namespace sluice {

namespace {

bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// The format is UTF-8 and escapes backslash and newline (HELP text), and also the double quote
// (label values). Values come from outside (file names are bytes, not text): each invalid UTF-8
// byte becomes U+FFFD, so that the page stays valid whatever a value holds.
void append_escaped(std::string& out, std::string_view text, bool escape_quote) {
  const bool valid = is_valid_utf8(text);
  for (size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (!valid && static_cast<unsigned char>(c) >= 0x80) {
      const size_t len = utf8_sequence_length(text, i);
      if (len == 0) {
        out.append(kReplacement);
        ++i;
      } else {
        out.append(text.substr(i, len));
        i += len;
      }
      continue;
    }
    ++i;
    switch (c) {
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '"':
        if (escape_quote) {
          out.append("\\\"");
        } else {
          out.push_back(c);
        }
        break;
      default:
        out.push_back(c);
    }
  }
}

std::string_view normalise_type(std::string_view type) {
  if (type == "counter" || type == "gauge") return type;
  return "untyped";
}

}  // namespace

std::string PrometheusWriter::sanitize_metric_name(std::string_view name) {
  std::string out;
  out.reserve(name.size() + 1);
  for (char c : name) {
    out.push_back(is_letter(c) || is_digit(c) || c == '_' || c == ':' ? c : '_');
  }
  if (out.empty() || is_digit(out.front())) out.insert(out.begin(), '_');
  return out;
}

std::string PrometheusWriter::sanitize_label_name(std::string_view name) {
  std::string out;
  out.reserve(name.size() + 1);
  for (char c : name) out.push_back(is_letter(c) || is_digit(c) || c == '_' ? c : '_');
  if (out.empty() || is_digit(out.front())) out.insert(out.begin(), '_');
  // Names starting with "__" are reserved for Prometheus' internal use.
  while (out.size() >= 2 && out[0] == '_' && out[1] == '_') out.erase(0, 1);
  return out;
}

std::string PrometheusWriter::format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // Whole numbers are printed as integers so that counters never show up as 1e+06; below 2^63 the
  // conversion to int64_t is exact.
  if (value == std::trunc(value) && std::fabs(value) < 9.2e18) {
    return fmt::format("{}", static_cast<int64_t>(value));
  }
  return fmt::format("{}", value);  // shortest text that reads back as the same double
}

PrometheusWriter::Family& PrometheusWriter::family_for(const std::string& name) {
  auto [it, inserted] = index_.try_emplace(name, families_.size());
  if (inserted) families_.push_back(Family{name, {}, false});
  return families_[it->second];
}

void PrometheusWriter::family(std::string_view name, std::string_view type, std::string_view help) {
  const std::string clean = sanitize_metric_name(name);
  Family& f = family_for(clean);
  if (f.declared) return;
  std::string header = "# HELP " + clean + ' ';
  append_escaped(header, help, /*escape_quote=*/false);
  header.append("\n# TYPE ").append(clean).push_back(' ');
  header.append(normalise_type(type)).push_back('\n');
  // Samples written before the declaration stay after it: HELP/TYPE must lead the family.
  f.lines.insert(0, header);
  f.declared = true;
  dirty_ = true;
}

void PrometheusWriter::append_sample(std::string_view name, Labels labels, std::string_view value) {
  const std::string clean = sanitize_metric_name(name);
  std::string& out = family_for(clean).lines;
  out.append(clean);
  if (labels.size() != 0) {
    std::vector<std::string> written;
    written.reserve(labels.size());
    out.push_back('{');
    for (const auto& [key, label_value] : labels) {
      std::string label = sanitize_label_name(key);
      bool repeated = false;
      for (const std::string& w : written) repeated = repeated || w == label;
      if (repeated) continue;
      if (!written.empty()) out.push_back(',');
      out.append(label).append("=\"");
      append_escaped(out, label_value, /*escape_quote=*/true);
      out.push_back('"');
      written.push_back(std::move(label));
    }
    out.push_back('}');
  }
  out.push_back(' ');
  out.append(value).push_back('\n');
  dirty_ = true;
}

void PrometheusWriter::sample(std::string_view name, Labels labels, uint64_t value) {
  append_sample(name, labels, fmt::format("{}", value));
}

void PrometheusWriter::sample(std::string_view name, Labels labels, int64_t value) {
  append_sample(name, labels, fmt::format("{}", value));
}

void PrometheusWriter::sample(std::string_view name, Labels labels, double value) {
  append_sample(name, labels, format_value(value));
}

const std::string& PrometheusWriter::text() const {
  if (dirty_) {
    size_t total = 0;
    for (const Family& f : families_) total += f.lines.size();
    text_.clear();
    text_.reserve(total);
    for (const Family& f : families_) text_.append(f.lines);
    dirty_ = false;
  }
  return text_;
}

}  // namespace sluice
