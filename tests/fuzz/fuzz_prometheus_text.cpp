// Fuzzes what `sluice top` does with the answer of a metrics endpoint, a network answer it cannot
// trust: the Prometheus text reader (server/prometheus_parser), the model built from two such
// pages (cli/top_model) and both views (cli/top_view). The input is the previous page, a NUL,
// then the current one (without a NUL, the same page twice). Invariants:
//   - every sample has a valid metric name, valid and distinct label names, at most the label
//     limit; the page holds at most max_samples; a malformed line comes with its reason;
//   - a sample written back in canonical form reads back as the same sample (idempotence);
//   - the model's figures are finite and not negative; the files are at most the limit, furthest
//     behind first;
//   - the table's lines fit the width and carry no control character (nothing from the page can
//     move the cursor or change colours); the JSON is valid UTF-8 JSON.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "base/json_writer.hpp"
#include "cli/top_model.hpp"
#include "cli/top_view.hpp"
#include "fuzz_common.hpp"
#include "server/prometheus_parser.hpp"

namespace sluice {
namespace {

constexpr size_t kWidth = 80;
constexpr size_t kMaxFiles = 5;

bool valid_name(std::string_view name, bool colon_allowed) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    const bool ok = letter || (colon_allowed && c == ':') || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

std::string canonical(const PrometheusSample& s) {
  std::string out = s.name;
  out.push_back('{');
  for (const auto& [name, value] : s.labels) {
    out += name;
    out += "=\"";
    for (char c : value) {
      if (c == '\\' || c == '"') out.push_back('\\');
      if (c == '\n') {
        out += "\\n";
      } else {
        out.push_back(c);
      }
    }
    out += "\",";
  }
  out += "} ";
  if (std::isnan(s.value)) {
    out += "NaN";
  } else if (std::isinf(s.value)) {
    out += s.value > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", s.value);
    out += buf;
  }
  return out;
}

bool same_value(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

void check_page(const PrometheusPage& page, const PrometheusParseLimits& limits) {
  FUZZ_CHECK(page.samples.size() <= limits.max_samples);
  FUZZ_CHECK((page.malformed_lines == 0) == page.first_error.empty());
  for (const PrometheusSample& s : page.samples) {
    FUZZ_CHECK(valid_name(s.name, true));
    FUZZ_CHECK(s.labels.size() <= limits.max_labels_per_sample);
    for (size_t i = 0; i < s.labels.size(); ++i) {
      FUZZ_CHECK(valid_name(s.labels[i].first, false));
      for (size_t k = 0; k < i; ++k) FUZZ_CHECK(s.labels[k].first != s.labels[i].first);
    }
    // The canonical line may be longer than the original (a value's 17 digits): default limits.
    PrometheusPage again = parse_prometheus_text(canonical(s));
    FUZZ_CHECK(again.malformed_lines == 0);
    FUZZ_CHECK(again.samples.size() == 1);
    FUZZ_CHECK(again.samples[0].name == s.name);
    FUZZ_CHECK(again.samples[0].labels == s.labels);
    FUZZ_CHECK(same_value(again.samples[0].value, s.value));
  }
}

bool finite_count(double v) { return std::isfinite(v) && v >= 0; }
bool finite_count(const std::optional<double>& v) { return !v || finite_count(*v); }

void check_model(const cli::TopModel& model) {
  FUZZ_CHECK(finite_count(model.interval_s));
  FUZZ_CHECK(finite_count(model.resident_bytes));
  FUZZ_CHECK(finite_count(model.files_followed));
  FUZZ_CHECK(finite_count(model.bytes_behind));
  for (const cli::ComponentRow& row : model.components) {
    FUZZ_CHECK(!row.name.empty());
    for (const auto& rate :
         {row.events_in_per_s, row.events_out_per_s, row.bytes_in_per_s, row.bytes_out_per_s,
          row.queue_fill, row.disk_fill, row.unacknowledged_events}) {
      FUZZ_CHECK(finite_count(rate));
    }
    for (const cli::CounterReading& c :
         {row.events_in, row.events_out, row.errors, row.parse_errors, row.dropped}) {
      FUZZ_CHECK(finite_count(c.total) && finite_count(c.recent));
    }
    FUZZ_CHECK(finite_count(row.failing_seconds));
  }
  FUZZ_CHECK(model.files.size() <= kMaxFiles);
  for (size_t i = 0; i < model.files.size(); ++i) {
    const cli::FileRow& f = model.files[i];
    FUZZ_CHECK(finite_count(f.bytes_behind()) && finite_count(f.read_bytes_per_s));
    if (i > 0) FUZZ_CHECK(model.files[i - 1].bytes_behind() >= f.bytes_behind());
  }
}

void check_views(const cli::TopModel& model) {
  cli::TopTableOptions options;
  options.address = "127.0.0.1:9598";
  options.width = kWidth;
  options.height = 30;
  options.interactive = true;
  const std::vector<std::string> lines = cli::render_top_table(model, options);
  FUZZ_CHECK(lines.size() <= options.height);
  for (const std::string& line : lines) {
    FUZZ_CHECK(is_valid_utf8(line));
    size_t columns = 0;
    for (size_t i = 0; i < line.size(); ++i) {
      const auto c = static_cast<unsigned char>(line[i]);
      FUZZ_CHECK(c >= 0x20 && c != 0x7F);
      // No C1 control (U+0080..U+009F, two bytes: C2 80..C2 9F).
      FUZZ_CHECK(
          !(c == 0xC2 && i + 1 < line.size() && static_cast<unsigned char>(line[i + 1]) < 0xA0));
      columns += (c & 0xC0) != 0x80;
    }
    FUZZ_CHECK(columns <= kWidth);
  }
  const std::string json = cli::render_top_json(model, options.address);
  FUZZ_CHECK(is_valid_utf8(json));
  FUZZ_CHECK(fuzz::StrictJson::valid(json));
}

}  // namespace
}  // namespace sluice

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t nul = input.find('\0');
  const std::string_view previous_text =
      nul == std::string_view::npos ? input : input.substr(0, nul);
  const std::string_view current_text =
      nul == std::string_view::npos ? input : input.substr(nul + 1);
  PrometheusParseLimits limits;
  limits.max_samples = 2000;
  limits.max_labels_per_sample = 8;
  limits.max_line_bytes = 4096;
  PrometheusPage previous_page = parse_prometheus_text(previous_text, limits);
  PrometheusPage current_page = parse_prometheus_text(current_text, limits);
  check_page(previous_page, limits);
  check_page(current_page, limits);

  const cli::Scrape previous{0, std::move(previous_page.samples)};
  const cli::Scrape current{1'500'000'000, std::move(current_page.samples)};
  for (const cli::Scrape* before : {static_cast<const cli::Scrape*>(nullptr), &previous}) {
    const cli::TopModel model = cli::build_top_model(before, current, kMaxFiles);
    check_model(model);
    check_views(model);
  }
  // A selection by glob runs fnmatch on names from the page.
  check_model(cli::build_top_model(&previous, current, kMaxFiles, {"*[a-f]*", "out"}));
  return 0;
}
