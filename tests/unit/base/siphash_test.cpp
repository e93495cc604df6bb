#include "base/siphash.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace sluice {
namespace {

// The reference key 00 01 ... 0f and messages 00 01 ... (n-1), as in the paper's test vectors.
const SipKey kReferenceKey{0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};

std::string counting_bytes(size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s.push_back(static_cast<char>(i));
  return s;
}

TEST(SipHash, MatchesTheReferenceVectors) {
  // SipHash-2-4: the paper's appendix A (15 bytes) and the reference implementation's vectors.h.
  EXPECT_EQ(siphash24(kReferenceKey, counting_bytes(0)), 0x726fdb47dd0e0e31ULL);
  EXPECT_EQ(siphash24(kReferenceKey, counting_bytes(1)), 0x74f839c593dc67fdULL);
  EXPECT_EQ(siphash24(kReferenceKey, counting_bytes(8)), 0x93f5f5799a932462ULL);
  EXPECT_EQ(siphash24(kReferenceKey, counting_bytes(15)), 0xa129ca6149be45e5ULL);
  // SipHash-1-3, as OpenSSL's SIPHASH MAC computes it with c-rounds:1 d-rounds:3.
  EXPECT_EQ(siphash13(kReferenceKey, counting_bytes(0)), 0xabac0158050fc4dcULL);
  EXPECT_EQ(siphash13(kReferenceKey, counting_bytes(1)), 0xc9f49bf37d57ca93ULL);
  EXPECT_EQ(siphash13(kReferenceKey, counting_bytes(8)), 0x369095118d299a8eULL);
  EXPECT_EQ(siphash13(kReferenceKey, counting_bytes(15)), 0xd320d86d2a519956ULL);
}

TEST(SipHash, TheKeyChangesTheHash) {
  const SipKey other{kReferenceKey.k0 ^ 1, kReferenceKey.k1};
  EXPECT_NE(siphash13(kReferenceKey, "shop/web-6b7c9d8f5d-k2x7q"),
            siphash13(other, "shop/web-6b7c9d8f5d-k2x7q"));
}

TEST(SipHash, RandomKeysDiffer) {
  std::set<std::pair<uint64_t, uint64_t>> seen;
  for (int i = 0; i < 16; ++i) {
    const SipKey key = random_sip_key();
    seen.emplace(key.k0, key.k1);
  }
  EXPECT_EQ(seen.size(), 16u);  // 16 draws of 128 bits: a repeat would be a broken source
}

}  // namespace
}  // namespace sluice
