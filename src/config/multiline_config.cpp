#include "config/multiline_config.hpp"

#include <initializer_list>
#include <utility>

#include "options/map_reader.hpp"

namespace sluice {

std::shared_ptr<const MultilineOptions> read_multiline_options(MapReader& source_config) {
  using Mode = MultilineOptions::Mode;
  const std::initializer_list<std::pair<const char*, Mode>> kModes = {{"java", Mode::Java},
                                                                      {"python", Mode::Python},
                                                                      {"go", Mode::Go},
                                                                      {"custom", Mode::Custom},
                                                                      {"auto", Mode::Auto}};
  if (!source_config.has("multiline")) {
    (void)source_config.string("multiline");  // `multiline: ~` is no error either
    return nullptr;
  }
  auto options = std::make_shared<MultilineOptions>();
  if (source_config.node()["multiline"].IsScalar()) {
    // `multiline: java`: the built-in modes need nothing else.
    options->mode = source_config.choice<Mode>("multiline", Mode::Custom, kModes);
    if (options->mode == Mode::Custom) {
      source_config.fail("multiline",
                         "`multiline: custom` needs patterns: write it as a mapping with "
                         "`start_pattern` and/or `continue_pattern`");
    }
    return options;
  }
  MapReader m = source_config.sub("multiline");
  bool has_start = m.has("start_pattern");
  bool has_continue = m.has("continue_pattern");
  if (!m.has("mode") && !has_start && !has_continue) {
    m.fail_here("`mode` is required (java, python, go, auto or custom)");
  }
  options->mode = m.choice<Mode>("mode", Mode::Custom, kModes);
  options->start_pattern = m.string("start_pattern", "");
  options->continue_pattern = m.string("continue_pattern", "");
  if (options->mode != Mode::Custom && (has_start || has_continue)) {
    m.fail(has_start ? "start_pattern" : "continue_pattern",
           "patterns are only used with `mode: custom`");
  }
  options->flush_after_ns = m.duration_ns("flush_after", options->flush_after_ns);
  if (options->flush_after_ns < 1'000'000) {
    m.fail("flush_after", "`flush_after` must be at least 1ms");
  }
  options->max_lines = static_cast<size_t>(
      m.integer("max_lines", static_cast<int64_t>(options->max_lines), 1, 1'000'000));
  options->max_bytes = m.size("max_bytes", options->max_bytes);
  if (options->max_bytes < 16) m.fail("max_bytes", "`max_bytes` must be at least 16");
  std::string error;
  for (const char* key : {"start_pattern", "continue_pattern"}) {
    const std::string& pattern = key[0] == 's' ? options->start_pattern : options->continue_pattern;
    if (!valid_multiline_pattern(pattern, key, &error)) m.fail(key, error);
  }
  if (options->mode == Mode::Custom && !MultilineJoiner::create(*options, &error)) {
    m.fail_here(error);
  }
  m.finish();
  return options;
}

}  // namespace sluice
