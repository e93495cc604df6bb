#pragma once
// sluice's own logs: logfmt lines on stderr (`ts=… level=warn msg="…" key=value`), level from
// SLUICE_LOG (trace|debug|info|warn|error, default info). Thread-safe; one write(2) per line.
// Secrets are masked in every line (base/secrets.hpp).
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace sluice::log {

enum class Severity { Trace, Debug, Info, Warn, Error };

void set_threshold(Severity severity);
bool set_threshold_from_name(std::string_view name);  // false for an unknown name
bool enabled(Severity severity);

// Formats `key=value` with logfmt quoting.
void append_pair(std::string& line, std::string_view key, std::string_view value);
void emit(Severity severity, std::string_view message, std::string& pairs);

template <typename V>
std::string to_text(const V& value) {
  if constexpr (std::is_convertible_v<V, std::string_view>) {
    return std::string(std::string_view(value));
  } else {
    return fmt::format("{}", value);
  }
}

template <typename... KV>
void write(Severity severity, std::string_view message, const KV&... kv) {
  if (!enabled(severity)) return;
  static_assert(sizeof...(KV) % 2 == 0, "log pairs come as key, value");
  std::string pairs;
  const std::string texts[] = {to_text(kv)..., std::string()};
  for (size_t i = 0; i + 1 < sizeof...(KV); i += 2) append_pair(pairs, texts[i], texts[i + 1]);
  emit(severity, message, pairs);
}

template <typename... KV>
void info(std::string_view message, const KV&... kv) {
  write(Severity::Info, message, kv...);
}
template <typename... KV>
void warn(std::string_view message, const KV&... kv) {
  write(Severity::Warn, message, kv...);
}
template <typename... KV>
void error(std::string_view message, const KV&... kv) {
  write(Severity::Error, message, kv...);
}
template <typename... KV>
void debug(std::string_view message, const KV&... kv) {
  write(Severity::Debug, message, kv...);
}

// Lets one log line through per interval and counts what it held back, so that a flood of bad
// input is reported without flooding stderr.
class RateLimit {
 public:
  explicit RateLimit(int64_t interval_ns = 5'000'000'000) : interval_ns_(interval_ns) {}
  // True when the caller should log now; `suppressed` is set to the number held back since.
  bool allow(uint64_t* suppressed);

 private:
  int64_t interval_ns_;
  std::atomic<int64_t> next_ns_{0};
  std::atomic<uint64_t> suppressed_{0};
};

}  // namespace sluice::log
