#pragma once
// Building the body of one Elasticsearch `_bulk` request from encoded events: per event an
// action line (`{"index":{"_index":"…","_id":"…"}}` or `create`) and the event's JSON line, the
// body ending in '\n' as the bulk API requires. Bodies are appended to a reused buffer: after
// warm-up, adding an event allocates nothing. Compression (gzip) runs once per request body, on
// a GzipPool's threads (net/gzip_body.hpp).
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/byte_buffer.hpp"
#include "sluice/sink.hpp"

namespace sluice::es {

enum class Action { Index, Create };
enum class IdMode { None, Auto, Template };

// The value the workers render for a missing field of the index or id template (a control
// character cannot come from an event: the renderer replaces those).
inline constexpr std::string_view kMissingField = "\x01";
// Elasticsearch refuses index names longer than this many bytes.
inline constexpr size_t kMaxIndexBytes = 255;

// How each event's action line is written. Slots are EncodedBatch::rendered_value() indexes.
struct ActionSpec {
  Action action = Action::Index;
  std::string static_index;  // used when index_slot < 0 (already a valid name)
  int index_slot = -1;       // the rendered index template
  // The index template starts with a field: a leading `.` of the name is then a value's, and
  // hidden and system indices (`.kibana`, `.security`, `.ds-*`) are not a value's to choose.
  bool value_leads = false;
  std::string default_index;  // when the rendered index misses a field or sanitises to nothing
  IdMode id = IdMode::Auto;
  int id_slot = -1;  // IdMode::Template: the rendered id
};

// An EventId as 22 characters of unpadded base64url: 16 bytes, hi then lo, big-endian.
inline constexpr size_t kEventIdChars = 22;
void format_event_id(const EventId& id, char out[kEventIdChars]);

// Characters Elasticsearch refuses in index names (`:` is deprecated there, refused here),
// control characters included.
bool forbidden_in_index(unsigned char c);

// Appends `name` made valid per Elasticsearch's index name rules: lowercase (Unicode, as
// Elasticsearch checks), `\ / * ? " < > | , # :`, spaces and control characters replaced by
// `_`, leading `-`, `_` and `+` left out, invalid UTF-8 bytes replaced by `_`; over 255 bytes,
// the first 240 (not half a character), `-` and 8 hex digits of a hash of the whole name.
// Returns false (appending nothing) when nothing usable remains (empty, `.` or `..`).
// `drop_leading_dots`: leading `.` are left out too (a name a value starts).
bool append_index_name(ByteBuffer& out, std::string_view name, bool drop_leading_dots = false);
// The same for config validation: true when `name` is already valid as it is.
bool is_valid_index_name(std::string_view name);

// Percent-encodes a query parameter value (RFC 3986 unreserved characters kept).
std::string url_encode(std::string_view value);
// "/_bulk" or "/_bulk?pipeline=<name>".
std::string bulk_target(std::string_view pipeline);

class BulkBodyBuilder {
 public:
  explicit BulkBodyBuilder(ActionSpec spec) : spec_(std::move(spec)) {}

  // Appends event `i` of `batch` (action line + event line) to `body`.
  void append(ByteBuffer& body, const EncodedBatch& batch, size_t i);
  // The index event `i` goes to (for dead-letter records).
  std::string index_of(const EncodedBatch& batch, size_t i);
  [[nodiscard]] const ActionSpec& spec() const { return spec_; }

 private:
  void append_index(ByteBuffer& body, const EncodedBatch& batch, size_t i);

  ActionSpec spec_;
  ByteBuffer scratch_;  // reused for index_of()
};

}  // namespace sluice::es
