#pragma once
// The edit (Levenshtein) distance between two words: the "did you mean" of config errors
// (option keys, component types, level names). Config time only; it allocates.
#include <cstddef>
#include <string_view>

namespace sluice {

std::size_t edit_distance(std::string_view a, std::string_view b);

}  // namespace sluice
