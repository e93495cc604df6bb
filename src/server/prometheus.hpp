#pragma once
// A writer for the Prometheus text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/). Scrapers reject a whole page
// for one malformed line, so the writer sanitises names and escapes values itself instead of
// trusting component names taken from user config.
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace sluice {

class PrometheusWriter {
 public:
  using Labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

  // Declares a metric family: its `# HELP` and `# TYPE` lines are written once, before its
  // samples (also when samples of that name came first). `type` is "counter" or "gauge";
  // anything else is written as "untyped". Declaring the same (sanitised) name again is ignored.
  void family(std::string_view name, std::string_view type, std::string_view help);

  // Adds one sample. Samples are grouped under their family whatever the call order, because the
  // format requires a family's lines to be contiguous. A sample of an undeclared family starts an
  // untyped family without HELP/TYPE lines. Label names are sanitised, label values escaped; a
  // repeated label name keeps its first value (a duplicate would make the page invalid).
  void sample(std::string_view name, Labels labels, uint64_t value);
  void sample(std::string_view name, Labels labels, double value);
  // Without these, an `int` or `size_t` argument would be ambiguous between the two above.
  void sample(std::string_view name, Labels labels, int64_t value);
  void sample(std::string_view name, Labels labels, int value) {
    sample(name, labels, static_cast<int64_t>(value));
  }
  void sample(std::string_view name, Labels labels, unsigned value) {
    sample(name, labels, static_cast<uint64_t>(value));
  }

  // The page so far: families in first-declared order.
  const std::string& text() const;

  // Rewrites `name` to match [a-zA-Z_:][a-zA-Z0-9_:]* (invalid characters become '_').
  static std::string sanitize_metric_name(std::string_view name);
  // Rewrites `name` to match [a-zA-Z_][a-zA-Z0-9_]* and not start with the reserved "__".
  static std::string sanitize_label_name(std::string_view name);
  // Formats a sample value: integers exactly, NaN / +Inf / -Inf as the format spells them.
  static std::string format_value(double value);

 private:
  struct Family {
    std::string name;
    std::string lines;  // HELP/TYPE, then samples
    bool declared;      // HELP/TYPE written
  };
  Family& family_for(const std::string& name);
  void append_sample(std::string_view name, Labels labels, std::string_view value);

  std::vector<Family> families_;
  std::unordered_map<std::string, size_t> index_;  // name -> position in families_
  mutable std::string text_;
  mutable bool dirty_ = false;
};

}  // namespace sluice
