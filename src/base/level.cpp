#include "base/level.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>

#include "base/edit_distance.hpp"

namespace sluice {
namespace {

struct NamedLevel {
  std::string_view name;
  Level level;
};

// Lowercase spellings only; the input is folded before lookup.
// The one table of level spellings: JSON fields, conditions, `tail --level` and the plain-text
// detector (parse/text_detect.cpp) all read it. Lowercase; the input is folded before lookup.
// Besides the syslog names: Java's java.util.logging (severe, fine, finer, finest), Android's
// logcat letters (V verbose .. A assert) and zerolog's three-letter console names (trc, wrn, ftl,
// pnc; not "inf", which reads as infinity).
constexpr NamedLevel kNames[] = {
    {"trace", Level::Trace},      {"v", Level::Trace},
    {"t", Level::Trace},          {"verbose", Level::Trace},
    {"trc", Level::Trace},        {"finest", Level::Trace},
    {"finer", Level::Trace},      {"debug", Level::Debug},
    {"dbg", Level::Debug},        {"d", Level::Debug},
    {"fine", Level::Debug},       {"info", Level::Info},
    {"information", Level::Info}, {"informational", Level::Info},
    {"i", Level::Info},           {"notice", Level::Notice},
    {"n", Level::Notice},         {"warn", Level::Warn},
    {"warning", Level::Warn},     {"wrn", Level::Warn},
    {"w", Level::Warn},           {"error", Level::Error},
    {"err", Level::Error},        {"e", Level::Error},
    {"severe", Level::Error},     {"fatal", Level::Fatal},
    {"ftl", Level::Fatal},        {"critical", Level::Fatal},
    {"crit", Level::Fatal},       {"alert", Level::Fatal},
    {"emerg", Level::Fatal},      {"emergency", Level::Fatal},
    {"panic", Level::Fatal},      {"pnc", Level::Fatal},
    {"f", Level::Fatal},          {"a", Level::Fatal},
};

// Longer than any name above, so anything that does not fit cannot be a name.
constexpr std::size_t kMaxNameLength = 16;

// ASCII lowercase of `text` (at most kMaxNameLength bytes) in `out`: level names are lowercase.
std::string_view lowercase_into(std::string_view text, char (&out)[kMaxNameLength]) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    out[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return {out, text.size()};
}

}  // namespace

std::optional<Level> parse_level_name(std::string_view text) {
  if (text.empty() || text.size() > kMaxNameLength) return std::nullopt;
  char folded[kMaxNameLength];
  const std::string_view lower = lowercase_into(text, folded);
  // The first letter and the length rule out all but one or two names without a compare call
  // (plain-text detection asks for every line).
  for (const NamedLevel& entry : kNames) {
    if (entry.name[0] == lower[0] && entry.name.size() == lower.size() && entry.name == lower)
      return entry.level;
  }
  return std::nullopt;
}

namespace {

std::optional<Level> parse_number(std::string_view text) {
  double value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || !std::isfinite(value)) return std::nullopt;

  // The two scales do not overlap: syslog uses 0..7 and pino/bunyan starts at 10.
  if (value >= 10) {
    if (value >= 60) return Level::Fatal;
    if (value >= 50) return Level::Error;
    if (value >= 40) return Level::Warn;
    if (value >= 30) return Level::Info;
    if (value >= 20) return Level::Debug;
    return Level::Trace;
  }
  // Syslog severities are integers; 3.5 or 8 mean nothing on either scale.
  if (value < 0 || value > 7 || value != std::floor(value)) return std::nullopt;
  switch (static_cast<int>(value)) {
    case 0:
    case 1:
    case 2:
      return Level::Fatal;
    case 3:
      return Level::Error;
    case 4:
      return Level::Warn;
    case 5:
      return Level::Notice;
    case 6:
      return Level::Info;
    default:
      return Level::Debug;
  }
}

}  // namespace

std::optional<Level> parse_level(std::string_view text) {
  if (text.empty()) return std::nullopt;
  const char first = text.front();
  // from_chars would also accept "inf"/"nan", which are not levels; a leading digit or sign is a
  // cheap way to keep names away from the number path.
  if ((first >= '0' && first <= '9') || first == '-' || first == '.') return parse_number(text);
  return parse_level_name(text);
}

std::string_view level_name(Level level) {
  switch (level) {
    case Level::Trace:
      return "trace";
    case Level::Debug:
      return "debug";
    case Level::Info:
      return "info";
    case Level::Notice:
      return "notice";
    case Level::Warn:
      return "warn";
    case Level::Error:
      return "error";
    case Level::Fatal:
      return "fatal";
  }
  return "unknown";
}

bool is_level_key(std::string_view key) {
  return key == "level" || key == "lvl" || key == "severity" || key == "loglevel" ||
         key == "log.level";
}

std::string_view nearest_level_name(std::string_view text) {
  if (text.size() > kMaxNameLength) return {};
  char folded[kMaxNameLength];
  const std::string_view lower = lowercase_into(text, folded);
  std::string_view best;
  std::size_t best_distance = 3;
  for (const NamedLevel& entry : kNames) {
    if (entry.name.size() < 3) continue;
    const std::size_t d = edit_distance(lower, entry.name);
    if (d < best_distance) {
      best_distance = d;
      best = entry.name;
    }
  }
  return best;
}

}  // namespace sluice
