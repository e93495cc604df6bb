#pragma once
// The one duration grammar of sluice, for config options (`flush_interval: 500ms`) and the
// command line (`sluice tail --since 1h30m`): one or more `<number><unit>` terms, summed, with
// the units ns, us, ms, s, m, h and d; a number may have a fraction (`1.5h`); a plain number
// alone is seconds (`30`). Blanks around the text are ignored; none inside it.
#include <cstdint>
#include <string_view>

namespace sluice {

struct DurationParse {
  enum class Status { Ok, Invalid, TooLong };
  Status status = Status::Invalid;
  int64_t ns = 0;  // when Ok
};

// TooLong when the sum reaches 2^63 ns (292 years): it would not fit an int64_t.
DurationParse parse_duration(std::string_view text);

}  // namespace sluice
