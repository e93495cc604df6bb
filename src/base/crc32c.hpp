#pragma once
// CRC-32C (Castagnoli), the checksum of disk-buffer records: the SSE4.2 instruction where the CPU
// has it (several GB/s, so checksumming costs little next to the write itself), a table otherwise.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sluice {

// Continues a CRC: crc32c(b, crc32c(a)) == crc32c(a + b). Start with 0.
uint32_t crc32c(const void* data, size_t size, uint32_t crc = 0);

inline uint32_t crc32c(std::string_view data, uint32_t crc = 0) {
  return crc32c(data.data(), data.size(), crc);
}

}  // namespace sluice
