#include "parse/duplicate_keys.hpp"

#include <algorithm>
#include <vector>

namespace sluice {

namespace detail {

namespace {

// Kept between calls up to this many slots (256 KiB); a larger table served one hostile line
// and is freed, so a worker does not hold megabytes for the rest of its life.
constexpr size_t kKeptSlots = size_t{1} << 16;

thread_local std::vector<uint32_t> tls_slots;

}  // namespace

std::span<uint32_t> acquire_slots(size_t keys) {
  size_t size = 64;
  while (size < keys * 2) size *= 2;
  if (tls_slots.size() < size) tls_slots.resize(size);
  std::fill_n(tls_slots.begin(), size, kEmptySlot);
  return {tls_slots.data(), size};
}

void release_slots() {
  if (tls_slots.size() > kKeptSlots) {
    tls_slots.clear();
    tls_slots.shrink_to_fit();
  }
}

}  // namespace detail

size_t drop_duplicate_fields(std::span<Field> fields) {
  return drop_earlier_duplicates(
      fields.size(), [&](size_t i) { return fields[i].key; },
      [&](size_t i) { fields[i].key = std::string_view(); });
}

}  // namespace sluice
