#pragma once
// The encoder's memo of layouts (core/encode_memo.hpp) writes what the general encoder writes:
// an event recorded and then written again from its recorded layout gives the same bytes twice.
#include <string>

#include "core/encoder.hpp"
#include "fuzz_common.hpp"

namespace sluice::fuzz {

inline void check_memo_replay(const Batch& batch, const Event& event, const SourceMeta& meta) {
  ByteBuffer general, memoised;
  encode_event(batch, event, meta, EncodingSpec{EncodingSpec::Kind::Json}, general);
  EncodeMemo memo;
  memo.reset();
  encode_event(batch, event, meta, EncodingSpec{EncodingSpec::Kind::Json}, memoised, memo);
  encode_event(batch, event, meta, EncodingSpec{EncodingSpec::Kind::Json}, memoised, memo);
  const std::string twice = std::string(general.view()) + std::string(general.view());
  if (memoised.view() != twice) {
    std::fprintf(stderr, "the memo wrote\n%.*s\nthe general encoder\n%s\n",
                 static_cast<int>(memoised.size()), memoised.data(), twice.c_str());
    __builtin_trap();
  }
}

}  // namespace sluice::fuzz
