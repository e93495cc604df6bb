#pragma once
// Fills a batch with lines the way a source does: bytes in the padded buffer, framed in place.
#include <string>
#include <vector>

#include "parse/framer.hpp"
#include "sluice/batch.hpp"

namespace sluice::testing {

inline void fill_batch(Batch& batch, const std::vector<std::string>& lines) {
  std::string joined;
  for (const auto& line : lines) joined += line + "\n";
  frame_text(batch, joined);
}

}  // namespace sluice::testing
