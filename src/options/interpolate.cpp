#include "options/interpolate.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace sluice {

EnvLookup process_environment(size_t max_total_bytes) {
  auto used = std::make_shared<size_t>(0);  // shared by every copy of the function
  return [used, max_total_bytes](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (!v) return std::nullopt;
    size_t n = std::strlen(v);
    if (n > max_total_bytes - std::min(*used, max_total_bytes)) {
      throw std::invalid_argument(
          "`${" + name + "}` and the variables before it expand the config by more than " +
          std::to_string(max_total_bytes >> 20) + " MiB in all (the limit of a config file)");
    }
    *used += n;
    return std::string(v, n);
  };
}

namespace {
bool valid_name(std::string_view name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) {
      return false;
    }
  }
  return true;
}
}  // namespace

std::string interpolate(std::string_view text, const EnvLookup& env) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c != '$' || i + 1 >= text.size()) {
      out.push_back(c);
      continue;
    }
    if (text[i + 1] == '$') {
      out.push_back('$');
      ++i;
      continue;
    }
    if (text[i + 1] != '{') {
      out.push_back(c);
      continue;
    }
    size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      throw std::invalid_argument("unclosed `${` in `" + std::string(text) + "`");
    }
    std::string_view body = text.substr(i + 2, close - i - 2);
    std::string_view name = body;
    std::string_view op, arg;
    if (size_t colon = body.find(':'); colon != std::string_view::npos) {
      name = body.substr(0, colon);
      op = body.substr(colon, 2);
      arg = body.substr(std::min(body.size(), colon + 2));
      if (op != ":-" && op != ":?") {
        throw std::invalid_argument("unknown operator in `${" + std::string(body) +
                                    "}` (use ${VAR}, ${VAR:-default} or ${VAR:?message})");
      }
    }
    if (!valid_name(name)) {
      throw std::invalid_argument("invalid variable name in `${" + std::string(body) + "}`");
    }
    std::optional<std::string> value = env(std::string(name));
    bool empty = !value || value->empty();
    if (op == ":-" && empty) {
      out.append(arg);
    } else if (op == ":?" && empty) {
      throw std::invalid_argument("environment variable " + std::string(name) +
                                  " is required: " + (arg.empty() ? "not set" : std::string(arg)));
    } else if (!value && op.empty()) {
      // Strict, as Vector's: `path: ${OUT_DIR}/o.jsonl` must not quietly become `/o.jsonl`.
      const std::string var(name);
      throw std::invalid_argument(
          "environment variable " + var + " is not set (set it, or write ${" + var +
          ":-} to allow it unset and empty, ${" + var + ":-default} for a default)");
    } else if (value) {
      out.append(*value);
    }
    i = close;
  }
  return out;
}

}  // namespace sluice
