#include "core/event_id.hpp"

#include <cstring>

#include "base/xxh64.hpp"

namespace sluice {

namespace {

void put64(unsigned char* at, uint64_t v) {
  for (int i = 0; i < 8; ++i) at[i] = static_cast<unsigned char>(v >> (8 * i));
}

}  // namespace

uint64_t id_seed_for(std::string_view source_name) {
  return xxh64(source_name.data(), source_name.size(), 0x736c75696365ull);  // "sluice"
}

EventId event_id(uint64_t seed, const Batch& batch, const Event& event) {
  // Metadata fields are folded key and value, each with its length, so ("ab","c") and
  // ("a","bc") differ.
  uint64_t meta = 0;
  for (uint32_t i = 0; i < event.meta_count; ++i) {
    const Field& f = batch.meta[event.meta_first + i];
    meta = xxh64(f.key.data(), f.key.size(), meta ^ f.key.size());
    meta = xxh64(f.value.text.data(), f.value.text.size(), meta ^ (f.value.text.size() << 1));
  }
  unsigned char buf[24];
  put64(buf, batch.origin ? batch.origin->file_id : 0);
  put64(buf + 8, event.offset);
  put64(buf + 16, meta);
  // Two independent 64-bit hashes: 128 bits keep collisions out of reach for any index size.
  return EventId{xxh64(buf, sizeof buf, seed), xxh64(buf, sizeof buf, ~seed)};
}

}  // namespace sluice
