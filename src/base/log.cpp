#include "base/log.hpp"

#include <unistd.h>

#include "base/civil_time.hpp"
#include "base/clock.hpp"
#include "base/secrets.hpp"

namespace sluice::log {

namespace {
std::atomic<int> g_threshold{static_cast<int>(Severity::Info)};

std::string_view severity_name(Severity s) {
  switch (s) {
    case Severity::Trace:
      return "trace";
    case Severity::Debug:
      return "debug";
    case Severity::Info:
      return "info";
    case Severity::Warn:
      return "warn";
    case Severity::Error:
      return "error";
  }
  return "info";
}

bool needs_quotes(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v) {
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20) {
      return true;
    }
  }
  return false;
}

void append_quoted(std::string& line, std::string_view v) {
  if (!needs_quotes(v)) {
    line.append(v);
    return;
  }
  line.push_back('"');
  for (char c : v) {
    switch (c) {
      case '"':
        line.append("\\\"");
        break;
      case '\\':
        line.append("\\\\");
        break;
      case '\n':
        line.append("\\n");
        break;
      case '\r':
        line.append("\\r");
        break;
      case '\t':
        line.append("\\t");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          line.append(fmt::format("\\u{:04x}", static_cast<unsigned char>(c)));
        } else {
          line.push_back(c);
        }
    }
  }
  line.push_back('"');
}

// Every message and value, librdkafka's forwarded log lines included, loses remembered secrets
// and URL credentials here, before quoting (which would change how a secret is spelt): no caller
// has to remember to do it.
void append_value(std::string& line, std::string_view v) {
  std::string masked(v);
  secrets::redact_in_place(masked);
  append_quoted(line, masked);
}
}  // namespace

void set_threshold(Severity severity) { g_threshold.store(static_cast<int>(severity)); }

bool set_threshold_from_name(std::string_view name) {
  for (Severity s :
       {Severity::Trace, Severity::Debug, Severity::Info, Severity::Warn, Severity::Error}) {
    if (severity_name(s) == name) {
      set_threshold(s);
      return true;
    }
  }
  if (name == "warning") {
    set_threshold(Severity::Warn);
    return true;
  }
  return false;
}

bool enabled(Severity severity) { return static_cast<int>(severity) >= g_threshold.load(); }

void append_pair(std::string& line, std::string_view key, std::string_view value) {
  line.push_back(' ');
  line.append(key);
  line.push_back('=');
  append_value(line, value);
}

void emit(Severity severity, std::string_view message, std::string& pairs) {
  char ts[kRfc3339Length];
  format_rfc3339(wall_clock_ns(), ts);
  std::string line;
  line.reserve(64 + message.size() + pairs.size());
  line.append("ts=");
  line.append(ts, 23);
  line.push_back('Z');
  line.append(" level=");
  line.append(severity_name(severity));
  line.append(" msg=");
  append_value(line, message);
  line.append(pairs);
  line.push_back('\n');
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(2, p, left);
    if (n <= 0) break;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

bool RateLimit::allow(uint64_t* suppressed) {
  int64_t now = monotonic_ns();
  int64_t next = next_ns_.load(std::memory_order_relaxed);
  if (now >= next && next_ns_.compare_exchange_strong(next, now + interval_ns_)) {
    *suppressed = suppressed_.exchange(0);
    return true;
  }
  suppressed_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

}  // namespace sluice::log
