#include "sources/file/fingerprint.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sluice {

namespace {

// Reads up to `len` bytes at offset 0, retrying on EINTR and short reads; -1 on error.
ssize_t pread_prefix(int fd, unsigned char* buf, size_t len) {
  size_t got = 0;
  while (got < len) {
    ssize_t n = ::pread(fd, buf + got, len - got, static_cast<off_t>(got));
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  return static_cast<ssize_t>(got);
}

}  // namespace

bool read_fingerprint(int fd, FileIdentity& id) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return false;
  unsigned char buf[kFingerprintBytes];
  ssize_t n = pread_prefix(fd, buf, sizeof buf);
  if (n < 0) return false;
  id.dev = st.st_dev;
  id.ino = st.st_ino;
  id.fp_len = static_cast<uint32_t>(n);
  id.fp_hash = xxh64(buf, static_cast<size_t>(n));
  return true;
}

bool same_file(int fd, const FileIdentity& saved) {
  // An fp_len beyond what we ever write comes from a damaged checkpoint: not the same.
  if (saved.fp_len > kFingerprintBytes) return false;
  struct stat st {};
  if (::fstat(fd, &st) != 0) return false;
  if (st.st_dev != saved.dev || st.st_ino != saved.ino) return false;
  unsigned char buf[kFingerprintBytes];
  ssize_t n = pread_prefix(fd, buf, saved.fp_len);
  if (n < 0 || static_cast<size_t>(n) != saved.fp_len) return false;
  return xxh64(buf, saved.fp_len) == saved.fp_hash;
}

uint64_t stable_file_id(const FileIdentity& id) {
  // Serialised field by field (little-endian) rather than hashing the struct, whose padding
  // bytes are unspecified.
  unsigned char buf[28];
  auto put = [&buf](size_t at, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) buf[at + static_cast<size_t>(i)] = (v >> (8 * i)) & 0xFF;
  };
  put(0, id.dev, 8);
  put(8, id.ino, 8);
  put(16, id.fp_len, 4);
  put(20, id.fp_hash, 8);
  return xxh64(buf, sizeof buf);
}

}  // namespace sluice
