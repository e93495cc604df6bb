#pragma once
// XXH64 (seed 0 by default), bit-exact with the reference implementation, so values are stable
// across runs, builds and machines: file fingerprints in checkpoints and event ids depend on it.
#include <cstddef>
#include <cstdint>

namespace sluice {

uint64_t xxh64(const void* data, size_t len, uint64_t seed = 0);

}  // namespace sluice
