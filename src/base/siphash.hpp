#pragma once
// SipHash (Aumasson and Bernstein, 2012), bit-exact with the reference implementation: a keyed
// hash for tables whose keys come from outside (log content). With a secret random key, someone
// who chooses the keys cannot make them collide on purpose (hash flooding), as they can with an
// unkeyed hash such as std::hash or with xxh64 and a seed. SipHash-1-3 is the variant hash tables
// use (Rust's HashMap, CPython); SipHash-2-4 is the paper's, kept for its published test vectors.
#include <cstdint>
#include <string_view>

namespace sluice {

struct SipKey {
  uint64_t k0 = 0;
  uint64_t k1 = 0;
};

uint64_t siphash13(const SipKey& key, std::string_view data);
uint64_t siphash24(const SipKey& key, std::string_view data);

// 128 bits from the kernel's random pool (getrandom(2), not blocking). Early at boot, before
// the pool is initialised, it falls back to the clock, the pid and an address: unpredictable
// enough for a hash table's key, which is not a cryptographic secret.
SipKey random_sip_key();

}  // namespace sluice
