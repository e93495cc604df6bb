#pragma once
// Deterministic event ids (`id: auto` of the elasticsearch sink): a 128-bit hash of where an
// event was read from, so that the same input read again after a crash or a restart gets the
// same id and a destination overwrites instead of storing it twice.
//
// Hashed: the source component's name (id_seed_for), the file's identity (Origin::file_id:
// device, inode and the fingerprint of its first bytes; 0 without a file), the event's byte
// offset in its file or stream, and the source's per-event metadata (`kafka.topic`,
// `kafka.partition`, `kafka.offset`, ...). Not hashed: anything derived from the content or the
// time of reading. Sources without replay (stdin, exec) still get distinct ids per stream
// position, but a rerun of a different input reuses them.
#include <cstdint>
#include <string_view>

#include "sluice/batch.hpp"
#include "sluice/sink.hpp"

namespace sluice {

// Per source, computed once: the seed every id of that source starts from.
uint64_t id_seed_for(std::string_view source_name);

EventId event_id(uint64_t seed, const Batch& batch, const Event& event);

}  // namespace sluice
