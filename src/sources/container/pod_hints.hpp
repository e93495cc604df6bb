#pragma once
// A pod's hints (its `sluice.io/*` annotations) as they apply to one container's file, checked
// against the names sluice knows: exclude, the parser, the multiline preset.
#include <optional>
#include <string>
#include <string_view>

#include "parse/event_parser.hpp"
#include "parse/multiline.hpp"
#include "sources/container/pod_metadata.hpp"

namespace sluice::kube {

// The `sluice.io/parser` names: those the `parser` option accepts, except `regex` (a pattern
// cannot be given in an annotation).
std::optional<ParserKind> hinted_parser_kind(std::string_view name);
// The `sluice.io/multiline` names: the built-in presets of the `multiline` option.
std::optional<MultilineOptions::Mode> hinted_multiline_mode(std::string_view name);

struct FileHints {
  bool exclude = false;
  std::optional<ParserKind> parser;  // a known name given; nullopt: the source's parser
  std::optional<MultilineOptions::Mode> multiline;
  // Hints whose value sluice does not know (`sluice.io/parser=yaml`), for the log line: the
  // source's own setting is used for those.
  std::string unknown;
};
FileHints file_hints(const PodHints& hints, std::string_view container);

}  // namespace sluice::kube
