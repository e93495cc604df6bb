#pragma once
// The `text` encoding (core/encoder.hpp dispatches to it).
#include "sluice/batch.hpp"
#include "sluice/byte_buffer.hpp"
#include "sluice/encoding.hpp"
#include "sluice/source_meta.hpp"

namespace sluice {

// Appends one event as readable text, then '\n'.
void encode_text(const Batch& batch, const Event& event, const SourceMeta& meta, EncodingSpec spec,
                 ByteBuffer& out);

}  // namespace sluice
