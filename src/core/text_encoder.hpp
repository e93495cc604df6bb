#pragma once
// The `text` encoding (core/encoder.hpp dispatches to it).
#include <string_view>

#include "sluice/batch.hpp"
#include "sluice/byte_buffer.hpp"
#include "sluice/encoding.hpp"
#include "sluice/source_meta.hpp"

namespace sluice {

// Appends one event as readable text, then '\n'.
void encode_text(const Batch& batch, const Event& event, const SourceMeta& meta, EncodingSpec spec,
                 ByteBuffer& out);

// Appends ` key=value` as the text encoding writes a field: the key's control characters made
// visible, the value quoted when it is empty or holds a space, `=` or `"`.
void append_text_member(ByteBuffer& out, std::string_view key, const Value& value, bool color);

}  // namespace sluice
