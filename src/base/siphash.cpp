#include "base/siphash.hpp"

#include <sys/random.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstddef>

namespace sluice {

namespace {

uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

// Little-endian loads whatever the host order, so hashes are the same everywhere.
uint64_t load64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

struct SipState {
  uint64_t v0, v1, v2, v3;

  explicit SipState(const SipKey& key)
      : v0(key.k0 ^ 0x736f6d6570736575ULL),
        v1(key.k1 ^ 0x646f72616e646f6dULL),
        v2(key.k0 ^ 0x6c7967656e657261ULL),
        v3(key.k1 ^ 0x7465646279746573ULL) {}

  void round() {
    v0 += v1;
    v1 = rotl(v1, 13);
    v1 ^= v0;
    v0 = rotl(v0, 32);
    v2 += v3;
    v3 = rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = rotl(v1, 17);
    v1 ^= v2;
    v2 = rotl(v2, 32);
  }

  template <int Rounds>
  void compress(uint64_t m) {
    v3 ^= m;
    for (int i = 0; i < Rounds; ++i) round();
    v0 ^= m;
  }
};

template <int CompressionRounds, int FinalizationRounds>
uint64_t siphash(const SipKey& key, std::string_view data) {
  SipState s(key);
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  const size_t len = data.size();
  const size_t whole = len & ~size_t{7};
  for (size_t i = 0; i < whole; i += 8) s.compress<CompressionRounds>(load64(p + i));
  // The last 0-7 bytes, with the length's low byte on top.
  uint64_t last = static_cast<uint64_t>(len) << 56;
  for (size_t i = len - whole; i > 0; --i)
    last |= static_cast<uint64_t>(p[whole + i - 1]) << (8 * (i - 1));
  s.compress<CompressionRounds>(last);
  s.v2 ^= 0xff;
  for (int i = 0; i < FinalizationRounds; ++i) s.round();
  return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

}  // namespace

uint64_t siphash13(const SipKey& key, std::string_view data) { return siphash<1, 3>(key, data); }
uint64_t siphash24(const SipKey& key, std::string_view data) { return siphash<2, 4>(key, data); }

SipKey random_sip_key() {
  SipKey key;
  if (getrandom(&key, sizeof key, GRND_NONBLOCK) == static_cast<ssize_t>(sizeof key)) return key;
  // The pool is not ready yet (or getrandom is refused): values that differ per process and per
  // call, mixed through SipHash itself so that no input bit shows through.
  static int anchor = 0;
  const uint64_t now =
      static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  const uint64_t wall =
      static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
  const SipKey mix{now ^ reinterpret_cast<uintptr_t>(&anchor),
                   wall ^ static_cast<uint64_t>(getpid())};
  static std::atomic<uint64_t> calls{0};
  const uint64_t parts[2] = {calls.fetch_add(1, std::memory_order_relaxed),
                             reinterpret_cast<uintptr_t>(&key)};
  const std::string_view bytes(reinterpret_cast<const char*>(parts), sizeof parts);
  return SipKey{siphash24(mix, bytes), siphash24(SipKey{mix.k1, mix.k0}, bytes)};
}

}  // namespace sluice
