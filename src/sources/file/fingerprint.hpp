#pragma once
// Identity of a tailed file. dev+ino alone is not enough: after a file is deleted its inode is
// soon reused by a new file, and resuming the new file at the old offset would skip its start.
// So the identity also holds a hash of the first bytes: same inode and same first bytes = same
// content stream (renames keep both).
#include <cstddef>
#include <cstdint>

#include "base/xxh64.hpp"  // fp_hash is an xxh64

namespace sluice {

inline constexpr uint32_t kFingerprintBytes = 256;

struct FileIdentity {
  uint64_t dev = 0;
  uint64_t ino = 0;
  uint32_t fp_len = 0;   // bytes hashed: min(file size, kFingerprintBytes) when read
  uint64_t fp_hash = 0;  // xxh64 of those bytes
};

// Fills `id` from `fd`: dev and ino (fstat), and the hash of up to kFingerprintBytes read from
// offset 0 with pread (the file position is untouched). A file shorter than kFingerprintBytes
// gets a shorter fingerprint; callers re-read it while fp_len < kFingerprintBytes so that it
// becomes stronger as the file grows. Returns false with errno set on an I/O error.
bool read_fingerprint(int fd, FileIdentity& id);

// True when `fd` is the content stream `saved` describes: same dev and ino, and its first
// saved.fp_len bytes hash to saved.fp_hash. A file now shorter than fp_len is not the same (it
// was truncated or replaced); so is one that cannot be read.
bool same_file(int fd, const FileIdentity& saved);

// A 64-bit mix of all four fields, e.g. for event ids.
uint64_t stable_file_id(const FileIdentity& id);

}  // namespace sluice
