#include "base/secrets.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <mutex>
#include <vector>

namespace sluice::secrets {

namespace {

// Remembered values, longest first (so that a secret containing another is masked whole).
// Written while the config is read, before the pipeline's threads exist; read by every thread
// that logs. Log lines are rare (rate-limited), so one mutex is cheap enough.
std::mutex g_mutex;
std::vector<std::string> g_values;
std::atomic<bool> g_any{false};

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

// `prefix.*`, alone or after a dot (`librdkafka.sasl.password`).
bool has_family(std::string_view name, std::string_view prefix) {
  if (name.substr(0, prefix.size()) == prefix) return true;
  std::string dotted = ".";
  dotted.append(prefix);
  return contains(name, dotted);
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decoded(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_digit(s[i + 1]) >= 0 && hex_digit(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

bool is_scheme_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '+' || c == '-' || c == '.';
}

// Where a URL written in free text ends: at blanks, quotes and the delimiters messages put
// around values.
bool ends_url(char c) {
  return std::isspace(static_cast<unsigned char>(c)) != 0 || c == '"' || c == '\'' || c == '`' ||
         c == '<' || c == '>' || c == '\\';
}

void mask_remembered(std::string& text) {
  std::lock_guard<std::mutex> lock(g_mutex);
  for (const std::string& value : g_values) {
    for (size_t pos = text.find(value); pos != std::string::npos;
         pos = text.find(value, pos + kMask.size())) {
      text.replace(pos, value.size(), kMask);
    }
  }
}

void mask_urls(std::string& text) {
  for (size_t sep = text.find("://"); sep != std::string::npos; sep = text.find("://", sep)) {
    size_t start = sep;
    while (start > 0 && is_scheme_char(text[start - 1])) --start;
    size_t end = sep + 3;
    while (end < text.size() && !ends_url(text[end])) ++end;
    std::string url = redact_url(std::string_view(text).substr(start, end - start));
    text.replace(start, end - start, url);
    sep = start + url.size();
  }
}

}  // namespace

bool is_secret_name(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (std::string_view part : {"password", "passwd", "secret", "api_key", "apikey", "token",
                                "credential", "private_key"}) {
    if (contains(lower, part)) return true;
  }
  return has_family(lower, "sasl.") || has_family(lower, "ssl.key.");
}

void remember(std::string_view value) {
  if (value.size() < kMinRemembered) return;
  std::lock_guard<std::mutex> lock(g_mutex);
  if (std::find(g_values.begin(), g_values.end(), value) != g_values.end()) return;
  g_values.emplace_back(value);
  std::stable_sort(g_values.begin(), g_values.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  g_any.store(true);
}

std::string redact(std::string_view text) {
  std::string out(text);
  redact_in_place(out);
  return out;
}

void redact_in_place(std::string& text) {
  if (g_any.load()) mask_remembered(text);
  if (text.find("://") != std::string::npos) mask_urls(text);
}

std::string redact_url(std::string_view url) {
  const size_t sep = url.find("://");
  if (sep == std::string_view::npos) return std::string(url);
  const size_t authority = sep + 3;
  const size_t authority_end = std::min(url.find_first_of("/?#", authority), url.size());
  std::string out(url.substr(0, authority));
  const std::string_view host_part = url.substr(authority, authority_end - authority);
  if (size_t at = host_part.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = host_part.substr(0, at);
    if (size_t colon = userinfo.find(':'); colon != std::string_view::npos) {
      out.append(userinfo.substr(0, colon)).append(":");
    }
    out.append(kMask).append(host_part.substr(at));
  } else {
    out.append(host_part);
  }
  const size_t query = url.find('?', authority_end);
  out.append(url.substr(authority_end, std::min(query, url.size()) - authority_end));
  if (query == std::string_view::npos) return out;
  const size_t fragment = std::min(url.find('#', query), url.size());
  std::string_view pairs = url.substr(query + 1, fragment - query - 1);
  out.push_back('?');
  for (size_t begin = 0; begin <= pairs.size();) {
    const size_t amp = std::min(pairs.find('&', begin), pairs.size());
    std::string_view pair = pairs.substr(begin, amp - begin);
    const size_t eq = pair.find('=');
    if (eq != std::string_view::npos && eq + 1 < pair.size() &&
        is_secret_name(percent_decoded(pair.substr(0, eq)))) {
      out.append(pair.substr(0, eq + 1)).append(kMask);
    } else {
      out.append(pair);
    }
    if (amp < pairs.size()) out.push_back('&');
    begin = amp + 1;
  }
  out.append(url.substr(fragment));
  return out;
}

void forget_all_for_testing() {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_values.clear();
  g_any.store(false);
}

}  // namespace sluice::secrets
