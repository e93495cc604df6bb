#pragma once
// The query GET /tap takes (see core/tap.hpp): components=a,b&rate=N&format=json|text&color=1.
#include <string>
#include <string_view>

#include "core/tap.hpp"

namespace sluice {

// Reads `query` (the part of the target after '?', percent-encoded) into `request`. `components`
// may be given several times and holds comma-separated names; none means every source and
// transform. False with `error` for an unknown parameter or a bad value.
bool parse_tap_query(std::string_view query, TapRequest* request, std::string* error);

}  // namespace sluice
