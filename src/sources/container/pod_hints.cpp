#include "sources/container/pod_hints.hpp"

#include <array>
#include <utility>

namespace sluice::kube {

std::optional<ParserKind> hinted_parser_kind(std::string_view name) {
  static constexpr std::array<std::pair<std::string_view, ParserKind>, 9> kNames{{
      {"auto", ParserKind::Auto},
      {"json", ParserKind::Json},
      {"logfmt", ParserKind::Logfmt},
      {"text", ParserKind::Text},
      {"syslog", ParserKind::Syslog},
      {"klog", ParserKind::Klog},
      {"clf", ParserKind::Clf},
      {"logcat", ParserKind::Logcat},
      {"none", ParserKind::None},
  }};
  for (const auto& [known, kind] : kNames) {
    if (known == name) return kind;
  }
  return std::nullopt;
}

std::optional<MultilineOptions::Mode> hinted_multiline_mode(std::string_view name) {
  using Mode = MultilineOptions::Mode;
  if (name == "java") return Mode::Java;
  if (name == "python") return Mode::Python;
  if (name == "go") return Mode::Go;
  if (name == "auto") return Mode::Auto;
  return std::nullopt;
}

FileHints file_hints(const PodHints& hints, std::string_view container) {
  FileHints out;
  out.exclude = hints.exclude;
  if (std::string_view parser = hints.parser_for(container); !parser.empty()) {
    out.parser = hinted_parser_kind(parser);
    if (!out.parser) out.unknown = "sluice.io/parser=" + std::string(parser);
  }
  if (!hints.multiline.empty()) {
    out.multiline = hinted_multiline_mode(hints.multiline);
    if (!out.multiline) {
      if (!out.unknown.empty()) out.unknown += ", ";
      out.unknown += "sluice.io/multiline=" + hints.multiline;
    }
  }
  return out;
}

}  // namespace sluice::kube
