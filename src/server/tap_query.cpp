#include "server/tap_query.hpp"

#include <charconv>
#include <optional>

namespace sluice {

namespace {

std::optional<std::string> percent_decoded(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    unsigned value = 0;
    if (i + 2 >= text.size()) return std::nullopt;  // needs two hex digits
    const char* first = text.data() + i + 1;
    auto [end, ec] = std::from_chars(first, first + 2, value, 16);
    if (ec != std::errc() || end != first + 2) return std::nullopt;
    out.push_back(static_cast<char>(value));
    i += 2;
  }
  return out;
}

}  // namespace

bool parse_tap_query(std::string_view query, TapRequest* request, std::string* error) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    const std::string_view key = pair.substr(0, eq);
    std::optional<std::string> value =
        percent_decoded(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    if (!value) {
      *error = "parameter `" + std::string(key) + "`: bad percent-encoding";
      return false;
    }
    if (key == "components") {
      std::string_view names = *value;
      while (!names.empty()) {
        const size_t comma = names.find(',');
        std::string_view name = names.substr(0, comma);
        if (!name.empty()) request->components.emplace_back(name);
        names = comma == std::string_view::npos ? std::string_view() : names.substr(comma + 1);
      }
    } else if (key == "rate") {
      uint32_t rate = 0;
      auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), rate);
      if (ec != std::errc() || end != value->data() + value->size() || rate == 0 ||
          rate > kMaxTapRate) {
        *error = "rate must be a number of events per second from 1 to " +
                 std::to_string(kMaxTapRate) + ", not `" + *value + "`";
        return false;
      }
      request->rate = rate;
    } else if (key == "format") {
      if (*value != "json" && *value != "text") {
        *error = "format must be json or text, not `" + *value + "`";
        return false;
      }
      request->text = *value == "text";
    } else if (key == "color") {
      if (*value != "0" && *value != "1" && *value != "true" && *value != "false") {
        *error = "color must be 1, 0, true or false, not `" + *value + "`";
        return false;
      }
      request->color = *value == "1" || *value == "true";
    } else {
      *error = "unknown parameter `" + std::string(key) +
               "` (components, rate, format and color are understood)";
      return false;
    }
  }
  return true;
}

}  // namespace sluice
