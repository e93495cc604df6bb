#pragma once
// One value per key: JSON objects and logfmt lines may repeat a key (`{"a":1,"a":2}`,
// `a=1 a=2`), and Elasticsearch rejects a document that does. Like most JSON readers, the last
// value wins; earlier ones are dropped. Keys are compared as unescaped bytes, so `"a"` and
// `"\u0061"` are the same key.
//
// The common case (a handful of distinct keys) costs a few instructions per key and allocates
// nothing; many keys (a hostile line) switch to a per-thread hash table, so the work stays
// linear in the number of keys.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string_view>

#include "sluice/event.hpp"

namespace sluice {

namespace detail {

// Up to this many keys, a 128-bit filter of the keys seen so far (by length, first and last
// byte) answers "new key" for nearly every key; only a key whose bit is taken is compared with
// the later keys. Beyond it, a hash table keeps the work linear.
inline constexpr size_t kFilteredKeyLimit = 32;
inline constexpr uint32_t kEmptySlot = UINT32_MAX;

// One of 128 buckets; equal keys always share one.
inline uint32_t key_bucket(std::string_view k) {
  uint32_t h = static_cast<uint32_t>(k.size()) * 0x9E3779B1u;
  if (!k.empty()) {
    h ^= static_cast<uint32_t>(static_cast<unsigned char>(k.front())) * 0x85EBCA77u;
    h ^= static_cast<uint32_t>(static_cast<unsigned char>(k.back())) * 0xC2B2AE3Du;
  }
  return h >> 25;
}

// A per-thread open-addressing table of at least 2 × `keys` slots (a power of two), all
// kEmptySlot. Reused across calls; an unusually large one is given back by release_slots().
std::span<uint32_t> acquire_slots(size_t keys);
void release_slots();

}  // namespace detail

// Calls drop(i) for every index i in [0, n) whose key(i) occurs again at a later index, so
// that only the last of each key is left. key(i) returning a view with a null data() pointer
// (a removed field) takes no part. Returns how many were dropped.
template <typename KeyAt, typename Drop>
size_t drop_earlier_duplicates(size_t n, KeyAt key, Drop drop) {
  if (n < 2) return 0;
  size_t dropped = 0;
  // From the last key back: a key seen already occurs later, so this one goes.
  if (n <= detail::kFilteredKeyLimit) {
    uint64_t seen[2] = {0, 0};
    for (size_t i = n; i-- > 0;) {
      const std::string_view k = key(i);
      if (k.data() == nullptr) continue;
      const uint32_t bucket = detail::key_bucket(k);
      const uint64_t bit = uint64_t{1} << (bucket & 63);
      uint64_t& word = seen[bucket >> 6];
      if (word & bit) {
        for (size_t j = i + 1; j < n; ++j) {
          const std::string_view other = key(j);
          if (other.size() == k.size() && other.data() != nullptr && other == k) {
            drop(i);
            ++dropped;
            break;
          }
        }
      }
      word |= bit;
    }
    return dropped;
  }
  const std::span<uint32_t> slots = detail::acquire_slots(n);
  const size_t mask = slots.size() - 1;
  for (size_t i = n; i-- > 0;) {
    const std::string_view k = key(i);
    if (k.data() == nullptr) continue;
    for (size_t h = std::hash<std::string_view>{}(k)&mask;; h = (h + 1) & mask) {
      if (slots[h] == detail::kEmptySlot) {
        slots[h] = static_cast<uint32_t>(i);
        break;
      }
      if (key(slots[h]) == k) {
        drop(i);
        ++dropped;
        break;
      }
    }
  }
  detail::release_slots();
  return dropped;
}

// Removes (Field::key = null view) every field whose key a later field repeats.
size_t drop_duplicate_fields(std::span<Field> fields);

}  // namespace sluice
