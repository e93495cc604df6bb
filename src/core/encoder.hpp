#pragma once
// Encodes events into the bytes a sink writes: JSON (the documented event schema), raw (the
// original line) or human-readable text. Appends to a reused buffer: no allocation per event.
#include "core/encode_memo.hpp"
#include "sluice/batch.hpp"
#include "sluice/byte_buffer.hpp"
#include "sluice/encoding.hpp"
#include "sluice/source_meta.hpp"

namespace sluice {

// Appends one encoded event followed by '\n'.
void encode_event(const Batch& batch, const Event& event, const SourceMeta& meta, EncodingSpec spec,
                  ByteBuffer& out);
// The same bytes, written from `memo`'s recorded layout when the event has one of them (JSON
// encoding; encode_memo.hpp). The caller resets the memo for every batch and output.
void encode_event(const Batch& batch, const Event& event, const SourceMeta& meta, EncodingSpec spec,
                  ByteBuffer& out, EncodeMemo& memo);

}  // namespace sluice
