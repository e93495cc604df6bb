#pragma once
// The rules that turn event values into names that cannot steer where data goes: components of
// a file sink's path and Kafka topic names (Elasticsearch index names: sinks/elasticsearch/
// bulk_request.hpp). Everything works in place on a reused buffer: no allocation per event.
//
// A name over its limit keeps its first 240 bytes (never half a UTF-8 character), then gets a
// separator and 8 hex digits of a hash of the whole name, so that long names stay apart.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sluice/byte_buffer.hpp"

namespace sluice::names {

inline constexpr size_t kMaxPathComponentBytes = 255;  // NAME_MAX of Linux file systems
inline constexpr size_t kMaxTopicBytes = 249;          // Kafka's limit for topic names
inline constexpr size_t kShortenedKeepBytes = 240;     // what a shortened name keeps
inline constexpr size_t kHashDigits = 8;

// 32-bit FNV-1a: stable across versions and machines (a shortened name must not change).
uint32_t name_hash(std::string_view text);

// Appends code point `cp` (at most U+10FFFF) as UTF-8.
void append_utf8(ByteBuffer& out, uint32_t cp);

// Makes out[start, end) at most `limit` bytes: over it, the region keeps its first 240 bytes
// (not half a character), then `separator` and 8 hex digits of name_hash() of the whole region.
void shorten_name(ByteBuffer& out, size_t start, size_t limit, char separator);

// The largest n <= max such that text[0, n) does not end inside a UTF-8 sequence.
size_t utf8_cut(std::string_view text, size_t max);

// Appends a field value for use inside a path component: `/`, `\`, NUL, control characters
// (C0, DEL, C1) become `_`, each byte of invalid UTF-8 becomes U+FFFD, an empty value `_`.
void append_path_value(ByteBuffer& out, std::string_view value);

// Makes out[start, end) — one whole path component that contains event data — a plain name:
// empty, `.` or `..` become `_`; over 255 bytes it is shortened (first 240 bytes, `~`, 8 hex
// digits), keeping its last `fixed_tail` bytes (template text such as `.jsonl`) when that is
// at most 32 bytes.
void finish_path_component(ByteBuffer& out, size_t start, size_t fixed_tail);

// True for a byte Kafka allows in a topic name: [a-zA-Z0-9._-].
bool topic_char(unsigned char c);

// Makes out[start, end) a legal Kafka topic name: every other byte becomes `_`; empty, `.` and
// `..` become `_`; over 249 bytes it is shortened (first 240 bytes, `-`, 8 hex digits).
void finish_topic_name(ByteBuffer& out, size_t start);

// True when `path` starts with `fixed_prefix` (a template's text up to its last `/` before the
// first placeholder) and names something strictly below it: no `..` climbs above the prefix,
// no NUL, and a relative prefix does not turn into an absolute path.
bool path_stays_under(std::string_view path, std::string_view fixed_prefix);

}  // namespace sluice::names
