#pragma once
// Field paths as configs write them (conditions, `{{ templates }}`, remap, `sluice tail
// --where`), and as FieldLookup::get() reads them: segments separated by `.`, each either plain
// (letters, digits, `_`, `-`, `@`) or double-quoted. A quoted segment is one key as written, dots
// and slashes included (`kubernetes.labels."app.kubernetes.io/name"`, `"a.b"`, `x."a.b"`); inside
// it, `\"` is a quote and `\\` a backslash, and no other backslash is allowed.
//
// Paths are kept in this written form (after scan_field_path() made it canonical: quotes only
// where a segment needs them), so that a path without quotes is the plain dotted string every
// lookup compares as it is, and one with quotes is split per event without allocating.
#include <cstddef>
#include <string>
#include <string_view>

namespace sluice {

// Letters, digits, `_`, `-`, `@`: the characters of a plain segment.
bool is_plain_path_char(char c);

// Whether `path` has a quoted segment (else it is a plain dotted name).
inline bool has_quoted_segment(std::string_view path) {
  return path.find('"') != std::string_view::npos;
}

struct FieldPathScan {
  size_t end = 0;         // where the path ends in the text (first character not part of it)
  std::string canonical;  // the path, quoted only where a segment needs it
  std::string error;      // empty when the path is well formed
  size_t error_at = 0;    // position of the problem in the text
};

// Reads the path that starts at text[start] and ends before the first character that cannot
// continue it. Errors: an unterminated quoted segment (at its opening quote), an unknown escape,
// an empty segment (`a..b`, `a.`, `""`), a quote directly after a plain segment (`a"b"`). A text
// with no path at `start` gives end == start and no error.
FieldPathScan scan_field_path(std::string_view text, size_t start = 0);

// One segment of a path: its text as written between the quotes (escapes still in), or the
// plain text.
struct PathSegment {
  std::string_view raw;
  bool quoted = false;
  // Whether the segment names `key` (escapes read).
  [[nodiscard]] bool equals(std::string_view key) const;
};

// The segments of a canonical path, front to back; split on the fly, no allocation.
class PathSegments {
 public:
  explicit PathSegments(std::string_view path) : rest_(path) {}
  // The next segment; false at the end.
  bool next(PathSegment* segment);
  // What is left after the segments read so far (without the separating `.`).
  [[nodiscard]] std::string_view rest() const { return rest_; }

 private:
  std::string_view rest_;
};

// Whether the path names `key`: its segments joined by `.` (a plain dotted key such as
// `kubernetes.pod.name` or a parsed top-level key such as `a.b` named by `"a.b"`).
bool path_names_key(std::string_view path, std::string_view key);

// The part of the path after the segments that name `dotted_key` and their separator
// (`kubernetes.labels."app.kubernetes.io/name"` under `kubernetes.labels` gives
// `"app.kubernetes.io/name"`), or an empty view when the path is not under it.
std::string_view path_under(std::string_view path, std::string_view dotted_key);

// The position of the last separator before `end` that is not inside quotes, or npos.
size_t last_path_separator(std::string_view path, size_t end);

// The key a path names when read as one flat key (segments joined by `.`, escapes read):
// remap's field names. Allocates: for config load.
std::string flat_key_of_path(std::string_view path);

}  // namespace sluice
